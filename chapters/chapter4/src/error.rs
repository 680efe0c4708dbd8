//! The API's errors: one enum, one JSON shape, one status code each.
//!
//! As chapter 2 left it, plus what a cluster adds: `503 unavailable` also when an owner
//! is unreachable or a key is still moving, `504 timeout` when a forwarded request's
//! outcome is unknown, `409 conflict` for a membership change that cannot be made, and
//! `400 invalid_request` for a bad header. Handlers return `Result<_, ApiError>` and use `?`; the
//! [`IntoResponse`] impl turns every error into the same JSON body,
//! `{"error": "<code>", "message": "<text a person can act on>", ...}`, so a client
//! (or a student with curl) never has to guess what went wrong.

use crate::api::ErrorBody;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Everything a request can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// `GET` or `DELETE` of a key that does not exist.
    #[error("key {key:?} not found")]
    NotFound {
        /// The key that was asked for.
        key: String,
    },
    /// A membership request names a node that is not a member.
    #[error("node {0} is not a member of the cluster; GET /cluster lists the members")]
    UnknownNode(u64),
    /// No route matches the request's path.
    #[error(
        "no route for {method} {path}; the API is GET|PUT|DELETE /kv/{{key}}, GET /cluster, POST /cluster/join, POST /cluster/leave, GET /health, GET /status"
    )]
    NoRoute {
        /// The request's method.
        method: String,
        /// The request's path.
        path: String,
    },
    /// The route exists but not with this method.
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed {
        /// The request's method.
        method: String,
        /// The request's path.
        path: String,
    },
    /// The key is empty, too long or contains characters keys may not have.
    #[error("{0}")]
    InvalidKey(String),
    /// The body is not the JSON the route expects.
    #[error("{0}")]
    InvalidBody(String),
    /// The body is not declared as `application/json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is larger than the limit.
    #[error("{0}")]
    TooLarge(String),
    /// A compare-and-set expected another version.
    #[error("expected version {expected}, but the key is at version {current}")]
    VersionMismatch {
        /// What the request's `if_version` said.
        expected: u64,
        /// The key's version now (0 if absent).
        current: u64,
    },
    /// The request took longer than the server allows.
    #[error("the request did not complete within {0:?}")]
    Timeout(std::time::Duration),
    /// The request could not be served and nothing was written: the disk failed, the
    /// owner is unreachable, the key is still moving, this node is not in a cluster.
    #[error("{0}")]
    Unavailable(String),
    /// A forwarded request got no answer in time: it may or may not have taken effect.
    #[error("{0}")]
    Unknown(String),
    /// A membership change that cannot be made now (a conflicting or unfinished change).
    #[error("{0}")]
    Conflict(String),
    /// A request header is malformed.
    #[error("{0}")]
    InvalidRequest(String),
    /// A handler reached an exercise that is still a `todo!()`.
    #[error("{0}")]
    NotImplemented(String),
    /// A bug in the server (a handler panicked).
    #[error("{0}")]
    Internal(String),
}

// How the shared plumbing (extractors, fallbacks, panics) makes its errors.
plumbing::error_kinds!(ApiError);

impl ApiError {
    /// The machine-readable code in the JSON body's `"error"` field.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } | ApiError::NoRoute { .. } | ApiError::UnknownNode(_) => {
                "not_found"
            }
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::InvalidKey(_) => "invalid_key",
            ApiError::InvalidBody(_) | ApiError::UnsupportedMediaType(_) => "invalid_body",
            ApiError::TooLarge(_) => "too_large",
            ApiError::VersionMismatch { .. } => "version_mismatch",
            ApiError::Timeout(_) | ApiError::Unknown(_) => "timeout",
            ApiError::Conflict(_) => "conflict",
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::NotImplemented(_) => "not_implemented",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The HTTP status code that tells a client what kind of failure this is.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound { .. } | ApiError::NoRoute { .. } | ApiError::UnknownNode(_) => {
                StatusCode::NOT_FOUND
            }
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::InvalidKey(_) | ApiError::InvalidBody(_) | ApiError::InvalidRequest(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::VersionMismatch { .. } => StatusCode::CONFLICT,
            ApiError::Timeout(_) | ApiError::Unknown(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotImplemented(_) | ApiError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The JSON body sent for this error.
    pub fn body(&self) -> ErrorBody {
        let mut body = ErrorBody {
            error: self.code().to_string(),
            message: self.to_string(),
            current_version: None,
            key: None,
        };
        match self {
            ApiError::VersionMismatch { current, .. } => body.current_version = Some(*current),
            ApiError::NotFound { key } => body.key = Some(key.clone()),
            _ => {}
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(self.body())).into_response()
    }
}
