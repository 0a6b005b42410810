//! `/open311/v2/`: Open311 GeoReport v2 (JSON), so city back-offices and existing Open311
//! clients can read and file reports unchanged. Report categories are the services; the
//! tracking code is the `service_request_id`. Contacts are never shown.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use citizen_core::report::{Contact, ReportSubmission, ReportView};
use citizen_core::{Lang, Position, ReportCategory};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset, Weekday};
use uuid::Uuid;

use crate::error::ApiError;
use crate::routes::input::body_bytes;
use crate::store::Role;
use crate::{AppState, now_ms};

/// The spec's error answer: a list of `{code, description}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Open311Error {
    pub code: u16,
    pub description: String,
}

#[derive(Debug)]
pub struct Open311Failure(StatusCode, String);

impl Open311Failure {
    fn bad(field: &str, message: impl std::fmt::Display) -> Self {
        Open311Failure(StatusCode::BAD_REQUEST, format!("{field}: {message}"))
    }
}

impl From<ApiError> for Open311Failure {
    fn from(e: ApiError) -> Self {
        let status = e.status();
        Open311Failure(status, e.body().message)
    }
}

impl From<crate::store::StoreError> for Open311Failure {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for Open311Failure {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(vec![Open311Error {
                code: self.0.as_u16(),
                description: self.1,
            }]),
        )
            .into_response()
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Open311Service {
    pub service_code: String,
    pub service_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub metadata: bool,
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keywords: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Open311ServiceDefinition {
    pub service_code: String,
    pub attributes: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Open311Request {
    pub service_request_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    pub service_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agency_responsible: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_notice: Option<String>,
    pub requested_datetime: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_datetime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_datetime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zipcode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
}

/// The form of a new request (the fields this gateway reads).
#[derive(Debug, utoipa::ToSchema)]
#[allow(
    dead_code,
    reason = "describes the form for the OpenAPI document; the handler reads the pairs"
)]
pub struct Open311NewRequest {
    /// A key from `citizen-server admin create-api-key`.
    pub api_key: String,
    pub service_code: String,
    /// Required: addresses are not geocoded.
    pub lat: f64,
    pub long: f64,
    pub description: Option<String>,
    pub address_string: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub jurisdiction_id: Option<String>,
    /// Not fetched.
    pub media_url: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Open311Created {
    pub service_request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_notice: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Open311Token {
    pub service_request_id: String,
    pub token: String,
}

/// Vietnam keeps one offset all year.
const VIETNAM: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

fn datetime(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(VIETNAM)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// `working_days` Monday-to-Friday days after `ms`, in Vietnam's time. Public holidays are
/// not counted out.
fn after_working_days(ms: i64, working_days: u32) -> i64 {
    let mut at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(VIETNAM);
    let mut left = working_days;
    while left > 0 {
        at += Duration::days(1);
        if !matches!(at.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(ms)
}

fn query_map(raw: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn check_jurisdiction(state: &AppState, q: &HashMap<String, String>) -> Result<(), Open311Failure> {
    match q.get("jurisdiction_id") {
        Some(j) if !j.is_empty() && *j != state.pack.city.id => Err(Open311Failure(
            StatusCode::NOT_FOUND,
            format!(
                "jurisdiction_id: {j:?} is not served here (try {:?})",
                state.pack.city.id
            ),
        )),
        _ => Ok(()),
    }
}

fn lang(q: &HashMap<String, String>) -> Lang {
    match q.get("locale").map(|l| l.to_lowercase()) {
        Some(l) if l.starts_with("en") => Lang::En,
        _ => Lang::Vi,
    }
}

/// `file` without its `.json` ending; other formats are not served.
fn json_name(file: &str) -> Result<&str, Open311Failure> {
    if let Some(name) = file.strip_suffix(".json") {
        return Ok(name);
    }
    Err(Open311Failure(
        StatusCode::NOT_FOUND,
        "format: only the .json format is served".into(),
    ))
}

fn service(state: &AppState, c: &ReportCategory, lang: Lang) -> Open311Service {
    Open311Service {
        service_code: c.code.clone(),
        service_name: c.name.get(lang).to_owned(),
        description: Some(c.description.get(lang).to_owned()),
        metadata: false,
        kind: "realtime".into(),
        keywords: None,
        group: state
            .pack
            .departments
            .iter()
            .find(|d| d.id == c.department)
            .map(|d| d.name.get(lang).to_owned()),
    }
}

/// The report categories, as Open311 services.
#[utoipa::path(get, path = "/open311/v2/services.json", tag = "open311",
    params(
        ("jurisdiction_id" = Option<String>, Query, description = "The city's id; optional"),
        ("locale" = Option<String>, Query, description = "`vi` (default) or `en`"),
    ),
    responses(
        (status = 200, description = "Every service", body = Vec<Open311Service>),
        (status = 404, description = "Unknown jurisdiction", body = Vec<Open311Error>),
    ))]
pub async fn services(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Open311Service>>, Open311Failure> {
    let q = query_map(raw.as_deref());
    check_jurisdiction(&state, &q)?;
    let lang = lang(&q);
    Ok(Json(
        state
            .pack
            .categories
            .iter()
            .map(|c| service(&state, c, lang))
            .collect(),
    ))
}

/// A service's extra attributes: none, every service takes the standard fields only.
#[utoipa::path(get, path = "/open311/v2/services/{service_code}.json", tag = "open311",
    params(
        ("service_code" = String, Path, description = "A service code"),
        ("jurisdiction_id" = Option<String>, Query, description = "The city's id; optional"),
    ),
    responses(
        (status = 200, description = "The service definition", body = Open311ServiceDefinition),
        (status = 404, description = "No such service or jurisdiction", body = Vec<Open311Error>),
    ))]
pub async fn service_definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Open311ServiceDefinition>, Open311Failure> {
    check_jurisdiction(&state, &query_map(raw.as_deref()))?;
    let code = json_name(&file)?;
    let category = state.category(code).ok_or_else(|| {
        Open311Failure(
            StatusCode::NOT_FOUND,
            format!("service_code: no service {code:?}"),
        )
    })?;
    Ok(Json(Open311ServiceDefinition {
        service_code: category.code.clone(),
        attributes: Vec::new(),
    }))
}

fn request(state: &AppState, r: &ReportView, lang: Lang) -> Open311Request {
    let category = state.category(&r.category);
    let last_note = r.history.iter().rev().find_map(|h| h.note.clone());
    let closed_at = (!r.status.is_open()).then_some(r.updated_at_ms);
    let received = r.history.first().map_or(r.updated_at_ms, |h| h.at_ms);
    Open311Request {
        service_request_id: r.tracking_code.clone(),
        status: r.status.open311().into(),
        status_notes: last_note,
        service_name: category.map(|c| c.name.get(lang).to_owned()),
        service_code: r.category.clone(),
        description: Some(r.description.clone()),
        agency_responsible: state
            .pack
            .departments
            .iter()
            .find(|d| d.id == r.department)
            .map(|d| d.name.get(lang).to_owned()),
        service_notice: None,
        requested_datetime: datetime(received),
        updated_datetime: Some(datetime(closed_at.unwrap_or(r.updated_at_ms))),
        expected_datetime: Some(datetime(after_working_days(
            received,
            state.pack.city.report_handling_working_days,
        ))),
        address: match (&r.address, &r.ward) {
            (Some(a), Some(w)) => Some(format!("{a}, {w}")),
            (a, w) => a.clone().or_else(|| w.clone()),
        },
        address_id: None,
        zipcode: None,
        lat: Some(r.position.lat),
        long: Some(r.position.lon),
        media_url: r
            .photos
            .first()
            .map(|p| format!("{}/api/v1/photos/{p}", state.public_url)),
    }
}

fn parse_date(field: &str, value: &str) -> Result<i64, Open311Failure> {
    let at = OffsetDateTime::parse(value, &Rfc3339)
        .map_err(|e| Open311Failure::bad(field, format!("not a W3C date-time: {e}")))?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| Open311Failure::bad(field, "out of range"))
}

/// Reports, newest first; by default those of the last 90 days, at most 1 000.
#[utoipa::path(get, path = "/open311/v2/requests.json", tag = "open311",
    params(
        ("jurisdiction_id" = Option<String>, Query, description = "The city's id; optional"),
        ("service_request_id" = Option<String>, Query, description = "Comma-separated ids; the other filters are then ignored"),
        ("service_code" = Option<String>, Query, description = "Comma-separated service codes"),
        ("start_date" = Option<String>, Query, format = DateTime, description = "Earliest requested_datetime (W3C date-time)"),
        ("end_date" = Option<String>, Query, format = DateTime, description = "Latest requested_datetime (W3C date-time)"),
        ("status" = Option<String>, Query, pattern = "^((open|closed)(,(open|closed))*)?$", description = "`open`, `closed`, or both comma-separated; empty for both"),
        ("locale" = Option<String>, Query, description = "`vi` (default) or `en`"),
    ),
    responses(
        (status = 200, description = "The matching requests", body = Vec<Open311Request>),
        (status = 400, description = "A filter is invalid", body = Vec<Open311Error>),
        (status = 404, description = "Unknown jurisdiction", body = Vec<Open311Error>),
    ))]
pub async fn requests(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Open311Request>>, Open311Failure> {
    let q = query_map(raw.as_deref());
    check_jurisdiction(&state, &q)?;
    let lang = lang(&q);
    let list = |key: &str| -> Option<Vec<String>> {
        q.get(key).filter(|v| !v.is_empty()).map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
    };
    // Every filter is checked, even those a list of ids makes moot.
    let end = match q.get("end_date") {
        Some(v) => parse_date("end_date", v)?,
        None => i64::MAX,
    };
    let start = match q.get("start_date") {
        Some(v) => parse_date("start_date", v)?,
        None if end == i64::MAX => now_ms() - 90 * 86_400_000,
        None => end.saturating_sub(90 * 86_400_000),
    };
    let statuses = list("status");
    if let Some(bad) = statuses
        .iter()
        .flatten()
        .find(|s| !matches!(s.as_str(), "open" | "closed"))
    {
        return Err(Open311Failure::bad(
            "status",
            format!("{bad:?} is not open or closed"),
        ));
    }
    let codes = list("service_code");
    let mut reports = state.store.report_views().await?;
    if let Some(ids) = list("service_request_id") {
        reports.retain(|r| ids.contains(&r.tracking_code));
    } else {
        reports.retain(|r| {
            let received = r.history.first().map_or(r.updated_at_ms, |h| h.at_ms);
            (start..=end).contains(&received)
                && codes.as_ref().is_none_or(|c| c.contains(&r.category))
                && statuses
                    .as_ref()
                    .is_none_or(|s| s.iter().any(|s| s == r.status.open311()))
        });
    }
    reports.sort_by_key(|r| std::cmp::Reverse(r.history.first().map_or(0, |h| h.at_ms)));
    reports.truncate(1_000);
    Ok(Json(
        reports.iter().map(|r| request(&state, r, lang)).collect(),
    ))
}

/// One report by its `service_request_id` (the tracking code), as a one-element list.
#[utoipa::path(get, path = "/open311/v2/requests/{service_request_id}.json", tag = "open311",
    params(
        ("service_request_id" = String, Path, description = "The tracking code"),
        ("jurisdiction_id" = Option<String>, Query, description = "The city's id; optional"),
        ("locale" = Option<String>, Query, description = "`vi` (default) or `en`"),
    ),
    responses(
        (status = 200, description = "The request", body = Vec<Open311Request>),
        (status = 404, description = "No such request or jurisdiction", body = Vec<Open311Error>),
    ))]
