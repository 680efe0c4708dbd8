//! Write-ahead log records, and how they are laid out on disk.
//!
//! Exercise 2.1 lives here. The records of one batch (everything the committer makes
//! durable with one fsync) are framed together, so that a reader can tell a whole,
//! intact batch from anything else it might find after a crash:
//!
//! ```text
//! +----------------+----------------+-------------------------------------+
//! | length: u32 LE | crc32: u32 LE  | payload: `length` bytes             |
//! +----------------+----------------+-------------------------------------+
//!                    (of the payload)  (the batch's records, a JSON array)
//! ```
//!
//! The length says where the frame ends; the checksum says whether the bytes in
//! between are the ones that were written. A crash can damage only what was not synced
//! yet, and the committer syncs each frame before it writes the next: so only the last
//! frame can be damaged by a crash, however the disk reordered its blocks. Damage in a
//! frame *followed by an intact one* is therefore not a crash (see `wal.rs`).

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

/// The largest payload a frame may have; a reader takes anything larger for corruption.
/// The committer keeps a batch's keys and values under [`crate::wal::MAX_BATCH_BYTES`],
/// so even escaped into JSON (6 bytes per byte at worst) a batch fits.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024 * 1024;

/// Why records could not be framed (nothing is written then: never an empty frame).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The records do not serialize.
    #[error("the records do not serialize: {0}")]
    Serialize(String),
    /// The payload would be larger than a reader accepts.
    #[error("a frame of {0} bytes is larger than a reader accepts ({MAX_PAYLOAD_BYTES})")]
    TooLarge(usize),
}

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
    /// The checksum matches but the payload is not a batch of records (a bug, not a crash).
    #[error("the payload is not a batch of records: {0}")]
    BadPayload(String),
}

// ANCHOR: encode
/// The frame of a batch of records: length, checksum, payload.
pub fn encode(records: &[Record]) -> Result<Vec<u8>, EncodeError> {
    // EXERCISE 2.1: frame a batch: length, CRC32 of the payload, JSON payload
    // HINT: What must a reader know before it can trust the bytes that follow?
    let payload = serde_json::to_vec(records).map_err(|e| EncodeError::Serialize(e.to_string()))?;
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(EncodeError::TooLarge(payload.len()));
    }
    let mut frame = Vec::with_capacity(HEADER_BYTES + payload.len());
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    frame.extend_from_slice(&payload);
    Ok(frame)
    // END EXERCISE 2.1
}
// ANCHOR_END: encode

// ANCHOR: decode
/// Reads the frame at the start of `bytes`; returns its records and the frame's length.
/// Never panics, whatever the bytes.
pub fn decode(bytes: &[u8]) -> Result<(Vec<Record>, usize), DecodeError> {
    // EXERCISE 2.1: read one frame back, refusing anything incomplete, oversized or corrupt
    // HINT: The input may be anything: a torn write, zeros, random bytes. Nothing here may panic.
    let header = bytes.get(..HEADER_BYTES).ok_or(DecodeError::Incomplete {
        needed: HEADER_BYTES,
        available: bytes.len(),
    })?;
    let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let expected = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if length > MAX_PAYLOAD_BYTES {
        return Err(DecodeError::BadLength(length));
    }
    let end = HEADER_BYTES + length;
    let payload = bytes
        .get(HEADER_BYTES..end)
        .ok_or(DecodeError::Incomplete {
            needed: end,
            available: bytes.len(),
        })?;
    let actual = crc32fast::hash(payload);
    if actual != expected {
        return Err(DecodeError::BadChecksum { expected, actual });
    }
    let records =
        serde_json::from_slice(payload).map_err(|e| DecodeError::BadPayload(e.to_string()))?;
    Ok((records, end))
    // END EXERCISE 2.1
}
// ANCHOR_END: decode
