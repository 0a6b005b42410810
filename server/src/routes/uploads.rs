//! `/api/v1/uploads`: resumable uploads of photos and documents. Announce (`POST`), ask how
//! far (`GET`), send the next chunk at that offset (`PATCH` with `Upload-Offset`). The chunk
//! that completes an upload is checked as a photo or a document before anything is kept.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use citizen_core::report::{MAX_PHOTO_BYTES, UploadKind, UploadStart, UploadState, check_sha256};

use crate::error::{ApiError, ApiErrorBody};
use crate::routes::input::{PathText, body_bytes, json_body, uuid_in_path};
use crate::{AppState, now_ms};

/// Largest chunk accepted in one `PATCH`.
pub const MAX_CHUNK_BYTES: usize = 1024 * 1024;

/// Announces an upload by id (made on the device), size and SHA-256. Announcing the same
/// upload again answers how far it is.
#[utoipa::path(post, path = "/api/v1/uploads", tag = "uploads", request_body = UploadStart,
    responses(
        (status = 200, description = "The upload and its offset", body = UploadState),
        (status = 400, description = "A field is invalid", body = ApiErrorBody),
        (status = 409, description = "The id was announced with another size or hash", body = ApiErrorBody),
        (status = 413, description = "The body is too large", body = ApiErrorBody),
    ))]
pub async fn start(
    State(state): State<AppState>,
    body: Body,
) -> Result<Json<UploadState>, ApiError> {
    let start: UploadStart = json_body(body, 4096).await?;
    check_sha256("sha256", &start.sha256)?;
    if start.size == 0 {
        return Err(ApiError::invalid("size", "must be at least 1 byte"));
    }
    let max = match start.kind {
        UploadKind::Photo => MAX_PHOTO_BYTES,
        UploadKind::Document => crate::document::MAX_DOCUMENT_BYTES,
    };
    if start.size > max {
        return Err(ApiError::invalid(
            "size",
            format!("{} bytes is more than the {max} allowed", start.size),
        ));
    }
    Ok(Json(state.store.start_upload(&start, now_ms()).await?))
}

/// How far an upload is: the next chunk starts at `offset`.
#[utoipa::path(get, path = "/api/v1/uploads/{id}", tag = "uploads",
    params(("id" = uuid::Uuid, Path, description = "The upload's id")),
    responses(
        (status = 200, description = "The upload and its offset", body = UploadState),
        (status = 400, description = "The id is not a UUID", body = ApiErrorBody),
        (status = 404, description = "No such upload", body = ApiErrorBody),
    ))]
pub async fn state(
    State(state): State<AppState>,
    PathText(id): PathText,
) -> Result<Json<UploadState>, ApiError> {
    let id = uuid_in_path("id", &id)?;
    Ok(Json(state.store.upload_state(id).await?))
}

/// Sends the chunk that starts at `Upload-Offset` (at most 1 MiB).
#[utoipa::path(patch, path = "/api/v1/uploads/{id}", tag = "uploads",
    params(
        ("id" = uuid::Uuid, Path, description = "The upload's id"),
        ("Upload-Offset" = u64, Header, description = "Where this chunk starts: the upload's current offset"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "The chunk is stored; the new offset", body = UploadState),
        (status = 400, description = "A missing or bad header, or an empty chunk", body = ApiErrorBody),
        (status = 404, description = "No such upload", body = ApiErrorBody),
        (status = 409, description = "The offset is not the upload's, the chunk goes past its size, or it is complete", body = ApiErrorBody),
        (status = 413, description = "The chunk is too large", body = ApiErrorBody),
        (status = 422, description = "The whole upload does not match its hash, or is not a valid photo", body = ApiErrorBody),
    ))]
pub async fn append(
    State(state): State<AppState>,
    PathText(id): PathText,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<UploadState>, ApiError> {
    let id = uuid_in_path("id", &id)?;
    let offset = headers
        .get("upload-offset")
        .ok_or_else(|| ApiError::invalid("Upload-Offset", "missing"))?
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| ApiError::invalid("Upload-Offset", "not a whole number of bytes"))?;
    let data = body_bytes(body, MAX_CHUNK_BYTES).await?;
    if data.is_empty() {
        return Err(ApiError::invalid(
            "body",
            "an empty chunk: send at least one byte",
        ));
    }
    Ok(Json(state.store.append_chunk(id, offset, &data).await?))
}