pub async fn request_by_id(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Open311Request>>, Open311Failure> {
    let q = query_map(raw.as_deref());
    check_jurisdiction(&state, &q)?;
    let id = json_name(&file)?;
    let not_found = || {
        Open311Failure(
            StatusCode::NOT_FOUND,
            format!("service_request_id: no request {id:?}"),
        )
    };
    // Only tracking codes are public ids: a report's UUID is what the tokens endpoint takes.
    if Uuid::parse_str(id).is_ok() {
        return Err(not_found());
    }
    let report = state.store.report(id).await?.ok_or_else(not_found)?;
    Ok(Json(vec![request(&state, &report, lang(&q))]))
}

/// The `service_request_id` behind a token. Requests are filed at once, so the token a
/// client may hold is the report's id.
#[utoipa::path(get, path = "/open311/v2/tokens/{token}.json", tag = "open311",
    params(
        ("token" = String, Path, description = "A token"),
        ("jurisdiction_id" = Option<String>, Query, description = "The city's id; optional"),
    ),
    responses(
        (status = 200, description = "The request id", body = Vec<Open311Token>),
        (status = 404, description = "No such token or jurisdiction", body = Vec<Open311Error>),
    ))]
pub async fn token(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Open311Token>>, Open311Failure> {
    check_jurisdiction(&state, &query_map(raw.as_deref()))?;
    let token = json_name(&file)?;
    let not_found = || Open311Failure(StatusCode::NOT_FOUND, format!("token: no token {token:?}"));
    let id = Uuid::parse_str(token).map_err(|_| not_found())?;
    let report = state
        .store
        .report(&id.to_string())
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(vec![Open311Token {
        service_request_id: report.tracking_code,
        token: id.to_string(),
    }]))
}

