//! The gateway's error answers: 4xx naming the field at fault, 5xx only for our bugs.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use citizen_core::ErrorCode;
use citizen_core::report::FieldError;
use serde::Serialize;

use crate::store::{DossierError, IdentityError, ReportError, StoreError, UploadError};

/// The JSON body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiErrorBody {
    pub code: ErrorCode,
    /// The request field (query parameter, header, JSON path) at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
    /// Every problem of an application's answers (`field` names the first), each with its
    /// code and limits, so a client can say them in its own language.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<citizen_core::form::FieldProblem>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    #[error("{field}: {message}")]
    Conflict { field: String, message: String },
    /// Well-formed, but its content cannot be used (a file that is not a photo …).
    #[error("{field}: {message}")]
    Unprocessable { field: String, message: String },
    #[error("{field}: {message}")]
    TooLarge { field: String, message: String },
    #[error("{field}: {message}")]
    Unauthorized { field: String, message: String },
    /// Answers of an application that its form refuses.
    #[error("{} answers refused", .0.len())]
    InvalidAnswers(Vec<citizen_core::form::FieldProblem>),
    #[error("{field}: {message}")]
    TooManyRequests {
        field: String,
        message: String,
        retry_after_s: u64,
    },
    #[error("not found")]
    NotFound,
    #[error("internal error: {0}")]
    Internal(#[from] StoreError),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn too_large(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::TooLarge {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn unauthorized(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::Unauthorized {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidField { .. } | ApiError::InvalidAnswers(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn body(self) -> ApiErrorBody {
        let named = |code, field: String, message: String| ApiErrorBody {
            code,
            message: format!("{field}: {message}"),
            field: Some(field),
            problems: Vec::new(),
        };
        match self {
            ApiError::InvalidField { field, message } => {
                named(ErrorCode::InvalidInput, field, message)
            }
            ApiError::Conflict { field, message } => named(ErrorCode::Conflict, field, message),
            ApiError::Unprocessable { field, message } => {
                named(ErrorCode::InvalidInput, field, message)
            }
            ApiError::TooLarge { field, message } => named(ErrorCode::TooLarge, field, message),
            ApiError::Unauthorized { field, message } => {
                named(ErrorCode::Unauthorized, field, message)
            }
            ApiError::InvalidAnswers(problems) => {
                let english = citizen_core::i18n::Translator::new(citizen_core::Lang::En);
                let message = problems
                    .iter()
                    .map(|p| format!("answers.{}: {}", p.field, p.problem.message(&english)))
                    .collect::<Vec<_>>()
                    .join("; ");
                ApiErrorBody {
                    code: ErrorCode::InvalidInput,
                    field: problems.first().map(|p| format!("answers.{}", p.field)),
                    message,
                    problems,
                }
            }
            ApiError::TooManyRequests { field, message, .. } => {
                named(ErrorCode::RateLimited, field, message)
            }
            ApiError::NotFound => ApiErrorBody {
                code: ErrorCode::NotFound,
                field: None,
                message: "not found".into(),
                problems: Vec::new(),
            },
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "request failed");
                ApiErrorBody {
                    code: ErrorCode::Internal,
                    field: None,
                    message: "internal error".into(),
                    problems: Vec::new(),
                }
            }
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::InvalidField {
            field: e.field,
            message: e.message,
        }
    }
}

impl From<UploadError> for ApiError {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::Unknown(_) => ApiError::NotFound,
            UploadError::Conflict(f) => ApiError::Conflict {
                field: f.field,
                message: f.message,
            },
            UploadError::Invalid(f) => f.into(),
            UploadError::Unprocessable(f) => ApiError::Unprocessable {
                field: f.field,
                message: f.message,
            },
            UploadError::Store(e) => ApiError::Internal(e),
        }
    }
}

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::NotFound => ApiError::NotFound,
            ReportError::Conflict(f) => ApiError::Conflict {
                field: f.field,
                message: f.message,
            },
            ReportError::Invalid(f) => f.into(),
            ReportError::Store(e) => ApiError::Internal(e),
        }
    }
}

impl From<DossierError> for ApiError {
    fn from(e: DossierError) -> Self {
        match e {
            DossierError::NotFound => ApiError::NotFound,
            DossierError::Conflict(f) => ApiError::Conflict {
                field: f.field,
                message: f.message,
            },
            DossierError::Invalid(f) => f.into(),
            DossierError::Store(e) => ApiError::Internal(e),
        }
    }
}

impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::RateLimited { retry_after_ms } => ApiError::TooManyRequests {
                field: "phone".into(),
                message: IdentityError::RateLimited { retry_after_ms }.to_string(),
                retry_after_s: u64::try_from(retry_after_ms / 1000 + 1).unwrap_or(1),
            },
            // Wrong, expired, used or burnt: one answer, so nothing is learnt from it.
            IdentityError::WrongCode => ApiError::unauthorized("code", e.to_string()),
            IdentityError::Store(e) => ApiError::Internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let database = matches!(
            self,
            ApiError::Internal(StoreError::Database(_) | StoreError::SharedDatabase(_))
        );
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after_s, .. } => Some(*retry_after_s),
            _ => None,
        };
        let mut response = (status, Json(self.body())).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        if database {
            response
                .extensions_mut()
                .insert(crate::metrics::DatabaseFailed);
        }
        response
    }
}
