//! `/api/v1/dossiers`: a resident applies for a public service with a device token, follows
//! their dossiers, answers a supplement request and rates the service; a dossier can also be
//! looked up by its code and the phone number from any device. `/api/v1/staff/dossiers`: the
//! handling department's queue and its moves. Every move goes through the one state machine
//! of `citizen_core::dossier`; a caller who may not see a dossier is told it does not exist.

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use citizen_core::civil::Date;
use citizen_core::dossier::{
    Action, Application, Dossier, DossierOp, DossierReceipt, DossierStatus, DossierSummary,
    StaffDossier,
};
use citizen_core::form::{CheckContext, normalize_phone};
use citizen_core::identity::Lookup;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use crate::error::{ApiError, ApiErrorBody};
use crate::routes::identity::resident;
use crate::routes::input::{PathPair, PathText, bearer, json_body, parse_query, uuid_in_path};
use crate::store::{Caller, Role};
use crate::{AppState, now_ms};

/// Largest JSON body of an application: the answers are small, files travel as uploads.
pub const MAX_APPLICATION_BODY: usize = 1024 * 1024;

/// Today in the city (UTC+7), for dates in forms.
fn today(now_ms: i64) -> Date {
    Date::from_days_since_epoch((now_ms + 7 * 3_600_000).div_euclid(citizen_core::civil::DAY_MS))
}

/// Who a token belongs to, for the reads both residents and staff make.
async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let token = bearer(headers)?;
    match state.store.credential(token).await? {
        Some(c) if c.role == Role::Resident => c
            .phone
            .map(Caller::Resident)
            .ok_or_else(|| ApiError::unauthorized("Authorization", "the token has no phone")),
        Some(c) if c.role == Role::Staff => c
            .department
            .map(Caller::Staff)
            .ok_or_else(|| ApiError::unauthorized("Authorization", "the token has no department")),
        _ => Err(ApiError::unauthorized(
            "Authorization",
            "unknown token, or neither a resident's nor a department's",
        )),
    }
}

/// The department a staff token acts for.
async fn department(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    match caller(state, headers).await? {
        Caller::Staff(d) => Ok(d),
        Caller::Resident(_) => Err(ApiError::unauthorized(
            "Authorization",
            "not a department's staff token",
        )),
    }
}

/// Applies for a procedure. The application's `id` (a UUIDv7 made on the device) is the
/// idempotency key: sent again, it gets the same dossier. The answers are checked with the
/// procedure's form from the city pack; every document must be a completed upload of kind
/// `document`.
#[utoipa::path(post, path = "/api/v1/dossiers", tag = "dossiers", request_body = Application,
    security(("resident_token" = [])),
    responses(
        (status = 200, description = "The dossier is received (now or before)", body = DossierReceipt),
        (status = 400, description = "An answer is invalid; `field` names the first (`answers.<name>`), the message lists all", body = ApiErrorBody),
        (status = 401, description = "No resident's device token", body = ApiErrorBody),
        (status = 409, description = "The id was used for another application, or a document is not an upload of it", body = ApiErrorBody),
        (status = 413, description = "The body is too large", body = ApiErrorBody),
    ))]
pub async fn apply(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<DossierReceipt>, ApiError> {
    let phone = resident(&state, &headers).await?;
    let app: Application = json_body(body, MAX_APPLICATION_BODY).await?;
    let procedure = state
        .pack
        .procedures
        .iter()
        .find(|p| p.id == app.procedure)
        .ok_or_else(|| ApiError::invalid("procedure", "no such procedure"))?;
    let form = state.forms.get(&app.procedure).ok_or_else(|| {
        ApiError::invalid(
            "procedure",
            "this procedure cannot be applied for online yet: it has no form",
        )
    })?;
    let now = now_ms();
    let ctx = CheckContext {
        today: today(now),
        wards: &state.pack.wards,
    };
    let answers = form
        .check(&app.answers, &ctx)
        .map_err(ApiError::InvalidAnswers)?;
    let documents = form.attachments(&answers);
    let receipt = state
        .store
        .submit_dossier(
            &app,
            crate::store::Intake {
                phone: &phone,
                department: &procedure.department,
                code_prefix: &state.code_prefix,
                answers,
                documents,
                now_ms: now,
                due_at_ms: state.calendar.due_at(now, procedure.processing_days),
            },
        )
        .await?;
    Ok(Json(receipt))
}

/// The resident's dossiers, newest first. Answers `304` to an `If-None-Match` of the
/// current `ETag`, so a device polls cheaply.
#[utoipa::path(get, path = "/api/v1/dossiers", tag = "dossiers",
    security(("resident_token" = [])),
    responses(
        (status = 200, description = "The dossiers", body = Vec<Dossier>),
        (status = 304, description = "Nothing changed since the ETag sent"),
        (status = 401, description = "No resident's device token", body = ApiErrorBody),
    ))]
