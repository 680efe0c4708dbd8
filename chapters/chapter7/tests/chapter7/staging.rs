//! A shard too big for one log entry moves in pieces: `Stage` entries, then the
//! `Install` of the last piece: the shard's split (given, in `staging.rs`); what a group
//! keeps of the pieces is exercise 7.9's (`ex9_pieces.rs`).

use chapter7::shard::{Answer, ShardData};
use chapter7::staging::{merge, split};

use crate::common::key_in;

/// Shard `shard` with `n` keys of 1 KiB and one client's answer.
pub fn big_shard(shard: usize, n: usize) -> ShardData {
    let mut data = ShardData::default();
    for i in 0..n {
        let key = format!("{}-{i}", key_in(shard));
        data.kv.insert(key, ("x".repeat(1024), i as u64 + 1));
    }
    data.version = n as u64;
    data.answered
        .insert("alice".into(), (7, Answer::Written { version: 3 }));
    data
}

#[test]
fn chapter_a_split_shard_merges_back_whole_in_any_order() {
    let shard = big_shard(1, 100);
    let mut pieces = split(shard.clone(), 10 * 1024);
    assert!(pieces.len() >= 10, "{} pieces", pieces.len());
    assert!(
        pieces.iter().all(|p| p.bytes() <= 11 * 1024),
        "a piece holds at most the bytes asked for, plus one key and value"
    );
    pieces.reverse();
    let mut whole = ShardData::default();
    for piece in pieces {
        merge(&mut whole, piece);
    }
    assert_eq!(
        whole, shard,
        "the pieces merged back, in any order, are the whole shard: keys, version and answers"
    );
    assert_eq!(
        split(ShardData::default(), 10).len(),
        1,
        "an empty shard is one piece"
    );
}

#[test]
fn chapter_a_piece_is_never_bigger_as_json_than_asked_for_plus_one_key() {
    // Values that JSON escapes: quotes, newlines and control characters.
    let mut data = ShardData::default();
    for i in 0..200 {
        data.kv
            .insert(format!("k{i}"), ("\"\n\u{1}".repeat(300 + i), i as u64));
    }
    let largest = data
        .kv
        .iter()
        .map(|(k, v)| serde_json::to_string(&(k, v)).expect("json").len())
        .max()
        .unwrap_or_default();
    for piece in split(data, 64 * 1024) {
        let json = serde_json::to_string(&piece).expect("json").len();
        assert!(
            json <= 64 * 1024 + largest + 200,
            "a piece of {json} bytes as JSON"
        );
    }
}
