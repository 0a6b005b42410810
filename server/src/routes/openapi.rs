//! `GET /api/v1/openapi.json`: the gateway's OpenAPI 3.1 document, generated from the
//! handlers and their types so it cannot drift from them.

use axum::Json;
use utoipa::OpenApi;

use crate::error::ApiErrorBody;
use crate::routes::{health, open311, reports, staff, sync, uploads};

#[derive(OpenApi)]
#[openapi(
    info(title = "Citizen gateway", description = "The city gateway of the citizen app: city pack, readings, the sync feed, field issue reports (also as Open311 GeoReport v2) and their handling by departments."),
    paths(
        health::health, sync::sync, openapi_json,
        reports::submit, reports::get, reports::support, reports::photo,
        uploads::start, uploads::state, uploads::append,
        staff::queue, staff::change_status,
        open311::services, open311::service_definition, open311::requests,
        open311::request_by_id, open311::token, open311::create_request,
    ),
    components(schemas(ApiErrorBody)),
    modifiers(&StaffToken),
    tags(
        (name = "gateway"), (name = "sync"),
        (name = "reports", description = "Residents' field issue reports"),
        (name = "uploads", description = "Resumable photo uploads"),
        (name = "staff", description = "Departments' queues, behind a bearer token"),
        (name = "open311", description = "Open311 GeoReport v2"),
    )
)]
pub struct ApiDoc;

/// The bearer token a department's staff send.
struct StaffToken;

impl utoipa::Modify for StaffToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "staff_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

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
