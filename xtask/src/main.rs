//! `cargo xtask setup|build|run|test|bench`: installs what the project needs on a Debian
//! machine, builds the UI and the app, runs them, tests them, measures them.

mod basemap;
mod bench;
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use anyhow::{Context as _, Result, bail};

const USAGE: &str = "usage: cargo xtask <setup | build [--release] | run | test | bench>";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("setup") => tools::setup(&root),
        Some("build") => {
            tools::setup(&root)?;
            build(&root, args.iter().any(|a| a == "--release"))
        }
        Some("run") => run(&root),
        Some("test") => test(&root),
        Some("bench") => {
            tools::setup(&root)?;
            bench::run(&root)
        }
        _ => bail!("{USAGE}"),
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Runs a command, failing with its command line if it fails.
pub fn run_cmd(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

/// Builds the UI with trunk, then the gateway and the app that embeds the UI.
pub fn build(root: &Path, release: bool) -> Result<()> {
    tools::vendor_maplibre(root)?;
    let mut trunk = Command::new("trunk");
    trunk
        .current_dir(root.join("ui"))
        .args(["build", "--offline"]);
    if release {
        trunk.arg("--release");
    }
    trunk.env("PATH", tools::path_with_tools(root));
    run_cmd(&mut trunk)?;
    let mut cargo = Command::new(cargo());
    cargo.args(["build", "-p", "citizen-app", "-p", "citizen-server"]);
    if release {
        cargo.args(["--release", "--features", "citizen-app/custom-protocol"]);
    }
    run_cmd(&mut cargo)
}

fn has_display() -> bool {
    std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
}

/// Starts the gateway with its SQLite database and the Mỹ Tho pack, and opens the app on it.
fn run(root: &Path) -> Result<()> {
    tools::setup(root)?;
    if !has_display() {
        bail!(
            "no display: the app needs a graphical session. On a desktop, run this from a \
             terminal inside it; on a server, run `xvfb-run -a cargo xtask run` \
             (or start `Xvfb :99 &` and set DISPLAY=:99) and look at it with a VNC viewer."
        );
    }
    build(root, false)?;
    let state = root.join("target/citizen-run");
    std::fs::create_dir_all(&state)?;
    let listen = std::env::var("CITIZEN_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let mut gateway = ChildGuard(
        Command::new(root.join("target/debug/citizen-server"))
            .args(["--listen", &listen])
            .arg("--database")
            .arg(format!("sqlite://{}", state.join("gateway.db").display()))
            .arg("--city-pack")
            .arg(root.join("assets/cities/my-tho"))
            .spawn()
            .context("cannot start citizen-server")?,
    );
    let app = Command::new(root.join("target/debug/citizen-app"))
        .env("CITIZEN_GATEWAY_URL", format!("http://{listen}"))
        .env("CITIZEN_DATA_DIR", state.join("app"))
        .status()
        .context("cannot start citizen-app")?;
    let _ = gateway.0.kill();
    if !app.success() {
        bail!("citizen-app exited with {app}");
    }
    Ok(())
}

/// Installs what is missing, checks format and lints, builds, and runs every test.
fn test(root: &Path) -> Result<()> {
    let before = tree_status(root);
    tools::setup(root)?;
    let cargo = &cargo();
    run_cmd(Command::new(cargo).args(["fmt", "--all", "--check"]))?;
    build(root, false)?;
    // The default members: everything but the wasm-only UI, linted for its target below.
    run_cmd(Command::new(cargo).args(["clippy", "--all-targets", "--", "-D", "warnings"]))?;
    run_cmd(Command::new(cargo).args([
        "clippy",
        "-p",
        "citizen-ui",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]))?;
    let mut tests = Command::new(cargo);
    tests.args(["test", "--no-fail-fast"]);
    tests.env("PATH", tools::path_with_tools(root));
    run_cmd(&mut tests)?;
    postgres_tests(root)?;
    openapi_check(root)?;
    api_fuzz(root)?;
    let after = tree_status(root);
    if after != before {
        bail!(
            "the test run changed the source tree (it must leave it as it found it):\n\
             before:\n{}\nafter:\n{}",
            before.unwrap_or_default(),
            after.unwrap_or_default()
        );
    }
    Ok(())
}

/// The gateway's and the client's integration tests again, with every gateway on PostgreSQL
/// (a throwaway cluster each test process makes and owns), and the end-to-end ones that run
/// gateway processes as two instances behind nginx.
fn postgres_tests(root: &Path) -> Result<()> {
    let runs: [&[&str]; 3] = [
        &["-p", "citizen-server", "--tests"],
        &["-p", "citizen-client", "--tests"],
        &[
            "-p",
            "citizen-e2e",
            "--test",
            "nearby",
            "--test",
            "outbox",
            "--test",
            "outbox_model",
            "--test",
            "weak_link",
            "--test",
            "report_app",
            "--test",
            "salinity_app",
            "--test",
            "services_app",
        ],
    ];
    for args in runs {
        let mut tests = Command::new(cargo());
        tests.args(["test", "--no-fail-fast"]).args(args);
        tests.env("PATH", tools::path_with_tools(root));
        tests.env("CITIZEN_TEST_BACKEND", "postgres");
        run_cmd(&mut tests)?;
    }
    Ok(())
}

/// `git status` of the source tree (ignored files left out), or `None` outside a git checkout.
fn tree_status(root: &Path) -> Option<String> {
    let out = Command::new("git")
        .current_dir(root)
        .args(["status", "--porcelain", "--untracked-files=all"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a property-based API fuzzer written by others (schemathesis, from PyPI) against a
/// fresh gateway, from its own OpenAPI document: no 5xx, and no answer that contradicts the
/// document.
///
/// Before the fuzzing, the same gateway's SensorThings API is checked (see [`sensorthings`]).
/// It runs twice: on SQLite, and on a throwaway PostgreSQL cluster.
fn api_fuzz(root: &Path) -> Result<()> {
    let state = root.join("target/api-fuzz");
    let _ = std::fs::remove_dir_all(&state);
    std::fs::create_dir_all(&state)?;
    let sqlite = format!("sqlite://{}", state.join("gateway.db").display());
    api_fuzz_on(root, &state, &sqlite)?;
    let cluster = citizen_testdb::Cluster::start(citizen_testdb::Durability::Throwaway)?;
    api_fuzz_on(root, &state, &cluster.create_database("api_fuzz")?)
}

fn api_fuzz_on(root: &Path, state: &Path, database: &str) -> Result<()> {
    let schemathesis = tools::python_tool(root, "schemathesis", "4.32.5")?;
    let server = root.join("target/debug/citizen-server");
    eprintln!("API fuzzing on {database}");
    // The Mỹ Tho pack with a street pack (the bundled coarse one stands in), so the map
    // endpoints are fuzzed past their 404.
    let pack = state.join("pack");
    let _ = std::fs::remove_dir_all(&pack);
    std::fs::create_dir_all(&pack)?;
    for entry in std::fs::read_dir(root.join("assets/cities/my-tho"))? {
        let entry = entry?;
        std::fs::copy(entry.path(), pack.join(entry.file_name()))?;
    }
    std::fs::copy(
        crate::basemap::out_dir(root).join("coarse.pmtiles"),
        pack.join("streets.pmtiles"),
    )?;
    let mut city: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pack.join("city.json"))?)?;
    city["street_pack"] = "streets.pmtiles".into();
    std::fs::write(pack.join("city.json"), serde_json::to_vec_pretty(&city)?)?;
    let mut gateway = ChildGuard(
        Command::new(&server)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--simulate-secs",
                "0",
                "--database",
                database,
            ])
            .arg("--city-pack")
            .arg(&pack)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("cannot start citizen-server")?,
    );
    let mut line = String::new();
    let stdout = gateway.0.stdout.take().context("no stdout")?;
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)?;
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .with_context(|| format!("citizen-server did not start: {line:?}"))?
        .to_owned();
    // A staff token of the department of the pack's first category, so the staff endpoints
    // are reached past their authentication too.
    let categories: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pack.join("categories.json"))?)?;
    let department = categories[0]["department"]
        .as_str()
        .context("the pack's first category has a department")?;
    let token = Command::new(&server)
        .args(["--database", database])
        .arg("--city-pack")
        .arg(&pack)
        .args(["admin", "create-token", "--department", department])
        .output()?;
    if !token.status.success() {
        bail!(
            "admin create-token failed: {}",
            String::from_utf8_lossy(&token.stderr)
        );
    }
    let token = String::from_utf8(token.stdout)?.trim().to_owned();
    sensorthings(root, &server, database, &pack, &url)?;
    // One worker: Debian 12's Python 3.11.2 can fail compiling in two threads at once
    // ("AST constructor recursion depth mismatch", fixed in CPython 3.11.5).
    // Run from the scratch folder: schemathesis keeps its cache (`.schemathesis/`) in the
    // working directory, and a test run must leave the tree as it found it.
    run_cmd(
        Command::new(schemathesis)
            .current_dir(state)
            .arg("--config-file")
            .arg(root.join("tests/api-fuzz/schemathesis.toml"))
            .arg("run")
            .arg(format!("{url}/api/v1/openapi.json"))
            // Every check is enabled in the config file (see there why not here).
            .args(["--max-examples", "60", "--workers", "1"])
            .args(["--header", &format!("Authorization: Bearer {token}")]),
    )?;
    // After the fuzzing, the metrics are read by the Prometheus project's own parser.
    let python = tools::python_tool(root, "prometheus-client", "0.23.1")?.with_file_name("python");
    run_cmd(
        Command::new(python)
            .arg(root.join("tests/api-fuzz/check_metrics.py"))
            .arg(&url),
    )
}

