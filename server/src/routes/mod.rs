//! The gateway's HTTP resources, one module each.

pub mod dossiers;
pub mod health;
pub mod identity;
pub mod input;
pub mod map;
pub mod open311;
pub mod openapi;
pub mod reports;
pub mod staff;
pub mod sync;
pub mod uploads;
pub mod w3c_datetime;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::health))
        .route("/metrics", get(crate::metrics::metrics))
        .route("/api/v1/sync", get(sync::sync))
        .route("/api/v1/sync/events", get(sync::events))
        .route("/api/v1/map/street-pack", get(map::offer))
        .route(map::FILE_PATH, get(map::file))
        .route("/api/v1/map/tiles/{z}/{x}/{y}", get(map::tile))
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        .route("/api/v1/reports", post(reports::submit))
        .route("/api/v1/reports/{id}", get(reports::get))
        .route("/api/v1/reports/{id}/supports", post(reports::support))
        .route("/api/v1/photos/{id}", get(reports::photo))
        .route("/api/v1/uploads", post(uploads::start))
        .route(
            "/api/v1/uploads/{id}",
            get(uploads::state).patch(uploads::append),
        )
        .route("/api/v1/staff/reports", get(staff::queue))
        .route(
            "/api/v1/staff/reports/{id}/status",
            post(staff::change_status),
        )
        .route("/api/v1/identity/codes", post(identity::send_code))
        .route("/api/v1/identity/tokens", post(identity::redeem_code))
        .route(
            "/api/v1/dossiers",
            get(dossiers::mine).post(dossiers::apply),
        )
        .route("/api/v1/dossiers/lookup", post(dossiers::lookup))
        .route("/api/v1/dossiers/{key}", get(dossiers::one))
        .route("/api/v1/dossiers/{key}/ops", post(dossiers::resident_op))
        .route(
            "/api/v1/dossiers/{key}/documents/{document}",
            get(dossiers::document),
        )
        .route("/api/v1/staff/dossiers", get(dossiers::dossier_queue))
        .route("/api/v1/staff/dossiers/{key}", get(dossiers::staff_one))
        .route(
            "/api/v1/staff/dossiers/{key}/actions",
            post(dossiers::staff_action),
        )
        .route(crate::sta::PREFIX, get(crate::sta::root))
        .route("/sta/v1.1/", get(crate::sta::root))
        .route(
            "/sta/v1.1/CreateObservations",
            post(crate::sta::create::create_observations),
        )
        .route("/sta/v1.1/{*path}", any(crate::sta::dispatch))
        .route("/open311/v2/services.json", get(open311::services))
        .route(
            "/open311/v2/services/{file}",
            get(open311::service_definition),
        )
        .route(
            "/open311/v2/requests.json",
            get(open311::requests).post(open311::create_request),
        )
        .route("/open311/v2/requests/{file}", get(open311::request_by_id))
        .route("/open311/v2/tokens/{file}", get(open311::token))
        .fallback(not_found)
        // Each handler reads its body with its own limit and names it in the error.
        .layer(DefaultBodyLimit::disable())
}

/// An address no resource answers: the JSON error of the API it falls under (Open311's
/// list, or the gateway's object), not an empty body.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = uri.path();
    if path.starts_with("/open311/") {
        open311::Open311Failure::not_found(format!("path: nothing is served at {path}"))
            .into_response()
    } else {
        crate::error::ApiError::NotFound.into_response()
    }
}
