//! `/open311/v2/`: Open311 GeoReport v2 (JSON), so city back-offices and existing Open311
//! clients can read and file reports unchanged. Report categories are the services; the
//! tracking code is the `service_request_id`. Contacts are never shown.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use citizen_core::report::{
    Contact, MAX_PHOTO_BYTES, PhotoRef, ReportSubmission, ReportView, UploadStart,
};
use citizen_core::{Lang, Position, ReportCategory, text};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset, Weekday};
use uuid::Uuid;

use crate::error::ApiError;
use crate::photo;
use crate::routes::input::{PathText, body_bytes};
use crate::routes::w3c_datetime;
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

    /// A 404 with its description.
    pub fn not_found(description: String) -> Self {
        Open311Failure(StatusCode::NOT_FOUND, description)
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

/// A path parameter of an Open311 route, refused in the spec's error shape.
pub struct Open311Path(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Open311Path {
    type Rejection = Open311Failure;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Open311Failure> {
        let PathText(text) = PathText::from_request_parts(parts, state).await?;
        Ok(Open311Path(text))
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
    /// What is wrong (required here: a report says what it is about).
    pub description: String,
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

/// Reads `application/x-www-form-urlencoded` pairs (a query string or a form body). A value
/// that is not UTF-8 once percent-decoded (`caf%E9`, Latin-1) is refused naming its key,
/// rather than stored with replacement characters.
fn query_map(raw: Option<&str>) -> Result<HashMap<String, String>, Open311Failure> {
    let decode = |part: &str| {
        let spaced = part.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8()
            .map(std::borrow::Cow::into_owned)
    };
    let mut pairs = HashMap::new();
    for piece in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
        let name = decode(key).map_err(|_| {
            Open311Failure::bad(
                &String::from_utf8_lossy(
                    &percent_encoding::percent_decode_str(key).collect::<Vec<u8>>(),
                ),
                "the name is not UTF-8 text",
            )
        })?;
        let value = decode(value).map_err(|_| {
            Open311Failure::bad(&name, "not UTF-8 text: send the form encoded as UTF-8")
        })?;
        pairs.insert(name, value);
    }
    Ok(pairs)
}

fn check_jurisdiction(state: &AppState, q: &HashMap<String, String>) -> Result<(), Open311Failure> {
    match q.get("jurisdiction_id").map(|j| j.trim()) {
        Some(j) if !j.is_empty() && j != state.pack.city.id => Err(Open311Failure(
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
    let q = query_map(raw.as_deref())?;
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
    Open311Path(file): Open311Path,
    RawQuery(raw): RawQuery,
) -> Result<Json<Open311ServiceDefinition>, Open311Failure> {
    check_jurisdiction(&state, &query_map(raw.as_deref())?)?;
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

/// A `start_date`/`end_date` filter as a span of ms (see [`w3c_datetime::parse`]), in the
/// city's time where it gives no zone.
fn parse_date(field: &str, value: &str) -> Result<w3c_datetime::Span, Open311Failure> {
    w3c_datetime::parse(value, VIETNAM).map_err(|e| Open311Failure::bad(field, e))
}

/// Reports, newest first; by default those of the last 90 days, at most 1 000.
#[utoipa::path(get, path = "/open311/v2/requests.json", tag = "open311",
    params(
        ("jurisdiction_id" = Option<String>, Query, description = "The city's id; optional"),
        ("service_request_id" = Option<String>, Query, description = "Comma-separated ids; the other filters are then ignored"),
        ("service_code" = Option<String>, Query, description = "Comma-separated service codes"),
        ("start_date" = Option<String>, Query, description = "Earliest requested_datetime: a W3C date-time in any precision (`2026-11-01`, `2026-11-01T08:30+07:00`); without a zone, the city's time"),
        ("end_date" = Option<String>, Query, description = "Latest requested_datetime, inclusive (`end_date=2026-11-01` includes that day)"),
        ("status" = Option<String>, Query, pattern = "^(([oO][pP][eE][nN]|[cC][lL][oO][sS][eE][dD])(,([oO][pP][eE][nN]|[cC][lL][oO][sS][eE][dD]))*)?$", description = "`open`, `closed`, or both comma-separated; empty for both"),
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
    let q = query_map(raw.as_deref())?;
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
    // A date alone names a whole day: `end_date=2026-11-01` includes that day.
    let end = match q.get("end_date").filter(|v| !v.is_empty()) {
        Some(v) => parse_date("end_date", v)?.last_ms,
        None => i64::MAX,
    };
    let start = match q.get("start_date").filter(|v| !v.is_empty()) {
        Some(v) => parse_date("start_date", v)?.first_ms,
        None if end == i64::MAX => now_ms() - 90 * 86_400_000,
        None => end.saturating_sub(90 * 86_400_000),
    };
    if start > end {
        return Err(Open311Failure::bad(
            "start_date",
            format!(
                "{} is after end_date {}: the range is empty",
                q.get("start_date").map_or("", String::as_str),
                q.get("end_date").map_or("", String::as_str)
            ),
        ));
    }
    // Open311 names the values in lower case; `Open` from a client is meant the same.
    let statuses = list("status").map(|s| {
        s.into_iter()
            .map(|v| v.to_ascii_lowercase())
            .collect::<Vec<_>>()
    });
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
        reports.retain(|r| {
            ids.iter()
                .any(|id| id.eq_ignore_ascii_case(&r.tracking_code))
        });
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
    Open311Path(file): Open311Path,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Open311Request>>, Open311Failure> {
    let q = query_map(raw.as_deref())?;
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
    Open311Path(file): Open311Path,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Open311Token>>, Open311Failure> {
    check_jurisdiction(&state, &query_map(raw.as_deref())?)?;
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

/// Largest url-encoded form of a new request.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// A new request's form as an Open311 client sends it: its fields (from the body, and from
/// the query string where a client puts `api_key` or `jurisdiction_id` there), and the photo
/// of a multipart `media` part.
#[derive(Debug, Default)]
pub struct NewRequestForm {
    pub fields: HashMap<String, String>,
    pub media: Option<Bytes>,
}

impl NewRequestForm {
    /// A field as typed: NFC, trimmed, absent when nothing visible is in it.
    fn field(&self, key: &str) -> Option<String> {
        text::line(self.fields.get(key).map(String::as_str))
    }
}

/// Reads a new request's body as `application/x-www-form-urlencoded` (the spec's form; also
/// what a body without a content type is taken as) or `multipart/form-data` (how clients
/// attach a photo, GeoReport v2.1's `media`). Query-string fields come first, body fields
/// override them. Errors name the part at fault.
pub async fn read_form(
    content_type: Option<&str>,
    query: Option<&str>,
    body: Bytes,
) -> Result<NewRequestForm, Open311Failure> {
    let mut form = NewRequestForm {
        fields: query_map(query)?,
        media: None,
    };
    let essence = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase());
    match essence.as_deref() {
        None | Some("" | "application/x-www-form-urlencoded") => {
            if body.len() > MAX_FORM_BYTES {
                return Err(Open311Failure(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("body: a form is at most {MAX_FORM_BYTES} bytes without a photo"),
                ));
            }
            let text = std::str::from_utf8(&body)
                .map_err(|_| Open311Failure::bad("body", "not UTF-8 form data"))?;
            form.fields.extend(query_map(Some(text))?);
        }
        Some("multipart/form-data") => {
            let boundary = content_type
                .and_then(|c| multer::parse_boundary(c).ok())
                .ok_or_else(|| {
                    Open311Failure::bad("Content-Type", "multipart/form-data needs a boundary")
                })?;
            let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(body) });
            let mut parts = multer::Multipart::new(stream, boundary);
            let broken = |e: multer::Error| {
                Open311Failure::bad("body", format!("malformed multipart body: {e}"))
            };
            while let Some(part) = parts.next_field().await.map_err(broken)? {
                let name = part.name().unwrap_or_default().to_owned();
                let is_file = part.file_name().is_some();
                let data = part.bytes().await.map_err(broken)?;
                // A browser form with no file chosen sends an empty `media` part: no photo.
                if name == "media" && data.is_empty() {
                    continue;
                }
                if name == "media" {
                    if form.media.is_some() {
                        return Err(Open311Failure::bad("media", "one photo per request"));
                    }
                    form.media = Some(data);
                } else if is_file {
                    return Err(Open311Failure::bad(
                        &name,
                        "a file where a text field belongs: send the photo as the `media` part",
                    ));
                } else {
                    let value = String::from_utf8(data.to_vec())
                        .map_err(|_| Open311Failure::bad(&name, "not UTF-8 text"))?;
                    form.fields.insert(name, value);
                }
            }
        }
        Some(other) => {
            return Err(Open311Failure::bad(
                "Content-Type",
                format!(
                    "{other} is not read here: send application/x-www-form-urlencoded, or \
                     multipart/form-data with the photo as `media`"
                ),
            ));
        }
    }
    Ok(form)
}

/// Files a report from an Open311 client (`api_key` from `citizen-server admin
/// create-api-key`). A position (`lat`, `long`) is required: addresses are not geocoded.
/// `media_url` is not fetched; a photo sent as the multipart `media` part goes through the
/// same checks as an upload (format by its bytes, size, decoding, metadata removed).
#[utoipa::path(post, path = "/open311/v2/requests.json", tag = "open311",
    request_body(content(
        (Open311NewRequest = "application/x-www-form-urlencoded"),
        // Its schema is the form's plus `media`; see `openapi::document`.
        ("multipart/form-data"),
    )),
    responses(
        (status = 200, description = "The request is filed", body = Vec<Open311Created>),
        (status = 400, description = "A field is invalid", body = Vec<Open311Error>),
        (status = 403, description = "The api_key is missing or wrong", body = Vec<Open311Error>),
        (status = 404, description = "Unknown jurisdiction or service", body = Vec<Open311Error>),
        (status = 413, description = "The body or the photo is too large", body = Vec<Open311Error>),
        (status = 422, description = "The photo is not a JPEG, PNG or WebP that decodes", body = Vec<Open311Error>),
    ))]
pub async fn create_request(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Vec<Open311Created>>, Open311Failure> {
    let limit = usize::try_from(MAX_PHOTO_BYTES).unwrap_or(usize::MAX) + MAX_FORM_BYTES;
    let bytes = body_bytes(body, limit).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let form = read_form(content_type, raw.as_deref(), bytes).await?;
    check_jurisdiction(&state, &form.fields)?;
    let client = match form.field("api_key") {
        Some(key) => state.store.credential(&key).await?,
        None => None,
    };
    let Some(client) = client.filter(|c| c.role == Role::Client) else {
        return Err(Open311Failure(
            StatusCode::FORBIDDEN,
            "api_key: missing or not a valid key".into(),
        ));
    };
    let code = form
        .field("service_code")
        .ok_or_else(|| Open311Failure::bad("service_code", "required"))?;
    if state.category(&code).is_none() {
        return Err(Open311Failure(
            StatusCode::NOT_FOUND,
            format!("service_code: no service {code:?}"),
        ));
    }
    let number = |k: &str| -> Result<f64, Open311Failure> {
        form.field(k)
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
    let name = match (form.field("first_name"), form.field("last_name")) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (f, l) => f.or(l),
    };
    let mut sub = ReportSubmission {
        id: Uuid::now_v7(),
        device_id: Uuid::nil(),
        category: code,
        description: form.field("description").unwrap_or_default(),
        position,
        address: form.field("address_string"),
        ward: None,
        photos: Vec::new(),
        contact: Contact {
            name,
            phone: form.field("phone"),
            email: form.field("email"),
            anonymous: false,
        },
        created_at_ms: now_ms(),
    }
    .normalized();
    let open311_name = |field: &str| -> String {
        // Open311 calls the fields by its own names.
        match field {
            "position" => "lat/long",
            "address" => "address_string",
            "contact.name" => "first_name/last_name",
            "contact.phone" => "phone",
            "contact.email" => "email",
            "photo" | "body" => "media",
            other => other,
        }
        .to_owned()
    };
    sub.check(&state.pack.city, |c| state.category(c).is_some())
        .map_err(|e| Open311Failure::bad(&open311_name(&e.field), e.message))?;
    // The photo is stored only once the rest of the request is known to be good, through the
    // same path as a device's upload.
    if let Some(media) = &form.media {
        sub.photos.push(
            store_media(&state, media)
                .await
                .map_err(|e| rename_field(e, &open311_name))?,
        );
    }
    let source = format!("open311:{}", client.label);
    let receipt = state.submit_report(&sub, &source).await?;
    Ok(Json(vec![Open311Created {
        service_request_id: receipt.tracking_code,
        service_notice: None,
        account_id: None,
    }]))
}

/// Stores a whole photo as a completed upload (checked as every upload is), for a report to
/// refer to.
async fn store_media(state: &AppState, media: &[u8]) -> Result<PhotoRef, ApiError> {
    if media.is_empty() {
        return Err(ApiError::invalid("media", "an empty file"));
    }
    if media.len() as u64 > MAX_PHOTO_BYTES {
        return Err(ApiError::too_large(
            "media",
            format!(
                "{} bytes is more than the {MAX_PHOTO_BYTES} allowed",
                media.len()
            ),
        ));
    }
    // Checked before anything is stored, so a refused photo leaves no upload behind.
    let owned = media.to_vec();
    tokio::task::spawn_blocking(move || photo::check("media", &owned))
        .await
        .map_err(|e| ApiError::Internal(crate::store::StoreError::Task(e.to_string())))?
        .map_err(|e| ApiError::Unprocessable {
            field: e.field,
            message: e.message,
        })?;
    let start = UploadStart {
        id: Uuid::now_v7(),
        size: media.len() as u64,
        sha256: format!("{:x}", Sha256::digest(media)),
        kind: citizen_core::report::UploadKind::Photo,
    };
    state.store.start_upload(&start, now_ms()).await?;
    state.store.append_chunk(start.id, 0, media).await?;
    Ok(PhotoRef {
        id: start.id,
        sha256: start.sha256,
        size: start.size,
    })
}

/// An API error with its field called by Open311's name.
fn rename_field(e: ApiError, name: &impl Fn(&str) -> String) -> Open311Failure {
    let status = e.status();
    let body = e.body();
    match body.field {
        Some(field) => {
            let message = body
                .message
                .strip_prefix(&format!("{field}: "))
                .unwrap_or(&body.message)
                .to_owned();
            Open311Failure(status, format!("{}: {message}", name(&field)))
        }
        None => Open311Failure(status, body.message),
    }
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
