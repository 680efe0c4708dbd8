//! Carried from `chapters/chapter5/src/headers.rs` by `cargo xtask exercises`:
//! chapter 5's exactly-once headers. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs nothing of this chapter's own.
//!
//! The exactly-once headers: a write names itself with `x-client-id` and `x-request-id`,
//! and every retry repeats them, so the state machine applies it once.

use axum::http::HeaderMap;

use crate::api::{CLIENT_ID_HEADER, REQUEST_ID_HEADER, RequestId};
use crate::error::ApiError;

/// The request id of a write, from `x-client-id` and `x-request-id` (both or neither).
pub fn request_id(headers: &HeaderMap) -> Result<Option<RequestId>, ApiError> {
    let header = |name: &str| -> Result<Option<&str>, ApiError> {
        headers
            .get(name)
            .map(|v| {
                v.to_str()
                    .map_err(|_| ApiError::InvalidBody(format!("the {name} header is not text")))
            })
            .transpose()
    };
    match (header(CLIENT_ID_HEADER)?, header(REQUEST_ID_HEADER)?) {
        (None, None) => Ok(None),
        (Some(client), Some(seq)) => {
            if client.is_empty() || client.len() > 64 || client.chars().any(char::is_control) {
                return Err(ApiError::InvalidBody(format!(
                    "{CLIENT_ID_HEADER} must be 1 to 64 characters with no control characters"
                )));
            }
            let seq = seq.parse::<u64>().ok().filter(|&s| s > 0).ok_or_else(|| {
                ApiError::InvalidBody(format!(
                    "{REQUEST_ID_HEADER} must be a positive integer, got {seq:?}"
                ))
            })?;
            Ok(Some(RequestId {
                client: client.to_string(),
                seq,
            }))
        }
        _ => Err(ApiError::InvalidBody(format!(
            "send both {CLIENT_ID_HEADER} and {REQUEST_ID_HEADER}, or neither"
        ))),
    }
}
