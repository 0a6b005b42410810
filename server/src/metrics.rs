//! `GET /metrics`: what an operator watches, in the OpenMetrics text format (Prometheus' text
//! exposition format, version 1.0.0), one registry per instance.
//!
//! | metric | type | what |
//! |---|---|---|
//! | `citizen_http_requests_total{method,route,status}` | counter | answers, per route template |
//! | `citizen_http_request_duration_seconds{method,route}` | histogram | time to the answer's head, seconds |
//! | `citizen_database_errors_total` | counter | requests that failed on the database (each also logs an error line) |
//! | `citizen_database_up` | gauge | 1 when the database answered this scrape, else 0 (and the gauges below keep their last values) |
//! | `citizen_feed_head` | gauge | the newest feed position |
//! | `citizen_uploads_incomplete` | gauge | uploads announced and not complete (devices' photo queues on the gateway) |
//! | `citizen_reports_open{department}` | gauge | reports waiting on each department |
//! | `citizen_live_clients` | gauge | event streams open on this instance |
//! | `citizen_db_pool_connections{state}` | gauge | connections of this instance's pool, `idle` or `in_use` |
//! | `citizen_db_pool_max_connections` | gauge | the pool's size limit |
//! | `citizen_backend_info{backend}` | gauge | 1, labelled `sqlite` or `postgres` |
//! | `citizen_otp_send_failures_total` | counter | one-time codes the code sender could not take (each also logs an error line) |
//!
//! The gauges read from the database are read when scraped, so every instance reports the
//! same shared queues; the request counters and the pool are this instance's own.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::AppState;
use crate::error::ApiError;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Answered {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Department {
    department: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolState {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabel {
    backend: String,
}

/// Marks an answer that failed on the database (set by [`ApiError`]'s answer).
#[derive(Clone, Copy, Debug)]
pub struct DatabaseFailed;

/// This instance's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<Answered, Counter>,
    latency: Family<Route, Histogram>,
    database_errors: Counter,
    database_up: Gauge,
    feed_head: Gauge,
    uploads_incomplete: Gauge,
    reports_open: Family<Department, Gauge>,
    live_clients: Gauge,
    pool: Family<PoolState, Gauge>,
    pool_max: Gauge,
    backend: Family<BackendLabel, Gauge>,
    otp_send_failures: Counter,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 8 s.
    Histogram::new(exponential_buckets(0.000_5, 2.0, 15))
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("citizen");
        let requests = Family::<Answered, Counter>::default();
        registry.register(
            "http_requests",
            "Answers given, per method, route template and status",
            requests.clone(),
        );
        let latency = Family::<Route, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time from a request to its answer's head, per method and route template",
            prometheus_client::registry::Unit::Seconds,
            latency.clone(),
        );
        let database_errors = Counter::<u64, AtomicU64>::default();
        registry.register(
            "database_errors",
            "Requests that failed on the database",
            database_errors.clone(),
        );
        let database_up = Gauge::default();
        registry.register(
            "database_up",
            "Whether the database answered this scrape (1) or not (0)",
            database_up.clone(),
        );
        let feed_head = Gauge::default();
        registry.register(
            "feed_head",
            "The newest sync feed position",
            feed_head.clone(),
        );
        let uploads_incomplete = Gauge::default();
        registry.register(
            "uploads_incomplete",
            "Uploads announced and not yet complete",
            uploads_incomplete.clone(),
        );
        let reports_open = Family::<Department, Gauge>::default();
        registry.register(
            "reports_open",
            "Reports waiting on each department",
            reports_open.clone(),
        );
        let otp_send_failures = Counter::<u64, AtomicU64>::default();
        registry.register(
            "otp_send_failures",
            "One-time codes the code sender could not take",
            otp_send_failures.clone(),
        );
        let live_clients = Gauge::default();
        registry.register(
            "live_clients",
            "Live-update event streams open on this instance",
            live_clients.clone(),
        );
        let pool = Family::<PoolState, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections of this instance, idle or in use",
            pool.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "db_pool_max_connections",
            "The size limit of this instance's database pool",
            pool_max.clone(),
        );
        let backend = Family::<BackendLabel, Gauge>::default();
        registry.register(
            "backend_info",
            "The database engine, as a label (always 1)",
            backend.clone(),
        );
        Arc::new(Metrics {
            registry,
            requests,
            latency,
            database_errors,
            database_up,
            feed_head,
            uploads_incomplete,
            reports_open,
            live_clients,
            pool,
            pool_max,
            backend,
            otp_send_failures,
        })
    }

    /// Counts a one-time code its sender could not take.
    pub fn otp_send_failed(&self) {
        self.otp_send_failures.inc();
    }

    /// The exposition, after reading the gauges that come from the database. A database that
    /// does not answer is reported (`citizen_database_up 0`), not a failed scrape: the operator
    /// still sees the error counters.
    async fn render(&self, state: &AppState) -> Result<String, ApiError> {
        let store = &state.store;
        match self.read_database(state).await {
            Ok(()) => {
                self.database_up.set(1);
            }
            Err(e) => {
                tracing::error!(error = %e, "metrics: the database does not answer");
                self.database_up.set(0);
            }
        }
        let pool = store.pool();
        let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
        let size = i64::from(pool.size());
        self.pool
            .get_or_create(&PoolState {
                state: "idle".into(),
            })
            .set(idle);
        self.pool
            .get_or_create(&PoolState {
                state: "in_use".into(),
            })
            .set(size - idle);
        self.pool_max
            .set(i64::from(pool.options().get_max_connections()));
        self.backend
            .get_or_create(&BackendLabel {
                backend: store.backend().name().into(),
            })
            .set(1);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .map_err(|e| ApiError::Internal(crate::store::StoreError::Task(e.to_string())))?;
        Ok(out)
    }

    async fn read_database(&self, state: &AppState) -> Result<(), crate::store::StoreError> {
        let store = &state.store;
        self.feed_head.set(store.head().await?);
        let queues = store.queues().await?;
        self.uploads_incomplete.set(queues.uploads_incomplete);
        for department in &state.pack.departments {
            let open = queues
                .reports_open
                .iter()
                .find(|(d, _)| *d == department.id)
                .map_or(0, |(_, n)| *n);
            self.reports_open
                .get_or_create(&Department {
                    department: department.id.clone(),
                })
                .set(open);
        }
        Ok(())
    }
}

