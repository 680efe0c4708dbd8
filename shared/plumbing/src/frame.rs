//! The log's frame, as chapter 2 teaches it (exercise 2.1), for every later chapter's
//! log: a `u32` payload length, the payload's CRC32, then the payload (a JSON array of
//! the batch's items), all little-endian. A reader trusts a frame only when its length
//! is possible, all its bytes are there and its checksum matches.
//!
//! [`scan`] reads a whole file: frames in order until the first one that does not
//! decode. That one is a **torn tail** (a crash in the middle of the last write) if no
//! intact frame follows it, and the caller truncates it; if an intact frame does follow,
//! the damage is in the middle of the log and nothing after it can be trusted to be
//! complete, so [`scan`] refuses rather than silently lose acknowledged data.

use std::io;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The largest payload a reader accepts.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024 * 1024;

/// The frame of a batch: length, CRC32 of the payload, JSON payload. An encoding failure
/// is an error: nothing is written then, never an empty frame.
pub fn encode<T: Serialize>(items: &[T]) -> io::Result<Vec<u8>> {
    let payload = serde_json::to_vec(items).map_err(io::Error::other)?;
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(io::Error::other(format!(
            "a frame of {} bytes is larger than a reader accepts",
            payload.len()
        )));
    }
    let mut frame = Vec::with_capacity(8 + payload.len());
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    frame.extend_from_slice(&payload);
    Ok(frame)
}

/// The batch in the frame at the start of `bytes` and the frame's length, or why there
/// is none.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<(Vec<T>, usize), String> {
    let header = bytes.get(..8).ok_or("incomplete header")?;
    let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let expected = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if length > MAX_PAYLOAD_BYTES {
        return Err(format!("impossible length {length}"));
    }
    let payload = bytes.get(8..8 + length).ok_or("incomplete payload")?;
    if crc32fast::hash(payload) != expected {
        return Err("checksum mismatch".into());
    }
    let items =
        serde_json::from_slice(payload).map_err(|e| format!("not a batch of entries: {e}"))?;
    Ok((items, 8 + length))
}

/// A log file read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned<T> {
    /// Every intact frame's batch, in file order.
    pub batches: Vec<Vec<T>>,
    /// Where a torn tail starts and why it does not decode; truncate the file there.
    pub torn: Option<(usize, String)>,
}

/// Damage before the end of a log: a frame that does not decode, followed by one that
/// does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged {
    /// Where the damaged frame starts.
    pub offset: usize,
    /// Why it does not decode.
    pub reason: String,
}

/// Reads every frame of a log's bytes (see the module's documentation).
pub fn scan<T: DeserializeOwned>(bytes: &[u8]) -> Result<Scanned<T>, Damaged> {
    let mut batches = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        match decode::<T>(&bytes[offset..]) {
            Ok((batch, length)) => {
                offset += length;
                batches.push(batch);
            }
            Err(reason) => {
                if (offset + 1..bytes.len()).any(|at| decode::<T>(&bytes[at..]).is_ok()) {
                    return Err(Damaged { offset, reason });
                }
                return Ok(Scanned {
                    batches,
                    torn: Some((offset, reason)),
                });
            }
        }
    }
    Ok(Scanned {
        batches,
        torn: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(batches: &[&[u32]]) -> Vec<u8> {
        batches
            .iter()
            .flat_map(|b| encode(b).expect("encodes"))
            .collect()
    }

    #[test]
    fn frames_read_back_in_order() {
        let bytes = log(&[&[1, 2], &[3]]);
        let scanned = scan::<u32>(&bytes).expect("intact");
        assert_eq!(scanned.batches, vec![vec![1, 2], vec![3]]);
        assert_eq!(scanned.torn, None);
    }

    #[test]
    fn a_torn_last_frame_is_a_tail_to_truncate_at_its_start() {
        let mut bytes = log(&[&[1], &[2, 3]]);
        let first = encode(&[1u32]).expect("encodes").len();
        for cut in first + 1..bytes.len() {
            let scanned = scan::<u32>(&bytes[..cut]).expect("a torn tail is not damage");
            assert_eq!(scanned.batches, vec![vec![1]], "cut at {cut}");
            assert_eq!(scanned.torn.map(|t| t.0), Some(first), "cut at {cut}");
        }
        let last = bytes.len() - 1;
        bytes[last] ^= 0xFF;
        let scanned = scan::<u32>(&bytes).expect("a damaged last frame is a torn tail");
        assert_eq!(
            scanned.torn.map(|t| t.1),
            Some("checksum mismatch".to_string())
        );
    }

    #[test]
    fn damage_followed_by_an_intact_frame_is_refused() {
        let mut bytes = log(&[&[1], &[2], &[3]]);
        let first = encode(&[1u32]).expect("encodes").len();
        bytes[first + 9] ^= 0xFF; // inside the second frame's payload
        assert_eq!(
            scan::<u32>(&bytes),
            Err(Damaged {
                offset: first,
                reason: "checksum mismatch".into()
            })
        );
    }

    #[test]
    fn an_impossible_length_is_refused_before_reading() {
        let mut bytes = (MAX_PAYLOAD_BYTES as u32 + 1).to_le_bytes().to_vec();
        bytes.extend_from_slice(&[0; 12]);
        assert!(
            decode::<u32>(&bytes)
                .expect_err("a length past the limit")
                .contains("impossible length")
        );
    }
}
