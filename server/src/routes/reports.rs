//! `/api/v1/reports`: residents' field issue reports, sent once per id, and their "me too"s;
//! `/api/v1/photos/{id}`: the published (metadata-free) photos.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use citizen_core::report::{
    ReportReceipt, ReportSubmission, ReportView, SupportReceipt, SupportSubmission,
};

use crate::AppState;
use crate::error::{ApiError, ApiErrorBody};
use crate::routes::input::{PathText, json_body, uuid_in_path};

/// Largest JSON body of a report. Far above any valid report, so that an oversized field is
/// named by the field checks rather than refused as a whole.
pub const MAX_REPORT_BODY: usize = 16 * 1024 * 1024;

/// Sends a report. The report's `id` (a UUIDv7 made on the device) is the idempotency key:
/// the same report sent again gets the same receipt and makes no second report.
#[utoipa::path(post, path = "/api/v1/reports", tag = "reports", request_body = ReportSubmission,
    responses(
        (status = 200, description = "The report is accepted (now or before)", body = ReportReceipt),
        (status = 400, description = "A field is invalid; `field` names it", body = ApiErrorBody),
        (status = 409, description = "The id was used for other content, or a photo is not uploaded", body = ApiErrorBody),
        (status = 413, description = "The body is too large", body = ApiErrorBody),
    ))]
pub async fn submit(
    State(state): State<AppState>,
    body: Body,
) -> Result<Json<ReportReceipt>, ApiError> {
    // Text is read in NFC; otherwise the JSON API takes its fields as its document states
    // them (people's typing is tidied where they type: the app, Open311 forms).
    let sub: ReportSubmission = json_body(body, MAX_REPORT_BODY).await?;
    sub.check(&state.pack.city, |code| state.category(code).is_some())?;
    let receipt = state
        .submit_report(&sub, &sub.device_id.to_string())
        .await?;
    Ok(Json(receipt))
}

/// A report as the public sees it, by id or tracking code.
#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "reports",
    params(("id" = String, Path, description = "The report's id or its tracking code")),
    responses(
        (status = 200, description = "The report", body = ReportView),
        (status = 404, description = "No such report", body = ApiErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    PathText(id): PathText,
) -> Result<Json<ReportView>, ApiError> {
    state
        .store
        .report(&id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

/// "Me too": adds a device's voice to an open report; once per device. A report that is
/// resolved or rejected takes no more (409), except the repeat of one already counted.
#[utoipa::path(post, path = "/api/v1/reports/{id}/supports", tag = "reports",
    params(("id" = uuid::Uuid, Path, description = "The report's id")),
    request_body = SupportSubmission,
    responses(
        (status = 200, description = "Counted (now or before)", body = SupportReceipt),
        (status = 400, description = "A field is invalid", body = ApiErrorBody),
        (status = 404, description = "No such report", body = ApiErrorBody),
        (status = 409, description = "The op id was used for another report, or the report is closed", body = ApiErrorBody),
        (status = 413, description = "The body is too large", body = ApiErrorBody),
    ))]
pub async fn support(
    State(state): State<AppState>,
    PathText(id): PathText,
    body: Body,
) -> Result<Json<SupportReceipt>, ApiError> {
    let id = uuid_in_path("id", &id)?;
    let sub: SupportSubmission = json_body(body, 4096).await?;
    Ok(Json(state.store.support_report(id, &sub).await?))
}

/// A photo of a report or of a department's reply, without any metadata.
#[utoipa::path(get, path = "/api/v1/photos/{id}", tag = "reports",
    params(("id" = uuid::Uuid, Path, description = "The photo's id")),
    responses(
        (status = 200, description = "The image", content_type = "image/*"),
        (status = 400, description = "The id is not a UUID", body = ApiErrorBody),
        (status = 404, description = "No such published photo", body = ApiErrorBody),
    ))]
pub async fn photo(
    State(state): State<AppState>,
    PathText(id): PathText,
) -> Result<Response, ApiError> {
    let id = uuid_in_path("id", &id)?;
    let (media_type, data) = state
        .store
        .published_photo(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, media_type),
            (
                header::CACHE_CONTROL,
                "public, max-age=31536000, immutable".into(),
            ),
        ],
        data,
    )
        .into_response())
}
