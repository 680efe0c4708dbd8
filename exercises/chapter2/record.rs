// This file is yours to edit: replace each `todo!()` with your code, then run the
// chapter's tests. It was generated from solutions/chapter2/record.rs by `cargo xtask exercises`;
// running that again overwrites your work, so do it only to start over.
//! One write-ahead log record, and how it is laid out on disk.
//!
//! Exercise 2.1 lives here. A record is framed so that a reader can tell a whole,
//! intact record from anything else it might find after a crash:
//!
//! ```text
//! +----------------+----------------+---------------------------+
//! | length: u32 LE | crc32: u32 LE  | payload: `length` bytes   |
//! +----------------+----------------+---------------------------+
//!                    (of the payload)  (the record as JSON)
//! ```
//!
//! The length says where the record ends; the checksum says whether the bytes in
//! between are the ones that were written. A torn write (only part of the record
//! reached the disk) shows up as a frame that runs past the end of the file or whose
//! checksum does not match.

// The stubs leave some parameters, imports and helpers unused until you write the code;
// delete this line once every exercise in the file is done.
#![allow(unused_variables, unused_imports, dead_code)]

use serde::{Deserialize, Serialize};

/// One write: a put (`value: Some`) or a delete (`value: None`), with its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The write's version: its position in the log (1, 2, 3, ...).
    pub version: u64,
    /// The key written.
    pub key: String,
    /// The new value, or `None` for a delete.
    pub value: Option<String>,
}

/// Bytes before the payload: length and checksum.
pub const HEADER_BYTES: usize = 8;

/// The largest payload a reader accepts. Anything larger is corruption: no valid record
/// (a 256-byte key and a 1 MiB value, escaped) comes close.
pub const MAX_PAYLOAD_BYTES: usize = 8 * 1024 * 1024;

/// Why bytes are not a valid record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes end before the frame does (a torn write, or the end of the log).
    #[error("the record is incomplete: {needed} bytes needed, {available} available")]
    Incomplete {
        /// Bytes the frame needs.
        needed: usize,
        /// Bytes there are.
        available: usize,
    },
    /// The length field is impossible.
    #[error("the length field says {0} bytes, more than any record can have")]
    BadLength(usize),
    /// The payload does not match its checksum.
    #[error(
        "checksum mismatch: the header says {expected:08x}, the payload hashes to {actual:08x}"
    )]
    BadChecksum {
        /// The checksum in the header.
        expected: u32,
        /// The checksum of the payload read.
        actual: u32,
    },
    /// The checksum matches but the payload is not a record (a bug, not a crash).
    #[error("the payload is not a record: {0}")]
    BadPayload(String),
}

// ANCHOR: encode
/// The record's frame: length, checksum, payload.
pub fn encode(record: &Record) -> Vec<u8> {
    // EXERCISE 2.1: frame a record: length, CRC32 of the payload, JSON payload
    // HINT: `serde_json::to_vec(record)` cannot fail for this type; `u32::to_le_bytes` writes the header.
    // HINT: `crc32fast::hash(&payload)` is the checksum. Length and checksum cover the payload only.
    todo!(
        "exercise 2.1 is not implemented yet: edit exercises/chapter2/record.rs: frame a record: length, CRC32 of the payload, JSON payload (book: chapter 2, exercise 1)"
    )
}
// ANCHOR_END: encode

// ANCHOR: decode
/// Reads the record at the start of `bytes`; returns it and the frame's length.
/// Never panics, whatever the bytes.
pub fn decode(bytes: &[u8]) -> Result<(Record, usize), DecodeError> {
    // EXERCISE 2.1: read one frame back, refusing anything incomplete, oversized or corrupt
    // HINT: Check lengths before slicing: `bytes.get(a..b)` returns `None` instead of panicking.
    // HINT: Check the length field against MAX_PAYLOAD_BYTES before trusting it.
    todo!(
        "exercise 2.1 is not implemented yet: edit exercises/chapter2/record.rs: read one frame back, refusing anything incomplete, oversized or corrupt (book: chapter 2, exercise 1)"
    )
}
// ANCHOR_END: decode
