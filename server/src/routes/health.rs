//! `GET /health`: whether the gateway and its database answer.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok` when the gateway answers at all.
    pub status: String,
    /// The newest position of the sync feed.
    pub feed_head: i64,
    pub version: String,
}

/// Liveness and the head of the sync feed.
#[utoipa::path(get, path = "/health", tag = "gateway",
    responses((status = 200, description = "The gateway is up", body = Health)))]
pub async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    Ok(Json(Health {
        status: "ok".into(),
        feed_head: state.store.head().await?,
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}
