//! The gateway's error answers: 4xx naming the field at fault, 5xx only for our bugs.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use citizen_core::ErrorCode;
use serde::Serialize;

/// The JSON body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiErrorBody {
    pub code: ErrorCode,
    /// The request field (query parameter, JSON path) at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    #[error("not found")]
    NotFound,
    #[error("internal error: {0}")]
    Internal(#[from] crate::store::StoreError),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::InvalidField { field, message } => (
                StatusCode::BAD_REQUEST,
                ApiErrorBody {
                    code: ErrorCode::InvalidInput,
                    message: format!("{field}: {message}"),
                    field: Some(field),
                },
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                ApiErrorBody {
                    code: ErrorCode::NotFound,
                    field: None,
                    message: "not found".into(),
                },
            ),
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ApiErrorBody {
                        code: ErrorCode::Internal,
                        field: None,
                        message: "internal error".into(),
                    },
                )
            }
        };
        (status, Json(body)).into_response()
    }
}
