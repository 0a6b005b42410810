//! Reading request bodies and path parts so that every error names what is wrong.

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::ApiError;

/// Reads a body of at most `limit` bytes.
pub async fn body_bytes(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let length_limit = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if length_limit {
            ApiError::too_large("body", format!("larger than {limit} bytes"))
        } else {
            ApiError::invalid("body", format!("could not be read: {e}"))
        }
    })
}

/// Parses JSON so that an error names the JSON path at fault (`photos[0].sha256`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        // serde reports a missing field at its parent: name the field itself.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let field = match (path.as_str(), missing) {
            (".", Some(name)) => name.to_owned(),
            (parent, Some(name)) => format!("{parent}.{name}"),
            (".", None) => "body".to_owned(),
            (path, None) => path.to_owned(),
        };
        ApiError::invalid(field, message)
    })?;
    de.end()
        .map_err(|e| ApiError::invalid("body", format!("trailing data: {e}")))?;
    Ok(value)
}

/// Reads a JSON body of at most `limit` bytes.
pub async fn json_body<T: DeserializeOwned>(body: Body, limit: usize) -> Result<T, ApiError> {
    parse_json(&body_bytes(body, limit).await?)
}

pub fn uuid_in_path(field: &str, raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|e| ApiError::invalid(field, format!("not a UUID: {e}")))
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("Authorization", "missing: send `Bearer <token>`"))?;
    value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("Authorization", "expected `Bearer <token>`"))
}
