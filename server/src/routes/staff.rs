//! `/api/v1/staff`: a department's queue and its status changes, behind a per-department
//! bearer token (made with `citizen-server admin create-token`).

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use citizen_core::report::{ReportView, StaffReport, StatusUpdate};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiErrorBody};
use crate::routes::input::{PathText, bearer, json_body, parse_query};
use crate::store::{ReportFilter, Role};
use crate::{AppState, now_ms};

/// The department a staff token acts for.
async fn department(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    let token = bearer(headers)?;
    match state.store.credential(token).await? {
        Some(c) if c.role == Role::Staff => c
            .department
            .ok_or_else(|| ApiError::unauthorized("Authorization", "the token has no department")),
        _ => Err(ApiError::unauthorized(
            "Authorization",
            "unknown token, or not a staff token",
        )),
    }
}

/// Which of the department's reports to list.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueStatus {
    Open,
    Closed,
    All,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// `open` (the default), `closed` or `all`.
    pub status: Option<QueueStatus>,
}

/// The department's reports with the reporters' contacts, oldest first.
#[utoipa::path(get, path = "/api/v1/staff/reports", tag = "staff", params(QueueQuery),
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "The queue", body = Vec<StaffReport>),
        (status = 400, description = "A query parameter is invalid", body = ApiErrorBody),
        (status = 401, description = "The token is missing or wrong", body = ApiErrorBody),
    ))]
pub async fn queue(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<StaffReport>>, ApiError> {
    let department = department(&state, &headers).await?;
    let query: QueueQuery = parse_query(raw.as_deref())?;
    let filter = match query.status {
        None | Some(QueueStatus::Open) => ReportFilter::Open,
        Some(QueueStatus::Closed) => ReportFilter::Closed,
        Some(QueueStatus::All) => ReportFilter::All,
    };
    Ok(Json(
        state.store.department_queue(&department, filter).await?,
    ))
}

/// Moves a report of the department along. Resolving needs a note for the resident,
/// rejecting needs the reason; a report never moves back.
#[utoipa::path(post, path = "/api/v1/staff/reports/{id}/status", tag = "staff",
    params(("id" = String, Path, description = "The report's id or tracking code")),
    request_body = StatusUpdate,
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "The report after the change", body = ReportView),
        (status = 400, description = "The change is not allowed or a field is invalid", body = ApiErrorBody),
        (status = 401, description = "The token is missing or wrong", body = ApiErrorBody),
        (status = 404, description = "No such report in this department", body = ApiErrorBody),
        (status = 409, description = "The photo is not an upload of this report", body = ApiErrorBody),
        (status = 413, description = "The body is too large", body = ApiErrorBody),
    ))]
pub async fn change_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathText(id): PathText,
    body: Body,
) -> Result<Json<ReportView>, ApiError> {
    let department = department(&state, &headers).await?;
    let update: StatusUpdate = json_body(body, 64 * 1024).await?;
    Ok(Json(
        state
            .store
            .change_status(&department, &id, &update, now_ms())
            .await?,
    ))
}