pub async fn mine(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let phone = resident(&state, &headers).await?;
    let dossiers = state.store.resident_dossiers(&phone).await?;
    let body = serde_json::to_vec(&dossiers)
        .map_err(|e| ApiError::Internal(crate::store::StoreError::Task(e.to_string())))?;
    let etag = format!("\"{:x}\"", Sha256::digest(&body));
    let private = HeaderValue::from_static("private, no-store");
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let etag = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    if matches {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, private)],
        )
            .into_response());
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, private),
        ],
        body,
    )
        .into_response())
}

/// One of the resident's dossiers, by id or code.
#[utoipa::path(get, path = "/api/v1/dossiers/{key}", tag = "dossiers",
    params(("key" = String, Path, description = "The dossier's id or code")),
    security(("resident_token" = [])),
    responses(
        (status = 200, description = "The dossier", body = Dossier),
        (status = 400, description = "The path is not readable", body = ApiErrorBody),
        (status = 401, description = "No resident's device token", body = ApiErrorBody),
        (status = 404, description = "No such dossier of this number", body = ApiErrorBody),
    ))]
pub async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathText(key): PathText,
) -> Result<Json<Dossier>, ApiError> {
    let phone = resident(&state, &headers).await?;
    Ok(Json(
        state
            .store
            .dossier_for(&key, &Caller::Resident(phone))
            .await?,
    ))
}

/// A resident's move on their dossier: a supplement (answer and documents) or a rating.
/// `op_id` (a UUIDv7 made on the device) is the idempotency key.
#[utoipa::path(post, path = "/api/v1/dossiers/{key}/ops", tag = "dossiers",
    params(("key" = String, Path, description = "The dossier's id or code")),
    request_body = DossierOp,
    security(("resident_token" = [])),
    responses(
        (status = 200, description = "The dossier after the move (now or before)", body = Dossier),
        (status = 400, description = "A field is invalid", body = ApiErrorBody),
        (status = 401, description = "No resident's device token", body = ApiErrorBody),
        (status = 404, description = "No such dossier of this number", body = ApiErrorBody),
        (status = 409, description = "The dossier's state does not allow the move (a supplement nobody asked for …), or the op id was used for another move", body = ApiErrorBody),
        (status = 413, description = "The body is too large", body = ApiErrorBody),
    ))]
pub async fn resident_op(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathText(key): PathText,
    body: Body,
) -> Result<Json<Dossier>, ApiError> {
    let phone = resident(&state, &headers).await?;
    let op: DossierOp = json_body(body, MAX_APPLICATION_BODY).await?;
    Ok(Json(
        state
            .store
            .act_on_dossier(
                &key,
                &Caller::Resident(phone),
                Some(op.op_id),
                op.action,
                &state.calendar,
                now_ms(),
            )
            .await?,
    ))
}

/// A dossier by its code and the applicant's phone number, from any device. A wrong number
/// and an unknown code get the same answer.
#[utoipa::path(post, path = "/api/v1/dossiers/lookup", tag = "dossiers", request_body = Lookup,
    responses(
        (status = 200, description = "The dossier", body = Dossier),
        (status = 400, description = "A field is invalid", body = ApiErrorBody),
        (status = 404, description = "No dossier with this code and number", body = ApiErrorBody),
        (status = 413, description = "The body is too large", body = ApiErrorBody),
    ))]
pub async fn lookup(State(state): State<AppState>, body: Body) -> Result<Json<Dossier>, ApiError> {
    let lookup: Lookup = json_body(body, 4096).await?;
    let phone = normalize_phone(&lookup.phone)
        .ok_or_else(|| ApiError::invalid("phone", "not a Vietnamese phone number"))?;
    let code = crate::store::normalize_code(&lookup.code);
    Ok(Json(
        state
            .store
            .dossier_for(&code, &Caller::Resident(phone))
            .await?,
    ))
}

