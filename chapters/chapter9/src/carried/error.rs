//! Carried from `chapters/chapter5/src/error.rs` by `cargo xtask exercises`:
//! chapter 5's API errors. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs nothing of this chapter's own.
//!
//! The API's errors: one enum, one JSON shape, one status code each.
//!
//! As chapter 3 left it, plus `409 stale_request` (a retried write older than the client's
//! last one). `421 not_leader` now covers reads too: every command goes through the
//! leader's log. Handlers return `Result<_, ApiError>` and use `?`; the
//! [`IntoResponse`] impl turns every error into the same JSON body,
//! `{"error": "<code>", "message": "<text a person can act on>", ...}`, so a client
//! (or a student with curl) never has to guess what went wrong.

use crate::api::ErrorBody;
use crate::node::{CommandError, Refused};
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
    /// No route matches the request's path.
    #[error(
        "no route for {method} {path}; the API is GET|PUT|DELETE /kv/{{key}}, GET /health, GET /status"
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
    /// The node cannot serve now (its disk failed, it lost its leadership mid-request).
    #[error("{0}")]
    Unavailable(String),
    /// A request reached a node that is not the leader.
    #[error("{}", match leader {
        Some(url) => format!("this node is not the leader; send requests to the leader at {url}"),
        None => "this node is not the leader and does not know one yet (an election may be under way); retry shortly".to_string(),
    })]
    NotLeader {
        /// The leader's address, if known.
        leader: Option<String>,
    },
    /// A command was not committed in time. It is in the leader's log and may still be
    /// committed later: its outcome is unknown.
    #[error("{0}")]
    NotReplicated(String),
    /// A retried write older than the client's last write: its answer is no longer kept.
    #[error("{0}")]
    StaleRequest(String),
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
            ApiError::NotFound { .. } | ApiError::NoRoute { .. } => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::InvalidKey(_) => "invalid_key",
            ApiError::InvalidBody(_) | ApiError::UnsupportedMediaType(_) => "invalid_body",
            ApiError::TooLarge(_) => "too_large",
            ApiError::VersionMismatch { .. } => "version_mismatch",
            ApiError::StaleRequest(_) => "stale_request",
            ApiError::Timeout(_) | ApiError::NotReplicated(_) => "timeout",
            ApiError::NotLeader { .. } => "not_leader",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::NotImplemented(_) => "not_implemented",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The HTTP status code that tells a client what kind of failure this is.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound { .. } | ApiError::NoRoute { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::InvalidKey(_) | ApiError::InvalidBody(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::VersionMismatch { .. } | ApiError::StaleRequest(_) => StatusCode::CONFLICT,
            ApiError::Timeout(_) | ApiError::NotReplicated(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::NotLeader { .. } => StatusCode::MISDIRECTED_REQUEST,
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
            leader: None,
        };
        match self {
            ApiError::VersionMismatch { current, .. } => body.current_version = Some(*current),
            ApiError::NotFound { key } => body.key = Some(key.clone()),
            ApiError::NotLeader { leader } => body.leader = Some(leader.clone()),
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

// What each of the node's failures means to a client.
impl From<CommandError> for ApiError {
    fn from(error: CommandError) -> Self {
        match error {
            CommandError::NotLeader { leader } => ApiError::NotLeader { leader },
            CommandError::LostLeadership => ApiError::Unavailable(error.to_string()),
            CommandError::Timeout(_) => ApiError::NotReplicated(error.to_string()),
            CommandError::Disk(_) | CommandError::ShuttingDown | CommandError::Overloaded => {
                ApiError::Unavailable(error.to_string())
            }
            CommandError::Fault(message) if plumbing::unfinished::is_unfinished(&message) => {
                ApiError::NotImplemented(message)
            }
            CommandError::Fault(message) => ApiError::Internal(format!(
                "this node's Raft core stopped: {message}; see its log"
            )),
        }
    }
}

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Invalid(reason) => ApiError::InvalidBody(reason),
            Refused::Overloaded | Refused::Stopped(_) => ApiError::Unavailable(refused.to_string()),
        }
    }
}
