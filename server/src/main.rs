//! `citizen-server`: runs the city gateway.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// The city gateway of the citizen app.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Address and port to serve on.
    #[arg(long, env = "CITIZEN_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The database: `sqlite://FILE` (embedded, one instance; the file and its schema are made
    /// on first start) or `postgres://USER@HOST:PORT/DB` (any number of instances; the
    /// database must exist, its schema is made on first start).
    #[arg(
        long,
        env = "CITIZEN_DATABASE_URL",
        default_value = "sqlite://citizen-gateway.db"
    )]
    database: String,
    /// Folder of the city pack to publish.
    #[arg(
        long,
        env = "CITIZEN_CITY_PACK",
        default_value = "assets/cities/my-tho"
    )]
    city_pack: PathBuf,
    /// Seconds between simulated station readings; 0 turns the simulation off.
    #[arg(long, env = "CITIZEN_SIMULATE_SECS", default_value_t = 300)]
    simulate_secs: u64,
    /// The gateway's address as clients reach it, for links in answers (Open311 `media_url`);
    /// `http://<listen>` by default.
    #[arg(long, env = "CITIZEN_PUBLIC_URL")]
    public_url: Option<String>,
    /// How residents' one-time codes are delivered: `log` (development: into this log) or
    /// `file:PATH` (a line per code appended to PATH).
    #[arg(long, env = "CITIZEN_OTP_SENDER", default_value = "log")]
    otp_sender: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the gateway's OpenAPI 3.1 document and exit.
    Openapi,
    /// Manage access tokens (printed once; only their hash is stored).
    #[command(subcommand)]
    Admin(Admin),
    /// Simulate station loggers: post a labelled, simulated series of readings (tides, a
    /// dry-season trend, a sensor gap, a spike, a late batch) to a gateway's SensorThings API
    /// with each station's token, catching up from where the gateway's data ends.
    SimulateStations {
        /// The gateway's base URL (http://host:port).
        #[arg(long)]
        gateway: String,
        /// A station and its token (from `admin create-station-token`): STATION_ID=TOKEN.
        /// Repeat for several stations.
        #[arg(long = "token", required = true)]
        tokens: Vec<String>,
        /// Seconds between two sends.
        #[arg(long, default_value_t = 300)]
        every_secs: u64,
        /// Days filled when a station's data is older, or absent.
        #[arg(long, default_value_t = citizen_server::simulate::DEFAULT_BACKFILL_DAYS)]
        backfill_days: i64,
        /// Send once and exit, instead of every `--every-secs`.
        #[arg(long)]
        once: bool,
    },
    /// Copy a city's gateway data into a new, empty database (e.g. SQLite to PostgreSQL),
    /// keeping the feed's positions and history so devices sync on from their cursors; then
    /// compare both, table by table. Stop the gateway on the source first.
    Migrate {
        /// The database the gateway ran on.
        #[arg(long)]
        from: String,
        /// The new database (it must hold no gateway data yet).
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
#[allow(
    clippy::enum_variant_names,
    reason = "the variants are the subcommands' names: create-token, create-station-token, create-api-key"
)]
enum Admin {
    /// A token for a department's staff: its queue and status changes.
    CreateToken {
        /// The department's id in the city pack.
        #[arg(long)]
        department: String,
        /// Who holds it, for the record.
        #[arg(long, default_value = "staff")]
        label: String,
    },
    /// A token for a monitoring station's logger: it posts observations of that station only.
    CreateStationToken {
        /// The station's id in the city pack (`station-my-tho`).
        #[arg(long)]
        station: String,
        /// Who holds it, for the record.
        #[arg(long, default_value = "logger")]
        label: String,
    },
    /// An Open311 `api_key` for a client application that files requests.
    CreateApiKey {
        /// The client application's name.
        #[arg(long)]
        label: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to stderr, coloured only on a terminal; stdout is left for what scripts read.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Openapi) => {
            // With the pack's categories and area when the pack is at hand.
            let pack = citizen_server::pack::load_dir(&cli.city_pack)
                .ok()
                .map(|(p, _)| p);
            println!(
                "{}",
                citizen_server::routes::openapi::document_json(pack.as_ref())?
            );
            return Ok(());
        }
        Some(Command::Admin(admin)) => {
            return run_admin(&cli.database, &cli.city_pack, admin).await;
        }
        Some(Command::Migrate { from, to }) => {
            // A SQLite source is opened without creating it: a mistyped path is an error.
            let from = if from.starts_with("sqlite:") && !from.contains("mode=") {
                let sep = if from.contains('?') { '&' } else { '?' };
                format!("{from}{sep}mode=rw")
            } else {
                from
            };
            let source = citizen_server::Store::open(&from)
                .await
                .map_err(|e| anyhow::anyhow!("--from: {e}"))?;
            let target = citizen_server::Store::open(&to).await?;
            let moved = citizen_server::migrate::copy(&source, &target).await?;
            for (table, rows) in &moved.tables {
                println!("{table}: {rows} rows");
            }
            println!(
                "feed head {} (history {}) moved and verified in {} ms",
                moved.feed_head,
                moved.history_id,
                moved.elapsed.as_millis()
            );
            return Ok(());
        }
        Some(Command::SimulateStations {
            gateway,
            tokens,
            every_secs,
            backfill_days,
            once,
        }) => {
            let mut pairs = Vec::new();
            for t in tokens {
                let (station, token) = t
                    .split_once('=')
                    .filter(|(s, t)| !s.is_empty() && !t.is_empty())
                    .ok_or_else(|| {
                        anyhow::anyhow!("--token: expected STATION_ID=TOKEN, got {t:?}")
                    })?;
                pairs.push((station.to_owned(), token.to_owned()));
            }
            let logger = citizen_server::simulate::Logger {
                gateway,
                tokens: pairs,
                every: Duration::from_secs(every_secs.max(1)),
                backfill_days,
            };
            if once {
                let client = reqwest::Client::new();
                for (id, token) in &logger.tokens {
                    let station = logger.station(&client, id).await?;
                    let n = logger
                        .catch_up(&client, &station, token, citizen_server::now_ms())
                        .await?;
                    println!("{id}: {n} simulated observations stored");
                }
                return Ok(());
            }
            tokio::select! {
                () = logger.run() => {}
                () = stop_signal() => {}
            }
            return Ok(());
        }
        None => {}
    }
    let config = citizen_server::Config {
        listen: cli.listen,
        database_url: cli.database,
        city_pack: cli.city_pack,
        simulate_every: (cli.simulate_secs > 0).then(|| Duration::from_secs(cli.simulate_secs)),
        public_url: cli.public_url,
        code_sender: citizen_server::otp::from_spec(&cli.otp_sender).map_err(anyhow::Error::msg)?,
    };
    let app = citizen_server::Application::build(&config).await?;
    let addr = app.local_addr()?;
    // Tests and scripts read this line to find the port.
    println!("listening on http://{addr}");
    tracing::info!(%addr, "gateway listening");
    app.run_until(stop_signal()).await?;
    Ok(())
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM (what systemd and container runtimes send): the
/// gateway then stops taking connections and finishes the requests in flight.
async fn stop_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
    tracing::info!("stopping: finishing the requests in flight");
}

/// Makes a token and prints it on stdout (the only time it is shown).
async fn run_admin(
    database: &str,
    city_pack: &std::path::Path,
    admin: Admin,
) -> anyhow::Result<()> {
    let store = citizen_server::Store::open(database).await?;
    let now = citizen_server::now_ms();
    let token = match admin {
        Admin::CreateToken { department, label } => {
            let (pack, _) = citizen_server::pack::load_dir(city_pack)?;
            if !pack.departments.iter().any(|d| d.id == department) {
                let known: Vec<_> = pack.departments.iter().map(|d| d.id.as_str()).collect();
                anyhow::bail!(
                    "--department: no department {department:?}; known: {}",
                    known.join(", ")
                );
            }
            store
                .create_token(
                    citizen_server::store::Role::Staff,
                    Some(&department),
                    &label,
                    now,
                )
                .await?
        }
        Admin::CreateStationToken { station, label } => {
            store
                .create_station_token(&station, &label, now)
                .await?
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--station: no station {station:?} on this gateway (start it once with the city pack)"
                    )
                })?
        }
        Admin::CreateApiKey { label } => {
            store
                .create_token(citizen_server::store::Role::Client, None, &label, now)
                .await?
        }
    };
    println!("{token}");
    Ok(())
}
