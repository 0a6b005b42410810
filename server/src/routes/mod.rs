//! The gateway's HTTP resources, one module each.

pub mod health;
pub mod openapi;
pub mod sync;

use axum::Router;
use axum::routing::get;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::health))
        .route("/api/v1/sync", get(sync::sync))
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
}
