//! The city gateway: publishes a city pack and station readings to the citizen app through an
//! ordered sync feed, and describes its API in OpenAPI 3.1.

pub mod document;
pub mod error;
pub mod live;
pub mod metrics;
pub mod migrate;
pub mod otp;
pub mod pack;
pub mod photo;
pub mod routes;
pub mod simulate;
pub mod sta;
pub mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::Request;
use axum::http::Response;
use citizen_core::report::{ReportReceipt, ReportSubmission};
use citizen_core::{CityPack, ReportCategory};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use tracing::Span;

pub use store::Store;

/// How the gateway is configured (from flags or the environment, see `main.rs`).
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    pub city_pack: PathBuf,
    /// Minutes between simulated readings; `None` publishes no simulated readings.
    pub simulate_every: Option<Duration>,
    /// The gateway's address as clients see it, for links such as Open311's `media_url`;
    /// `http://<listen address>` when not set.
    pub public_url: Option<String>,
    /// How residents' one-time codes are delivered.
    pub code_sender: Arc<dyn otp::CodeSender>,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub pack: Arc<CityPack>,
    /// Letters before a tracking code's number, from the city's id (`my-tho` → `MT`).
    pub code_prefix: String,
    pub public_url: String,
    /// Whether `public_url` was configured (else it is the listening address, and links are
    /// made from the request's `Host` instead).
    pub public_url_configured: bool,
    /// The street-level map the city pack names, if any.
    pub street_pack: Option<Arc<routes::map::StreetPack>>,
    /// The feed's head as this instance follows it, for live updates.
    pub feed: live::FeedWatch,
    /// Becomes true when the instance is shutting down: endless answers (event streams) end
    /// then, so a graceful shutdown does not wait for them forever.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    pub metrics: Arc<metrics::Metrics>,
    /// Station tokens and Datastream limits recently read (see [`sta::create::Cache`]).
    pub sta_cache: Arc<sta::create::Cache>,
    /// Single Observation POSTs, committed in groups (see [`sta::create::GroupCommit`]).
    pub sta_writes: Arc<sta::create::GroupCommit>,
    /// The pack's application forms, compiled, by procedure id.
    pub forms: Arc<citizen_core::form::Forms>,
    /// Office hours and holidays, for due dates.
    pub calendar: Arc<citizen_core::worktime::WorkCalendar>,
    pub code_sender: Arc<dyn otp::CodeSender>,
}

impl AppState {
    pub fn category(&self, code: &str) -> Option<&ReportCategory> {
        self.pack.categories.iter().find(|c| c.code == code)
    }

    /// Routes a checked report to its category's department and stores it once.
    pub async fn submit_report(
        &self,
        sub: &ReportSubmission,
        source: &str,
    ) -> Result<ReportReceipt, error::ApiError> {
        let category = self
            .category(&sub.category)
            .ok_or_else(|| error::ApiError::invalid("category", "unknown report category"))?;
        let routing = store::Routing {
            source,
            department: &category.department,
            code_prefix: &self.code_prefix,
            now_ms: now_ms(),
        };
        Ok(self.store.submit_report(sub, &routing).await?)
    }
}

/// The answer to a request whose handler panicked: the JSON error every 5xx has.
fn panic_answer() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(error::ApiErrorBody {
            code: citizen_core::ErrorCode::Internal,
            field: None,
            message: "internal error".into(),
            problems: Vec::new(),
        }),
    )
        .into_response()
}

/// `my-tho` → `MT`: the initials of the city id's parts.
pub fn code_prefix(city_id: &str) -> String {
    city_id
        .split(['-', '_'])
        .filter_map(|part| part.chars().next())
        .flat_map(char::to_uppercase)
        .collect()
}

