//! Carried from `chapters/chapter1/src/extract.rs` by `cargo xtask exercises`:
//! chapter 1's request extractors. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs nothing of this chapter's own.
//!
//! The extractors every handler reads a request with: the key from the path, checked
//! by chapter 1's rules, and a JSON body, read strictly. Each refusal is an [`ApiError`]
//! that says what is wrong, so a bad request never reaches a handler.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use plumbing::json_body::Shape;

use crate::error::ApiError;
use crate::validate::{MAX_BODY_BYTES, validate_key};

/// The `{key}` path segment, percent-decoded and validated.
#[derive(Debug)]
pub struct Key(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Key {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let key = plumbing::api::path_key::<S, ApiError>(parts, state).await?;
        validate_key(&key)?;
        Ok(Key(key))
    }
}

/// A JSON body whose every rejection is an [`ApiError`] that says what is wrong.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned + Shape,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        plumbing::api::json_object(
            request,
            state,
            &format!("the expected {}", T::SHAPE),
            &format!(
                "the body is larger than this route's limit (1 MiB, {MAX_BODY_BYTES} bytes, for a client's request)"
            ),
        )
        .await
        .map(JsonBody)
    }
}
