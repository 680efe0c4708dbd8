//! Exercise 2.1: a batch's frame: length, checksum, payload.
//! Book: chapter 2, "Exercise 2.1: framing a record".

use chapter2::record::{DecodeError, EncodeError, HEADER_BYTES, MAX_PAYLOAD_BYTES, Record, decode};

use crate::common::STUCK;

/// The frame of `records`, which must encode.
fn encode(records: &[Record]) -> Vec<u8> {
    chapter2::record::encode(records).expect("small records always encode")
}

fn record(version: u64) -> Record {
    Record {
        version,
        key: format!("key-{version}"),
        value: Some("value".repeat(version as usize % 5)),
    }
}

#[test]
fn ex1_a_batch_survives_the_round_trip() {
    let deleted = Record {
        version: 7,
        key: "gone".into(),
        value: None,
    };
    for batch in [
        vec![record(1)],
        vec![record(42), deleted, record(43)],
        (1..50).map(record).collect(),
    ] {
        let frame = encode(&batch);
        assert_eq!(
            decode(&frame),
            Ok((batch.clone(), frame.len())),
            "decode(encode(batch)) == batch, using the whole frame"
        );
    }
}

#[test]
fn ex1_a_batch_too_large_for_a_reader_is_an_error_not_a_frame() {
    let huge = Record {
        version: 1,
        key: "k".into(),
        value: Some("x".repeat(MAX_PAYLOAD_BYTES)),
    };
    assert!(
        matches!(
            chapter2::record::encode(&[huge]),
            Err(EncodeError::TooLarge(_))
        ),
        "a payload over MAX_PAYLOAD_BYTES is refused as TooLarge: no reader would accept its frame"
    );
}

#[test]
fn ex1_a_batch_of_exactly_the_reader_limit_is_a_frame_and_reads_back() {
    // The limit from its other side: a payload of exactly MAX_PAYLOAD_BYTES is allowed.
    let with_value = |value: String| Record {
        version: 1,
        key: "k".into(),
        value: Some(value),
    };
    let overhead = serde_json::to_vec(&[with_value(String::new())])
        .expect("a record serializes")
        .len();
    let largest = with_value("x".repeat(MAX_PAYLOAD_BYTES - overhead));
    let frame = chapter2::record::encode(std::slice::from_ref(&largest))
        .unwrap_or_else(|e| panic!("a payload of exactly {MAX_PAYLOAD_BYTES} bytes: {e}"));
    assert_eq!(
        frame.len(),
        HEADER_BYTES + MAX_PAYLOAD_BYTES,
        "a frame is the header plus the payload, so the largest is HEADER_BYTES + MAX_PAYLOAD_BYTES"
    );
    let (records, used) =
        decode(&frame).unwrap_or_else(|e| panic!("a frame at the limit must read back: {e}"));
    assert_eq!(
        used,
        frame.len(),
        "decode reports the whole frame as used, so the next frame starts right after it"
    );
    assert!(records == [largest], "the record reads back whole");
}

#[test]
fn ex1_the_frame_is_length_then_checksum_then_payload() {
    let frame = encode(&[record(3)]);
    let length = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
    let crc = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
    assert_eq!(
        length,
        frame.len() - HEADER_BYTES,
        "the length counts the payload only"
    );
    assert_eq!(
        crc,
        crc32fast_hash(&frame[HEADER_BYTES..]),
        "the checksum covers the payload"
    );
    let mut two = frame.clone();
    two.extend(encode(&[record(4)]));
    assert_eq!(
        decode(&two).map(|(r, n)| (r[0].version, n)),
        Ok((3, frame.len())),
        "decode stops at the frame's end"
    );
}

/// CRC-32 (IEEE), bit by bit: an independent check of the header.
fn crc32fast_hash(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn ex1_damage_is_detected_and_named() {
    let frame = encode(&[record(9), record(10)]);
    for cut in [0, 3, HEADER_BYTES, frame.len() - 1] {
        assert!(
            matches!(decode(&frame[..cut]), Err(DecodeError::Incomplete { .. })),
            "a frame cut at {cut} bytes is incomplete"
        );
    }
    for at in HEADER_BYTES..frame.len() {
        let mut flipped = frame.clone();
        flipped[at] ^= 0x01;
        assert!(
            matches!(decode(&flipped), Err(DecodeError::BadChecksum { .. })),
            "a flipped bit in the payload at byte {at} fails the checksum"
        );
    }
    let mut huge = frame.clone();
    huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(
        matches!(decode(&huge), Err(DecodeError::BadLength(_))),
        "an impossible length is refused before use"
    );
}

#[test]
fn ex1_the_decoder_never_panics_on_arbitrary_bytes() {
    // A property test: random bytes, and valid frames with random damage, must give a
    // value or an error, never a panic (or an allocation the length field asks for). On
    // a thread of its own, so a decoder that loops fails the test instead of hanging it.
    // (Replaying such bytes is exercise 2.2's: `ex2_replay_ends_on_arbitrary_bytes`.)
    let valid: Vec<u8> = (1..20).flat_map(|v| encode(&[record(v)])).collect();
    harness::eventually::finishes(STUCK, "decoding 20,000 inputs", move || {
        let mut rng = fastrand::Rng::with_seed(2);
        for case in 0..20_000 {
            let bytes: Vec<u8> = if case % 2 == 0 {
                (0..rng.usize(0..64)).map(|_| rng.u8(..)).collect()
            } else {
                let mut damaged = valid[..rng.usize(0..valid.len())].to_vec();
                for _ in 0..rng.usize(0..4) {
                    if !damaged.is_empty() {
                        let at = rng.usize(0..damaged.len());
                        damaged[at] = rng.u8(..);
                    }
                }
                damaged
            };
            if let Ok((_, used)) = decode(&bytes) {
                assert!(
                    used <= bytes.len(),
                    "case {case}: a decoded frame lies within the input"
                );
            }
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
}