/// A gateway bound to its port, ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    store: Store,
    simulate_every: Option<Duration>,
    stopping: tokio::sync::watch::Sender<bool>,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Application {
    /// Opens the database, imports the city pack if it is new, and binds the listener
    /// (port 0 picks a free port).
    pub async fn build(config: &Config) -> anyhow::Result<Application> {
        let store = Store::open(&config.database_url).await?;
        let (pack, content) = pack::load_dir(&config.city_pack)?;
        let import = store.import_pack(&pack, &content, now_ms()).await?;
        tracing::info!(pack = %pack.city.id, version = %pack.city.version, ?import, "city pack");
        let street_pack = match &pack.city.street_pack {
            Some(name) => {
                let measured = routes::map::StreetPack::open(config.city_pack.join(name)).await?;
                tracing::info!(bytes = measured.offer.bytes, sha256 = %measured.offer.sha256, "street pack on offer");
                Some(Arc::new(measured))
            }
            None => None,
        };
        let listener = TcpListener::bind(config.listen).await?;
        let public_url = match &config.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", listener.local_addr()?),
        };
        let feed = live::FeedWatch::start(store.clone(), &config.database_url).await?;
        let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
        let metrics = metrics::Metrics::new();
        let calendar = pack.work_calendar()?;
        let this_year = citizen_core::civil::Date::from_days_since_epoch(
            (now_ms() + 7 * 3_600_000).div_euclid(citizen_core::civil::DAY_MS),
        )
        .year;
        for year in [this_year, this_year + 1] {
            if !calendar.covers(year) {
                tracing::warn!(
                    year,
                    "the city pack's calendar has no holidays for this year: due dates count weekends only"
                );
            }
        }
        let state = AppState {
            forms: Arc::new(pack.compiled_forms()),
            calendar: Arc::new(calendar),
            code_sender: config.code_sender.clone(),
            metrics: metrics.clone(),
            feed,
            stopping,
            store: store.clone(),
            code_prefix: code_prefix(&pack.city.id),
            pack: Arc::new(pack),
            public_url,
            public_url_configured: config.public_url.is_some(),
            sta_cache: Arc::default(),
            sta_writes: Arc::default(),
            street_pack,
        };
        let router = routes::router()
            .route_layer(axum::middleware::from_fn_with_state(
                metrics,
                metrics::track,
            ))
            // A bug that panics in a handler answers 500 with a log line, not a dropped
            // connection.
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                |panic: Box<dyn std::any::Any + Send>| {
                    let message = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    tracing::error!(panic = %message, "a handler panicked");
                    panic_answer()
                },
            ))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request| {
                        tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
                    })
                    .on_request(())
                    .on_response(|res: &Response<_>, latency: Duration, _: &Span| {
                        tracing::info!(
                            status = res.status().as_u16(),
                            latency_us = latency.as_micros(),
                            "answered"
                        );
                    }),
            )
            .with_state(state);
        Ok(Application {
            listener,
            router,
            store,
            simulate_every: config.simulate_every,
            stopping: stopping_tx,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until `shutdown` completes.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        if let Some(every) = self.simulate_every {
            // The built-in simulation is the station simulator, posting to this gateway's
            // SensorThings API with tokens made for it at each start. Their secrets live only
            // in this process; those of starts a month gone are cleared away (another instance
            // may be simulating with its own).
            let address = self.listener.local_addr()?;
            let gateway = if address.ip().is_unspecified() {
                format!("http://127.0.0.1:{}", address.port())
            } else {
                format!("http://{address}")
            };
            let now = now_ms();
            self.store
                .revoke_tokens(
                    store::Role::Station,
                    simulate::BUILT_IN_LABEL,
                    now - 30 * citizen_core::civil::DAY_MS,
                )
                .await
                .map_err(std::io::Error::other)?;
            let mut tokens = Vec::new();
            for station in self
                .store
                .station_entities()
                .await
                .map_err(std::io::Error::other)?
            {
                let token = self
                    .store
                    .create_station_token(&station.station_id, simulate::BUILT_IN_LABEL, now)
                    .await
                    .map_err(std::io::Error::other)?;
                if let Some(token) = token {
                    tokens.push((station.station_id, token));
                }
            }
            let logger = simulate::Logger {
                gateway,
                tokens,
                every,
                backfill_days: simulate::DEFAULT_BACKFILL_DAYS,
            };
            tokio::spawn(logger.run());
        }
        let stopping = self.stopping;
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move {
                shutdown.await;
                let _ = stopping.send(true);
            })
            .await
    }
}
