//! Carried from `solutions/chapter1/validate.rs` by `cargo xtask exercises`:
//! chapter 1's key rules, exercise 1.3, finished. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs nothing of this chapter's own.
//!
//! What the server accepts: the rules for keys, checked before anything else runs.
//!
//! Validation is the first line of a server's defence: a key
//! that is empty, huge or full of control characters would still "work" in a
//! `HashMap`, but it would break logs, URLs and, from chapter 2 on, the files the
//! store writes. Rejecting it at the door, with a message that says what to fix,
//! is cheaper than coping with it everywhere else.

use crate::error::ApiError;

/// The longest key, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 256;

/// The largest request body, in bytes (1 MiB). Values must fit in it as a JSON string.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Accepts a key of 1 to [`MAX_KEY_BYTES`] bytes with no control characters.
pub fn validate_key(key: &str) -> Result<(), ApiError> {
    if key.is_empty() {
        return Err(ApiError::InvalidKey(
            "the key is empty; keys are 1 to 256 bytes".into(),
        ));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(ApiError::InvalidKey(format!(
            "the key is {} bytes long; keys are at most {MAX_KEY_BYTES} bytes",
            key.len()
        )));
    }
    if let Some((at, c)) = key.char_indices().find(|(_, c)| c.is_control()) {
        return Err(ApiError::InvalidKey(format!(
            "the key has a control character ({:?}) at byte {at}; keys may not contain control characters",
            c
        )));
    }
    Ok(())
}