/// Counts one open live-update stream while it lives.
pub struct LiveClient(Gauge);

impl LiveClient {
    pub fn new(metrics: &Metrics) -> LiveClient {
        metrics.live_clients.inc();
        LiveClient(metrics.live_clients.clone())
    }
}

impl Drop for LiveClient {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The metrics, in the OpenMetrics text format.
#[utoipa::path(get, path = "/metrics", tag = "gateway",
    responses(
        (status = 200, description = "Metrics in the OpenMetrics text format", content_type = "application/openmetrics-text", body = String),
    ))]
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let text = state.metrics.render(&state).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// Counts and times every answer of a matched route.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    // Only the methods HTTP defines get a label of their own: any other word a client sends
    // would add a series that never goes away.
    let method = match *req.method() {
        Method::GET
        | Method::HEAD
        | Method::POST
        | Method::PUT
        | Method::PATCH
        | Method::DELETE
        | Method::OPTIONS => req.method().as_str().to_owned(),
        _ => "other".to_owned(),
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(req).await;
    let elapsed = started.elapsed().as_secs_f64();
    if response.extensions().get::<DatabaseFailed>().is_some() {
        metrics.database_errors.inc();
    }
    metrics
        .requests
        .get_or_create(&Answered {
            method: method.clone(),
            route: route.clone(),
            status: response.status().as_u16(),
        })
        .inc();
    metrics
        .latency
        .get_or_create(&Route { method, route })
        .observe(elapsed);
    response
}
