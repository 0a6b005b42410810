//! `/api/v1/identity`: a resident identifies once with a phone number and a one-time code
//! sent to it, and gets a device token for that number (see `store::identity` for the limits).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use citizen_core::form::normalize_phone;
use citizen_core::identity::{CodeRequest, CodeSent, DeviceToken, TokenRequest};

use crate::error::{ApiError, ApiErrorBody};
use crate::routes::input::{bearer, json_body};
use crate::store::Role;
use crate::{AppState, now_ms};

fn phone(field: &str, text: &str) -> Result<String, ApiError> {
    normalize_phone(text).ok_or_else(|| {
        ApiError::invalid(
            field,
            "not a Vietnamese phone number: 10 digits starting 03, 05, 07, 08 or 09, or +84…",
        )
    })
}

/// The phone number a resident's device token acts for.
pub async fn resident(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    let token = bearer(headers)?;
    match state.store.credential(token).await? {
        Some(c) if c.role == Role::Resident => c
            .phone
            .ok_or_else(|| ApiError::unauthorized("Authorization", "the token has no phone")),
        _ => Err(ApiError::unauthorized(
            "Authorization",
            "unknown token, or not a resident's device token",
        )),
    }
}

/// Sends a one-time code to a phone number.
#[utoipa::path(post, path = "/api/v1/identity/codes", tag = "identity", request_body = CodeRequest,
    responses(
        (status = 202, description = "A code is on its way", body = CodeSent),
        (status = 400, description = "Not a phone number", body = ApiErrorBody),
        (status = 413, description = "The body is too large", body = ApiErrorBody),
        (status = 429, description = "Too many codes for this number: see Retry-After", body = ApiErrorBody),
    ))]
pub async fn send_code(
    State(state): State<AppState>,
    body: Body,
) -> Result<(StatusCode, Json<CodeSent>), ApiError> {
    let request: CodeRequest = json_body(body, 4096).await?;
    let phone = phone("phone", &request.phone)?;
    let (code, expires_at_ms) = state.store.new_one_time_code(&phone, now_ms()).await?;
    if let Err(e) = state.code_sender.send(&phone, &code, expires_at_ms) {
        tracing::error!(error = %e, "a one-time code could not be handed to its sender");
        state.metrics.otp_send_failed();
        return Err(ApiError::Internal(crate::store::StoreError::Task(e)));
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(CodeSent {
            phone,
            expires_at_ms,
        }),
    ))
}

/// Trades a one-time code for a device token.
#[utoipa::path(post, path = "/api/v1/identity/tokens", tag = "identity", request_body = TokenRequest,
    responses(
        (status = 200, description = "The device token", body = DeviceToken),
        (status = 400, description = "A field is invalid", body = ApiErrorBody),
        (status = 401, description = "The code is wrong, expired or used", body = ApiErrorBody),
        (status = 413, description = "The body is too large", body = ApiErrorBody),
    ))]
pub async fn redeem_code(
    State(state): State<AppState>,
    body: Body,
) -> Result<Json<DeviceToken>, ApiError> {
    let request: TokenRequest = json_body(body, 4096).await?;
    let phone = phone("phone", &request.phone)?;
    let code = request.code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid("code", "the code has 6 digits"));
    }
    let label: String = request
        .device
        .as_deref()
        .unwrap_or("device")
        .chars()
        .take(100)
        .collect();
    let token = state
        .store
        .redeem_one_time_code(&phone, code, &label, now_ms())
        .await?;
    Ok(Json(DeviceToken { phone, token }))
}
