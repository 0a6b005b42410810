//! `GET /api/v1/openapi.json`: the gateway's OpenAPI 3.1 document, generated from the
//! handlers and their types so it cannot drift from them.

use axum::Json;
use utoipa::OpenApi;

use crate::error::ApiErrorBody;
use crate::routes::{health, sync};

#[derive(OpenApi)]
#[openapi(
    info(title = "Citizen gateway", description = "The city gateway of the citizen app: city pack, readings and the sync feed."),
    paths(health::health, sync::sync, openapi_json),
    components(schemas(ApiErrorBody)),
    tags((name = "gateway"), (name = "sync"))
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "gateway",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The document as pretty-printed JSON, for `citizen-server openapi`.
pub fn document_json() -> serde_json::Result<String> {
    ApiDoc::openapi().to_pretty_json()
}