/// Files a report from an Open311 client (`api_key` from `citizen-server admin
/// create-api-key`). A position (`lat`, `long`) is required: addresses are not geocoded.
/// `media_url` is not fetched.
#[utoipa::path(post, path = "/open311/v2/requests.json", tag = "open311",
    request_body(content = Open311NewRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The request is filed", body = Vec<Open311Created>),
        (status = 400, description = "A field is invalid", body = Vec<Open311Error>),
        (status = 403, description = "The api_key is missing or wrong", body = Vec<Open311Error>),
        (status = 404, description = "Unknown jurisdiction or service", body = Vec<Open311Error>),
        (status = 413, description = "The body is too large", body = Vec<Open311Error>),
    ))]
pub async fn create_request(
    State(state): State<AppState>,
    body: Body,
) -> Result<Json<Vec<Open311Created>>, Open311Failure> {
    let bytes = body_bytes(body, 64 * 1024).await?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Open311Failure::bad("body", "not UTF-8 form data"))?;
    let q = query_map(Some(text));
    check_jurisdiction(&state, &q)?;
    let client = match q.get("api_key") {
        Some(key) if !key.is_empty() => state.store.credential(key).await?,
        _ => None,
    };
    let Some(client) = client.filter(|c| c.role == Role::Client) else {
        return Err(Open311Failure(
            StatusCode::FORBIDDEN,
            "api_key: missing or not a valid key".into(),
        ));
    };
    let field = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let code =
        field("service_code").ok_or_else(|| Open311Failure::bad("service_code", "required"))?;
    if state.category(&code).is_none() {
        return Err(Open311Failure(
            StatusCode::NOT_FOUND,
            format!("service_code: no service {code:?}"),
        ));
    }
    let number = |k: &str| -> Result<f64, Open311Failure> {
        field(k)
            .ok_or_else(|| {
                Open311Failure::bad(k, "required: this server does not geocode address_string")
            })?
            .parse::<f64>()
            .map_err(|_| Open311Failure::bad(k, "not a number"))
    };
    let position = Position {
        lat: number("lat")?,
        lon: number("long")?,
    };
    let name = match (field("first_name"), field("last_name")) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (f, l) => f.or(l),
    };
    let sub = ReportSubmission {
        id: Uuid::now_v7(),
        device_id: Uuid::nil(),
        category: code,
        description: field("description").unwrap_or_default(),
        position,
        address: field("address_string"),
        ward: None,
        photos: Vec::new(),
        contact: Contact {
            name,
            phone: field("phone"),
            email: field("email"),
            anonymous: false,
        },
        created_at_ms: now_ms(),
    };
    sub.check(&state.pack.city, |c| state.category(c).is_some())
        .map_err(|e| {
            // Open311 calls the fields by its own names.
            let field = match e.field.as_str() {
                "position" => "lat/long",
                "address" => "address_string",
                "contact.name" => "first_name/last_name",
                "contact.phone" => "phone",
                "contact.email" => "email",
                other => other,
            };
            Open311Failure::bad(field, e.message)
        })?;
    let source = format!("open311:{}", client.label);
    let receipt = state.submit_report(&sub, &source).await?;
    Ok(Json(vec![Open311Created {
        service_request_id: receipt.tracking_code,
        service_notice: None,
        account_id: None,
    }]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use citizen_core::report::ReportStatus;

    #[test]
    fn working_days_skip_weekends() {
        // Friday 2026-11-20 10:00 +07:00.
        let friday = 1_795_143_600_000;
        assert_eq!(datetime(friday), "2026-11-20T10:00:00+07:00");
        let due = after_working_days(friday, 5);
        assert_eq!(
            datetime(due),
            "2026-11-27T10:00:00+07:00",
            "Mon–Fri of next week"
        );
        assert_eq!(
            datetime(after_working_days(friday, 1)),
            "2026-11-23T10:00:00+07:00"
        );
    }

    #[test]
    fn only_json_is_served() {
        assert_eq!(json_name("MT00001.json").ok(), Some("MT00001"));
        assert!(json_name("MT00001.xml").is_err());
    }

    #[test]
    fn status_names_follow_the_spec() {
        assert_eq!(ReportStatus::InProgress.open311(), "open");
        assert_eq!(ReportStatus::Rejected.open311(), "closed");
    }
}
