//! `GET /api/v1/openapi.json`: the gateway's OpenAPI 3.1 document, generated from the
//! handlers and their types so it cannot drift from them.

use axum::Json;
use axum::extract::State;
use citizen_core::CityPack;
use citizen_core::report::{
    MAX_ADDRESS_CHARS, MAX_DESCRIPTION_CHARS, MAX_EMAIL_CHARS, MAX_NAME_CHARS, MAX_NOTE_CHARS,
    MAX_PHONE_CHARS, MAX_PHOTO_BYTES, MAX_PHOTOS, patterns,
};
use citizen_core::text::text_pattern;
use serde_json::{Value, json};
use utoipa::OpenApi;

use crate::AppState;

use crate::error::ApiErrorBody;
use crate::routes::{dossiers, health, identity, map, open311, reports, staff, sync, uploads};

#[derive(OpenApi)]
#[openapi(
    info(title = "Citizen gateway", description = "The city gateway of the citizen app: city pack, the sync feed, field issue reports (also as Open311 GeoReport v2) and their handling by departments, applications for public services and their dossiers, and the river monitoring stations as an OGC SensorThings API v1.1."),
    paths(
        health::health, crate::metrics::metrics, sync::sync, sync::events, openapi_json, map::offer, map::file, map::tile,
        reports::submit, reports::get, reports::support, reports::photo,
        uploads::start, uploads::state, uploads::append,
        staff::queue, staff::change_status,
        identity::send_code, identity::redeem_code,
        dossiers::apply, dossiers::mine, dossiers::one, dossiers::resident_op, dossiers::lookup,
        dossiers::document, dossiers::dossier_queue, dossiers::staff_one, dossiers::staff_action,
        open311::services, open311::service_definition, open311::requests,
        open311::request_by_id, open311::token, open311::create_request,
    ),
    components(schemas(ApiErrorBody, staff::QueueStatus)),
    modifiers(&StaffToken),
    tags(
        (name = "gateway"), (name = "sync"),
        (name = "map", description = "The city's street-level map for offline use"),
        (name = "reports", description = "Residents' field issue reports"),
        (name = "uploads", description = "Resumable uploads of photos and documents"),
        (name = "identity", description = "Residents identify with a phone number and a one-time code"),
        (name = "dossiers", description = "Applications for public services and their dossiers, private to the applicant"),
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
        components.add_security_scheme(
            "resident_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// This document, with this city's report categories and area.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "gateway",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json(State(state): State<AppState>) -> Json<Value> {
    Json(document(Some(&state.pack)))
}

/// The document as pretty-printed JSON, for `citizen-server openapi`.
pub fn document_json(pack: Option<&CityPack>) -> serde_json::Result<String> {
    serde_json::to_string_pretty(&document(pack))
}

/// The generated document, plus the rules the derive cannot state (text patterns, sizes,
/// the note a closing status needs) and, when the pack is known, its categories and area:
/// so a client generated from the document, or a fuzzer, sends what the gateway accepts.
pub fn document(pack: Option<&CityPack>) -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    // Lengths are checked in characters as a person counts them (grapheme clusters); a JSON
    // Schema length counts code points, of which a character may take several.
    // A JSON Schema length counts code points, and a character as a person counts it may
    // take several (typed decomposed): `maxLength` is what any client may send, and the
    // gateway also takes longer texts whose characters fit (see `citizen_core::text`).
    let text = |max: usize| {
        json!({"maxLength": max, "pattern": text_pattern(false),
            "description": format!("At most {max} characters as a person counts them (grapheme clusters), stored in Unicode NFC.")})
    };
    let rules = [
        (
            "ReportSubmission",
            "description",
            json!({"minLength": 1, "maxLength": MAX_DESCRIPTION_CHARS,
                "pattern": text_pattern(true),
                "description": format!("What is wrong: at most {MAX_DESCRIPTION_CHARS} characters as a person counts them (grapheme clusters), with at least one visible character; stored in Unicode NFC.")}),
        ),
        ("ReportSubmission", "address", text(MAX_ADDRESS_CHARS)),
        ("ReportSubmission", "ward", text(MAX_ADDRESS_CHARS)),
        (
            "ReportSubmission",
            "photos",
            json!({"maxItems": MAX_PHOTOS}),
        ),
        ("ReportSubmission", "created_at_ms", json!({"minimum": 0})),
        ("Contact", "name", text(MAX_NAME_CHARS)),
        (
            "Contact",
            "phone",
            json!({"maxLength": MAX_PHONE_CHARS, "pattern": patterns::PHONE}),
        ),
        (
            "Contact",
            "email",
            json!({"maxLength": MAX_EMAIL_CHARS, "pattern": patterns::EMAIL}),
        ),
        ("PhotoRef", "sha256", json!({"pattern": patterns::SHA256})),
        (
            "PhotoRef",
            "size",
            json!({"minimum": 1, "maximum": MAX_PHOTO_BYTES}),
        ),
        (
            "UploadStart",
            "sha256",
            json!({"pattern": patterns::SHA256}),
        ),
        (
            "UploadStart",
            "size",
            json!({"minimum": 1, "maximum": MAX_PHOTO_BYTES}),
        ),
        ("StatusUpdate", "note", text(MAX_NOTE_CHARS)),
    ];
    for (schema, property, rule) in rules {
        extend(
            &mut doc,
            &format!("/components/schemas/{schema}/properties/{property}"),
            rule,
        );
    }
    // Closing a report needs a note for the resident (a reason, for a rejection).
    extend(
        &mut doc,
        "/components/schemas/StatusUpdate",
        json!({
            "if": {"properties": {"status": {"enum": ["resolved", "rejected"]}}, "required": ["status"]},
            "then": {"required": ["note"], "properties": {"note": {"type": "string", "pattern": text_pattern(true)}}}
        }),
    );
    // Open311 dates in every W3C precision a schema can state: a date-time, a date, a month
    // or a year (a time to the minute without seconds is accepted too). Empty means no filter.
    let w3c = json!({"anyOf": [
        {"type": "string", "format": "date-time"},
        {"type": "string", "format": "date"},
        {"type": "string", "pattern": "^[0-9]{4}(-(0[1-9]|1[0-2]))?$"},
        {"type": "string", "maxLength": 0},
    ]});
    for name in ["start_date", "end_date"] {
        if let Some(params) = doc
            .pointer_mut("/paths/~1open311~1v2~1requests.json/get/parameters")
            .and_then(Value::as_array_mut)
        {
            for param in params.iter_mut().filter(|p| p["name"] == name) {
                param["schema"] = w3c.clone();
            }
        }
    }
    // Open311's form as multipart: the same fields, and the photo as `media`. No other
    // parts: a part's name is an HTTP header value, which not every string can be.
    if let Some(form) = doc
        .pointer("/components/schemas/Open311NewRequest")
        .cloned()
    {
        let mut multipart = form;
        multipart["properties"]["media"] = json!({
            "type": "string", "format": "binary",
            "description": "A JPEG, PNG or WebP photo of at most 10 MiB; published without its metadata, turned upright."
        });
        multipart["additionalProperties"] = json!(false);
        if let Some(content) = doc.pointer_mut(
            "/paths/~1open311~1v2~1requests.json/post/requestBody/content/multipart~1form-data",
        ) {
            content["schema"] = multipart;
        }
    }
    crate::sta::openapi::add_paths(&mut doc);
    if let Some(pack) = pack {
        let codes: Vec<&str> = pack.categories.iter().map(|c| c.code.as_str()).collect();
        extend(
            &mut doc,
            "/components/schemas/ReportSubmission/properties/category",
            json!({"enum": codes}),
        );
        let [min_lon, min_lat, max_lon, max_lat] = pack.city.bbox;
        extend(
            &mut doc,
            "/components/schemas/Position/properties/lon",
            json!({"minimum": min_lon, "maximum": max_lon}),
        );
        extend(
            &mut doc,
            "/components/schemas/Position/properties/lat",
            json!({"minimum": min_lat, "maximum": max_lat}),
        );
    }
    doc
}

/// Adds `rule`'s keys to the schema at `pointer` (a rule on a missing schema is a bug here).
fn extend(doc: &mut Value, pointer: &str, rule: Value) {
    let target = doc.pointer_mut(pointer).and_then(Value::as_object_mut);
    debug_assert!(target.is_some(), "no schema at {pointer}");
    if let (Some(target), Value::Object(rule)) = (target, rule) {
        target.extend(rule);
    }
}
