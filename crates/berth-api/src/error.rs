//! The API's error: an HTTP status and Docker's one-line message, sent as `{"message": "…"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Result alias for API handlers and the daemon.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failed request or daemon operation.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub status: StatusCode,
    pub message: String,
}

impl Error {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Error {
            status,
            message: message.into(),
        }
    }

    /// 400: the request is malformed or names something invalid.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Error::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::new(StatusCode::NOT_FOUND, message)
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Error::new(StatusCode::CONFLICT, message)
    }

    /// 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl From<berth_engine::Error> for Error {
    fn from(e: berth_engine::Error) -> Self {
        let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Error::new(status, e.to_string())
    }
}

impl From<berth_image::Error> for Error {
    fn from(e: berth_image::Error) -> Self {
        berth_engine::Error::from(e).into()
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "message": self.message });
        (self.status, axum::Json(body)).into_response()
    }
}
