// This file is yours to edit: replace each `todo!()` with your code, then run the
// chapter's tests. It was generated from solutions/chapter1/error.rs by `cargo xtask exercises`;
// running that again overwrites your work, so do it only to start over.
//! The API's errors: one enum, one JSON shape, one status code each.
//!
//! Exercise 1.4 lives here. Handlers return `Result<_, ApiError>` and use `?`; the
//! [`IntoResponse`] impl turns every error into the same JSON body,
//! `{"error": "<code>", "message": "<text a person can act on>", ...}`, so a client
//! (or a student with curl) never has to guess what went wrong.

// The stubs leave some parameters, imports and helpers unused until you write the code;
// delete this line once every exercise in the file is done.
#![allow(unused_variables, unused_imports, dead_code)]

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
            ApiError::Timeout(_) => "timeout",
            ApiError::NotImplemented(_) => "not_implemented",
            ApiError::Internal(_) => "internal",
        }
    }

    // ANCHOR: status
    /// The HTTP status code that tells a client what kind of failure this is.
    pub fn status(&self) -> StatusCode {
        // EXERCISE 1.4: map each error to its HTTP status code
        // HINT: 4xx: the request is wrong, do not repeat it as is; 5xx: the server failed.
        todo!(
            "exercise 1.4 is not implemented yet: edit exercises/chapter1/error.rs: map each error to its HTTP status code (book: chapter 1, exercise 4)"
        )
    }
    // ANCHOR_END: status

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
