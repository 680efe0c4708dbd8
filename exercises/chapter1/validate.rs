// This file is yours to edit: replace each `todo!()` with your code, then run the
// chapter's tests. It was generated from solutions/chapter1/validate.rs by `cargo xtask exercises`;
// running that again overwrites your work, so do it only to start over.
//! What the server accepts: the rules for keys, checked before anything else runs.
//!
//! Exercise 1.3 lives here. Validation is the first line of a server's defence: a key
//! that is empty, huge or full of control characters would still "work" in a
//! `HashMap`, but it would break logs, URLs and, from chapter 2 on, the files the
//! store writes. Rejecting it at the door, with a message that says what to fix,
//! is cheaper than coping with it everywhere else.

// The stubs leave some parameters, imports and helpers unused until you write the code;
// delete this line once every exercise in the file is done.
#![allow(unused_variables, unused_imports, dead_code)]

use crate::error::ApiError;

/// The longest key, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 256;

/// The largest request body, in bytes (1 MiB). Values must fit in it as a JSON string.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

// ANCHOR: validate_key
/// Accepts a key of 1 to [`MAX_KEY_BYTES`] bytes with no control characters.
pub fn validate_key(key: &str) -> Result<(), ApiError> {
    // EXERCISE 1.3: reject empty keys, keys over 256 bytes and keys with control characters
    // HINT: A good message says what is wrong and where; the limit counts bytes.
    todo!(
        "exercise 1.3 is not implemented yet: edit exercises/chapter1/validate.rs: reject empty keys, keys over 256 bytes and keys with control characters (book: chapter 1, exercise 3)"
    )
}
// ANCHOR_END: validate_key
