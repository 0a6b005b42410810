//! The error every boundary hands to the UI: a stable code the UI translates, and a message
//! for logs and developers.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request or a field of it is not acceptable; the message names the field.
    InvalidInput,
    NotFound,
    /// A credential is missing or wrong.
    Unauthorized,
    /// The request contradicts what is stored (an id reused with other content, an offset
    /// that moved).
    Conflict,
    /// The request or a file in it is larger than allowed.
    TooLarge,
    /// A file is of a format the app does not read (a HEIC photo); the message names it.
    UnsupportedFormat,
    /// The gateway could not be reached.
    Offline,
    /// The local store failed.
    Storage,
    /// The device's storage is full: nothing was saved; free some space and try again.
    StorageFull,
    /// A bug on our side.
    Internal,
    /// Too many requests of this kind (one-time codes …): wait, then try again.
    RateLimited,
}

impl ErrorCode {
    /// The translation key the UI shows for this code.
    pub fn message_key(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "error-invalid-input",
            ErrorCode::NotFound => "error-not-found",
            ErrorCode::Unauthorized => "error-unauthorized",
            ErrorCode::Conflict => "error-conflict",
            ErrorCode::TooLarge => "error-too-large",
            ErrorCode::UnsupportedFormat => "error-unsupported-format",
            ErrorCode::Offline => "error-offline",
            ErrorCode::Storage => "error-storage",
            ErrorCode::StorageFull => "error-storage-full",
            ErrorCode::Internal => "error-internal",
            ErrorCode::RateLimited => "error-rate-limited",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{code:?}: {message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_shape_is_pinned() {
        let err = AppError::new(ErrorCode::InvalidInput, "limit: must be between 1 and 1000");
        assert_eq!(
            serde_json::to_string(&err).expect("serialises"),
            r#"{"code":"invalid_input","message":"limit: must be between 1 and 1000"}"#,
            "the UI and third parties rely on this shape"
        );
    }
}
