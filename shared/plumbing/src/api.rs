//! The client API's plumbing, shared by every chapter's router: how a request's key and
//! body are read, what a request for no route gets, what a panicking handler answers, and
//! the signal that stops a node.
//!
//! Each chapter keeps its own `ApiError` (chapter 1 teaches it; later chapters add
//! variants) and tells this module how to make the few errors it produces by implementing
//! [`ErrorKinds`]. The chapter's extractors are then a few lines each:
//!
//! ```ignore
//! impl<S: Send + Sync> FromRequestParts<S> for Key {
//!     type Rejection = ApiError;
//!     async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
//!         let key = plumbing::api::path_key(parts, state).await?;
//!         validate_key(&key)?; // chapter 1's exercise 1.3
//!         Ok(Key(key))
//!     }
//! }
//! ```

use std::any::Any;

use axum::Json;
use axum::extract::{FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::json_body::{self, BodyError};
use crate::unfinished::{is_unfinished, payload_message};

/// The errors the plumbing produces, as a chapter's `ApiError` spells them.
pub trait ErrorKinds: Sized {
    /// `400 invalid_key`.
    fn invalid_key(message: String) -> Self;
    /// `415 invalid_body`: the body is not declared as JSON.
    fn unsupported_media_type(message: String) -> Self;
    /// `400 invalid_body`.
    fn invalid_body(message: String) -> Self;
    /// `413 too_large`.
    fn too_large(message: String) -> Self;
    /// `404 not_found`: no route matches.
    fn no_route(method: String, path: String) -> Self;
    /// `405 method_not_allowed`.
    fn method_not_allowed(method: String, path: String) -> Self;
    /// `500 not_implemented`: a handler reached an unfinished exercise.
    fn not_implemented(message: String) -> Self;
    /// `500 internal`: a handler panicked for another reason.
    fn internal(message: String) -> Self;
    /// The JSON error body (`{"error": code, "message": ...}`).
    fn json(&self) -> serde_json::Value;
}

/// The `{key}` path segment, percent-decoded (the chapter validates it).
pub async fn path_key<S: Send + Sync, E: ErrorKinds>(
    parts: &mut Parts,
    state: &S,
) -> Result<String, E> {
    let Path(key) = Path::<String>::from_request_parts(parts, state)
        .await
        .map_err(|e| E::invalid_key(format!("the key is not valid percent-encoded UTF-8: {e}")))?;
    Ok(key)
}

/// A body read strictly as a JSON object of type `T` (see [`json_body::object`]), every
/// refusal an error that says what is wrong: `expected` describes the route's body,
/// `too_large` its limit.
pub async fn json_object<T, S, E>(
    request: Request,
    state: &S,
    expected: &str,
    too_large: &str,
) -> Result<T, E>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
    E: ErrorKinds,
{
    match json_body::object::<T, S>(request, state).await {
        Ok(value) => Ok(value),
        Err(BodyError::NotJson) => Err(E::unsupported_media_type(BodyError::NotJson.to_string())),
        Err(BodyError::Data(e)) => Err(E::invalid_body(format!(
            "the body is JSON but not {expected}: {e}"
        ))),
        Err(BodyError::TooLarge) => Err(E::too_large(too_large.to_string())),
        Err(other) => Err(E::invalid_body(other.to_string())),
    }
}

/// The handler for `/kv` and `/kv/`: a key is required.
pub async fn empty_key<E: ErrorKinds>() -> E {
    E::invalid_key("the key is empty; use /kv/{key} with a key of 1 to 256 bytes".into())
}

/// The router's fallback: no route matches.
pub async fn no_route<E: ErrorKinds>(method: Method, uri: Uri) -> E {
    E::no_route(method.to_string(), uri.path().to_string())
}

/// The router's fallback for a route that exists with another method.
pub async fn method_not_allowed<E: ErrorKinds>(method: Method, uri: Uri) -> E {
    E::method_not_allowed(method.to_string(), uri.path().to_string())
}

/// The response when a handler panics. An unfinished exercise panics with a message
/// naming itself and its file: pass that on, so the test (and curl) shows it. The status
/// is set here, not by the chapter's error: mapping statuses may be the unfinished exercise.
pub fn panic_response<E: ErrorKinds>(payload: Box<dyn Any + Send + 'static>) -> Response {
    let message = payload_message(payload.as_ref());
    let message = message
        .trim_start_matches("not yet implemented: ")
        .to_string();
    let error = if is_unfinished(&message) {
        E::not_implemented(message)
    } else {
        E::internal(format!(
            "the server hit a bug (a handler panicked: {message}); see its log"
        ))
    };
    (StatusCode::INTERNAL_SERVER_ERROR, Json(error.json())).into_response()
}

/// Resolves on Ctrl-C or SIGTERM: what a node's binary serves until.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Implements [`ErrorKinds`] for a chapter's `ApiError`, whose variants are named as
/// chapter 1 names them (`InvalidKey(String)`, `NoRoute { method, path }`, ...) and whose
/// `body()` is its JSON error body: `plumbing::error_kinds!(ApiError);`.
#[macro_export]
macro_rules! error_kinds {
    ($error:ty) => {
        impl $crate::api::ErrorKinds for $error {
            fn invalid_key(message: String) -> Self {
                Self::InvalidKey(message)
            }
            fn unsupported_media_type(message: String) -> Self {
                Self::UnsupportedMediaType(message)
            }
            fn invalid_body(message: String) -> Self {
                Self::InvalidBody(message)
            }
            fn too_large(message: String) -> Self {
                Self::TooLarge(message)
            }
            fn no_route(method: String, path: String) -> Self {
                Self::NoRoute { method, path }
            }
            fn method_not_allowed(method: String, path: String) -> Self {
                Self::MethodNotAllowed { method, path }
            }
            fn not_implemented(message: String) -> Self {
                Self::NotImplemented(message)
            }
            fn internal(message: String) -> Self {
                Self::Internal(message)
            }
            fn json(&self) -> serde_json::Value {
                serde_json::to_value(self.body()).unwrap_or_default()
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest `ErrorKinds`: a code and a message.
    #[derive(Debug)]
    struct Error(&'static str, String);

    impl ErrorKinds for Error {
        fn invalid_key(m: String) -> Self {
            Error("invalid_key", m)
        }
        fn unsupported_media_type(m: String) -> Self {
            Error("invalid_body", m)
        }
        fn invalid_body(m: String) -> Self {
            Error("invalid_body", m)
        }
        fn too_large(m: String) -> Self {
            Error("too_large", m)
        }
        fn no_route(method: String, path: String) -> Self {
            Error("not_found", format!("{method} {path}"))
        }
        fn method_not_allowed(method: String, path: String) -> Self {
            Error("method_not_allowed", format!("{method} {path}"))
        }
        fn not_implemented(m: String) -> Self {
            Error("not_implemented", m)
        }
        fn internal(m: String) -> Self {
            Error("internal", m)
        }
        fn json(&self) -> serde_json::Value {
            serde_json::json!({"error": self.0, "message": self.1})
        }
    }

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_default()
    }

    #[tokio::test]
    async fn an_unfinished_exercise_in_a_handler_answers_with_its_name() {
        let todo = "not yet implemented: exercise 1.4 is not implemented yet: edit exercises/chapter1/error.rs: x";
        let response = panic_response::<Error>(Box::new(todo));
        assert_eq!(response.status(), 500);
        let body = body_of(response).await;
        assert_eq!(body["error"], "not_implemented");
        assert_eq!(
            body["message"],
            "exercise 1.4 is not implemented yet: edit exercises/chapter1/error.rs: x",
            "the test that gets this response shows the exercise and the file to edit"
        );
    }

    #[tokio::test]
    async fn any_other_panic_is_an_internal_error_that_quotes_it() {
        let response = panic_response::<Error>(Box::new(String::from("index out of bounds")));
        assert_eq!(response.status(), 500);
        let body = body_of(response).await;
        assert_eq!(body["error"], "internal");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("index out of bounds")),
            "{body}"
        );
    }
}