/// A document of a dossier (the application's, a supplement's or the result), for the
/// applicant's device or the handling department's staff.
#[utoipa::path(get, path = "/api/v1/dossiers/{key}/documents/{document}", tag = "dossiers",
    params(
        ("key" = String, Path, description = "The dossier's id or code"),
        ("document" = uuid::Uuid, Path, description = "The document's upload id"),
    ),
    security(("resident_token" = []), ("staff_token" = [])),
    responses(
        (status = 200, description = "The document's bytes", content_type = "application/octet-stream"),
        (status = 400, description = "The document's id is not a UUID", body = ApiErrorBody),
        (status = 401, description = "No token", body = ApiErrorBody),
        (status = 404, description = "No such document of a dossier this token may see", body = ApiErrorBody),
    ))]
pub async fn document(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathPair(key, document): PathPair,
) -> Result<Response, ApiError> {
    let caller = caller(&state, &headers).await?;
    let document = uuid_in_path("document", &document)?;
    let (media_type, data) = state
        .store
        .dossier_document(&key, document, &caller)
        .await?;
    let content_type = HeaderValue::from_str(&media_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
            (
                header::HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            ),
        ],
        data,
    )
        .into_response())
}

/// Which of the department's dossiers to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Only this status.
    pub status: Option<DossierStatus>,
    /// Only dossiers past their due date (`true`).
    pub overdue: Option<bool>,
    /// At most this many (1–500, 100 by default).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Skip this many (0 by default).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// The department's dossiers, the most urgent first (due soonest, then oldest).
#[utoipa::path(get, path = "/api/v1/staff/dossiers", tag = "staff", params(QueueQuery),
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "The queue", body = Vec<DossierSummary>),
        (status = 400, description = "A query parameter is invalid", body = ApiErrorBody),
        (status = 401, description = "The token is missing or not a staff token", body = ApiErrorBody),
    ))]
pub async fn dossier_queue(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<DossierSummary>>, ApiError> {
    let department = department(&state, &headers).await?;
    let query: QueueQuery = parse_query(raw.as_deref())?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 500"));
    }
    let offset = query.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::invalid("offset", "must not be negative"));
    }
    Ok(Json(
        state
            .store
            .dossier_queue(
                &department,
                query.status,
                query.overdue.unwrap_or(false),
                (limit, offset),
                now_ms(),
            )
            .await?,
    ))
}

/// A dossier of the department, with the applicant's phone number.
#[utoipa::path(get, path = "/api/v1/staff/dossiers/{key}", tag = "staff",
    params(("key" = String, Path, description = "The dossier's id or code")),
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "The dossier", body = StaffDossier),
        (status = 400, description = "The path is not readable", body = ApiErrorBody),
        (status = 401, description = "The token is missing or not a staff token", body = ApiErrorBody),
        (status = 404, description = "No such dossier in this department", body = ApiErrorBody),
    ))]
pub async fn staff_one(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathText(key): PathText,
) -> Result<Json<StaffDossier>, ApiError> {
    let department = department(&state, &headers).await?;
    Ok(Json(
        state
            .store
            .staff_dossier(&key, &department, now_ms())
            .await?,
    ))
}

/// Moves a dossier of the department: start the review, request a supplement (once, every
/// item with its reason), approve, reject (with the reason), upload the result (a document
/// uploaded first), record a delay (reason and new date) or hand over.
#[utoipa::path(post, path = "/api/v1/staff/dossiers/{key}/actions", tag = "staff",
    params(("key" = String, Path, description = "The dossier's id or code")),
    request_body = Action,
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "The dossier after the move", body = Dossier),
        (status = 400, description = "A field is invalid", body = ApiErrorBody),
        (status = 401, description = "The token is missing or not a staff token", body = ApiErrorBody),
        (status = 404, description = "No such dossier in this department", body = ApiErrorBody),
        (status = 409, description = "The dossier's state does not allow the move, or a document is not an upload of it", body = ApiErrorBody),
        (status = 413, description = "The body is too large", body = ApiErrorBody),
    ))]
pub async fn staff_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathText(key): PathText,
    body: Body,
) -> Result<Json<Dossier>, ApiError> {
    let department = department(&state, &headers).await?;
    let action: Action = json_body(body, MAX_APPLICATION_BODY).await?;
    Ok(Json(
        state
            .store
            .act_on_dossier(
                &key,
                &Caller::Staff(department),
                None,
                action,
                &state.calendar,
                now_ms(),
            )
            .await?,
    ))
}
