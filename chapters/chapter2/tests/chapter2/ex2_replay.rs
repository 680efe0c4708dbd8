//! Exercise 2.2: replay, and telling a torn tail from corruption.
//! Book: chapter 2, "Exercise 2.2: recovery".

use chapter2::record::{Record, encode};
use chapter2::wal::{Corruption, Replayed};

use crate::common::STUCK;

/// Your replay, on a thread of its own: a loop that stops advancing through the log
/// fails the test instead of hanging it.
fn replay(bytes: &[u8]) -> Result<Replayed, Corruption> {
    let bytes = bytes.to_vec();
    harness::eventually::finishes(STUCK, "replay", move || chapter2::wal::replay(&bytes))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn record(version: u64) -> Record {
    Record {
        version,
        key: format!("k{version}"),
        value: Some("v".into()),
    }
}

/// A log of `n` one-record frames, and where each frame starts.
fn log_of(n: u64) -> (Vec<u8>, Vec<usize>) {
    let (mut bytes, mut starts) = (Vec::new(), Vec::new());
    for version in 1..=n {
        starts.push(bytes.len());
        bytes.extend(encode(&[record(version)]).expect("a record encodes"));
    }
    (bytes, starts)
}

#[test]
fn ex2_a_clean_log_replays_every_record() {
    let (bytes, _) = log_of(10);
    let replayed = replay(&bytes).expect("a clean log replays");
    assert_eq!(
        replayed
            .records
            .iter()
            .map(|r| r.version)
            .collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>(),
        "replay returns every record of a clean log, in log order"
    );
    assert_eq!(
        (replayed.valid_len, replayed.torn_at),
        (bytes.len(), None),
        "a clean log is valid to its last byte and has no torn tail"
    );
    assert_eq!(
        replay(&[]).map(|r| r.records.len()),
        Ok(0),
        "an empty log is fine"
    );
}

#[test]
fn ex2_a_torn_tail_is_cut_off_at_the_last_whole_record() {
    let (bytes, starts) = log_of(5);
    let last = starts[4];
    for cut in [last + 1, last + 7, bytes.len() - 1] {
        let replayed = replay(&bytes[..cut]).expect("a torn tail is not an error");
        assert_eq!(
            replayed.records.len(),
            4,
            "cut at {cut}: the four whole records"
        );
        assert_eq!(
            (replayed.valid_len, replayed.torn_at),
            (last, Some(last)),
            "cut at {cut}: the torn tail is reported where the last frame starts, and the log \
             is valid only up to there, so recovery cuts the torn bytes off before the next \
             write is appended"
        );
    }
    let mut zeroed = bytes.clone();
    zeroed[last..].fill(0);
    assert_eq!(
        replay(&zeroed).map(|r| r.torn_at),
        Ok(Some(last)),
        "a tail of zeros is torn too: a crash can keep a frame's length and lose its bytes, so \
         a last frame that is whole but damaged is a torn write, not only one that is cut short"
    );
    let mut damaged_last = bytes.clone();
    damaged_last[bytes.len() - 2] ^= 0xff;
    assert_eq!(
        replay(&damaged_last).map(|r| r.torn_at),
        Ok(Some(last)),
        "damage in the last record is a torn write"
    );
}

#[test]
fn ex2_damage_inside_the_last_batch_is_torn_even_with_intact_bytes_after_it() {
    // What a crash can leave when the disk writes the unsynced blocks in any order: the
    // last batch's frame with a hole in the middle and its end intact.
    let (mut bytes, _) = log_of(3);
    let last = bytes.len();
    bytes.extend(encode(&(4..12).map(record).collect::<Vec<_>>()).expect("encodes"));
    for hole in [last + 8, last + 40, (last + bytes.len()) / 2] {
        let mut damaged = bytes.clone();
        damaged[hole..hole + 16].fill(0);
        let replayed = replay(&damaged).expect("damage confined to the last frame is a crash");
        assert_eq!(
            (replayed.records.len(), replayed.torn_at),
            (3, Some(last)),
            "hole at {hole}: the whole last batch is dropped, nothing before it"
        );
    }
}

#[test]
fn ex2_damage_before_the_tail_is_corruption_with_its_offset() {
    let (bytes, starts) = log_of(5);
    let mut flipped = bytes.clone();
    flipped[starts[1] + 10] ^= 0x01;
    let error =
        replay(&flipped).expect_err("a flipped byte in record 2 of 5 must not be truncated away");
    assert_eq!(
        error.offset, starts[1],
        "the error says where the damaged record starts"
    );
}

#[test]
fn ex2_replay_ends_on_arbitrary_bytes() {
    // Random bytes, and valid logs with random damage: replay must answer (a log, or the
    // corruption it found), never panic, and never stop advancing through the bytes.
    let valid = log_of(19).0;
    harness::eventually::finishes(STUCK, "replaying 20,000 damaged logs", move || {
        let mut rng = fastrand::Rng::with_seed(2);
        for _ in 0..20_000 {
            let bytes: Vec<u8> = if rng.bool() {
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
            let _ = chapter2::wal::replay(&bytes);
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
}
