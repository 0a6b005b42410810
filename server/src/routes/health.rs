//! `GET /health`: whether the gateway and its database answer, and which database it is.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::AppState;
use crate::store::Backend;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` when the database answers, `unavailable` when it does not (a balancer should send
    /// requests elsewhere).
    pub status: String,
    /// The database engine this instance runs on.
    pub backend: Backend,
    /// Whether the database answered this check.
    pub database_reachable: bool,
    /// The newest position of the sync feed; absent when the database does not answer.
    pub feed_head: Option<i64>,
    pub version: String,
}

/// Liveness, the database engine and whether it answers, and the head of the sync feed.
#[utoipa::path(get, path = "/health", tag = "gateway",
    responses(
        (status = 200, description = "The gateway and its database are up", body = Health),
        (status = 503, description = "The database does not answer", body = Health),
    ))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let head = state.store.head().await;
    if let Err(e) = &head {
        tracing::error!(error = %e, backend = state.store.backend().name(), "health: the database does not answer");
    }
    let reachable = head.is_ok();
    let status = if reachable {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Health {
            status: if reachable { "ok" } else { "unavailable" }.into(),
            backend: state.store.backend(),
            database_reachable: reachable,
            feed_head: head.ok(),
            version: env!("CARGO_PKG_VERSION").into(),
        }),
    )
}