/// The SensorThings API of a running gateway: two stations' simulated loggers post a week
/// through `simulate-stations --once` (the API's own front door), then our black-box suite
/// keyed to OGC 18-088 Annex A and FROST's Python client (frost-sta-client, from PyPI) drive it.
fn sensorthings(root: &Path, server: &Path, database: &str, pack: &Path, url: &str) -> Result<()> {
    let station_token = |station: &str| -> Result<String> {
        let out = Command::new(server)
            .args(["--database", database])
            .arg("--city-pack")
            .arg(pack)
            .args(["admin", "create-station-token", "--station", station])
            .output()?;
        if !out.status.success() {
            bail!(
                "admin create-station-token failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8(out.stdout)?.trim().to_owned())
    };
    let (mine, theirs) = ("station-my-tho", "station-xuan-hoa");
    let (token, foreign) = (station_token(mine)?, station_token(theirs)?);
    run_cmd(
        Command::new(server)
            .args([
                "simulate-stations",
                "--once",
                "--backfill-days",
                "2",
                "--gateway",
                url,
            ])
            .args(["--token", &format!("{mine}={token}")])
            .args(["--token", &format!("{theirs}={foreign}")])
            .env("RUST_LOG", "warn"),
    )?;
    let python = tools::python_tool(root, "frost-sta-client", FROST_CLIENT_VERSION)?
        .with_file_name("python");
    let base = format!("{url}/sta/v1.1");
    run_cmd(
        Command::new(&python)
            .arg(root.join("tests/sensorthings/conformance.py"))
            .arg(&base)
            .args([
                "--token",
                &token,
                "--station",
                mine,
                "--foreign-token",
                &foreign,
            ]),
    )?;
    run_cmd(
        Command::new(&python)
            .arg(root.join("tests/sensorthings/frost_client.py"))
            .arg(&base)
            .args(["--token", &token, "--station", mine]),
    )
}

/// FROST's Python client for SensorThings (PyPI: frost-sta-client).
const FROST_CLIENT_VERSION: &str = "1.1.53";

/// Checks the gateway's OpenAPI document with a validator written by others
/// (openapi-spec-validator, from PyPI).
fn openapi_check(root: &Path) -> Result<()> {
    let validator = tools::python_tool(root, "openapi-spec-validator", "0.7.2")?;
    let document = Command::new(root.join("target/debug/citizen-server"))
        .arg("openapi")
        .output()
        .context("citizen-server openapi")?;
    if !document.status.success() {
        bail!(
            "citizen-server openapi failed: {}",
            String::from_utf8_lossy(&document.stderr)
        );
    }
    let path = root.join("target/openapi.json");
    std::fs::write(&path, &document.stdout)?;
    run_cmd(Command::new(validator).arg(&path))
}

/// The cargo that runs this task (cargo sets `CARGO`), so the toolchain file's channel is used.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Kills the child when dropped, so an error never leaves a gateway running.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
