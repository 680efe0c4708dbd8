//! Pieces of a shard sent ahead of its install.
//!
//! A shard moves as the data its old owner froze. Sent as one log entry, a shard could
//! be no bigger than one message between replicas (see `command::MAX_ENTRY_BYTES`), so the
//! controller sends a big shard in pieces: `Stage` entries first, each a piece, which the
//! new owner keeps aside, then the `Install` with the last piece, which takes them all
//! (chapter 6 sends a snapshot in pieces for the same reason). Nothing here serves a
//! client: a staged piece is only data waiting for its install.
//!
//! Pieces are fenced like every step: they are kept only for a shard absent here since an
//! older configuration, and only for one configuration at a time (a newer move's pieces
//! replace an older one's; an older move's pieces are stale). Staging a piece twice is
//! harmless (a piece's keys are the shard's, whatever order they arrive in), so a
//! controller that crashed mid-way and its replacement can both send them.
//!
//! Exercise 7.9 (with the controller's `step`) lives here: [`Staging::stage`] and
//! [`Staging::take`], part of the systems track (optional: finished until you run
//! `cargo xtask track chapter7 systems`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::ShardId;
use crate::shard::{ShardData, ShardState};

/// The most bytes a group keeps staged at once; a piece past it is refused.
pub const MAX_STAGED_BYTES: usize = 128 * 1024 * 1024;

/// What became of a piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staged {
    /// Kept for its install.
    Kept,
    /// For a move behind the shard's state, or behind the pieces kept: dropped.
    Stale,
    /// The shard is not waiting for an install, or the staging area is full: dropped.
    Refused,
}

/// The pieces a group holds for shards it will install: shard → (configuration, data).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staging {
    shards: BTreeMap<ShardId, (u64, ShardData)>,
}

impl Staging {
    /// Keeps `piece` of `shard` for configuration `num`, the shard being `now` here.
    // ANCHOR: stage
    pub fn stage(&mut self, shard: ShardId, num: u64, piece: ShardData, now: ShardState) -> Staged {
        // EXERCISE 7.9: keep a piece only for a shard absent since older; one move's pieces at a time
        // HINT: A piece is a step of a move like the install it precedes, fenced the same way: which states of the shard (exercise 7.4's table) may still receive an install of configuration `num`?
        // HINT: `Absent` since an older configuration: keep it, unless pieces of a newer configuration are already kept (then it is `Stale`) or the bytes kept (`self.bytes()`, every shard's) plus this piece's would pass `MAX_STAGED_BYTES` (`Refused`); pieces of an older configuration make way for it. A shard whose state is as new as `num` or newer: `Stale`. Anything else: `Refused`.
        // HINT: Keep pieces as `(num, data)` per shard and add each one with `merge`: a piece staged twice adds nothing new.
        match now {
            ShardState::Absent { num: since } if since < num => {
                if self.shards.get(&shard).is_some_and(|(n, _)| *n > num) {
                    return Staged::Stale;
                }
                if self.bytes() + piece.bytes() > MAX_STAGED_BYTES {
                    return Staged::Refused;
                }
                let staged = self
                    .shards
                    .entry(shard)
                    .or_insert_with(|| (num, ShardData::default()));
                if staged.0 != num {
                    *staged = (num, ShardData::default()); // an older move's pieces
                }
                merge(&mut staged.1, piece);
                Staged::Kept
            }
            _ if now.num() >= num => Staged::Stale,
            _ => Staged::Refused,
        }
        // END EXERCISE 7.9
    }
    // ANCHOR_END: stage

    /// `data` (the install's own piece) with the pieces staged for `shard` and
    /// configuration `num`, which leave the staging area: the install takes them, or is
    /// stale and never will. A newer move's pieces stay.
    // ANCHOR: take
    pub fn take(&mut self, shard: ShardId, num: u64, data: ShardData) -> ShardData {
        // EXERCISE 7.9: an install takes the pieces of its own configuration, leaves a newer move's
        // HINT: The install's own data is the last piece: the shard is the pieces staged for this configuration plus it.
        // HINT: Remove the shard's entry: for this `num`, merge `data` into it and return the whole; for a newer configuration, put it back and return `data` alone; for an older one, drop it.
        // HINT: A stale install (its machine will not install it) still calls `take`: that is how an older move's pieces leave the area. It must not take a newer move's pieces with it.
        match self.shards.remove(&shard) {
            Some((n, mut staged)) if n == num => {
                merge(&mut staged, data);
                staged
            }
            Some(newer) if newer.0 > num => {
                self.shards.insert(shard, newer);
                data
            }
            _ => data,
        }
        // END EXERCISE 7.9
    }
    // ANCHOR_END: take

    /// Whether pieces of `shard` are staged (for any configuration).
    pub fn holds(&self, shard: ShardId) -> bool {
        self.shards.contains_key(&shard)
    }

    /// The bytes staged, all shards together.
    pub fn bytes(&self) -> usize {
        self.shards.values().map(|(_, d)| d.bytes()).sum()
    }
}

/// Adds `piece`'s keys and answers (a piece of the same shard, split by
/// [`split`]); the version counter is the higher of the two.
pub fn merge(whole: &mut ShardData, piece: ShardData) {
    whole.kv.extend(piece.kv);
    for (client, (seq, answer)) in piece.answered {
        match whole.answered.get(&client) {
            Some((kept, _)) if *kept >= seq => {}
            _ => {
                whole.answered.insert(client, (seq, answer));
            }
        }
    }
    whole.version = whole.version.max(piece.version);
}

/// The shard in pieces of at most `max_bytes` of keys and values as JSON each (a
/// single key and value bigger than that is a piece of its own), at least one piece,
/// each carrying the version counter: merged together, in any order, they are the
/// shard again. What a shard too big for one log entry moves as.
pub fn split(data: ShardData, max_bytes: usize) -> Vec<ShardData> {
    let empty = || ShardData {
        version: data.version,
        ..ShardData::default()
    };
    let mut pieces = vec![empty()];
    let mut size = 0;
    for (key, (value, version)) in data.kv {
        let bytes = kv_size(&key, &value);
        if size + bytes > max_bytes && size > 0 {
            pieces.push(empty());
            size = 0;
        }
        size += bytes;
        let last = pieces.last_mut().expect("one piece at least");
        last.kv.insert(key, (value, version));
    }
    for (client, answer) in data.answered {
        let bytes = answer_size(&client);
        if size + bytes > max_bytes && size > 0 {
            pieces.push(empty());
            size = 0;
        }
        size += bytes;
        let last = pieces.last_mut().expect("one piece at least");
        last.answered.insert(client, answer);
    }
    pieces
}

/// The size [`split`] counts for `data`: its keys, values and answers as JSON. A shard no
/// bigger than a piece moves whole.
pub fn json_size(data: &ShardData) -> usize {
    let kv: usize = data.kv.iter().map(|(k, (v, _))| kv_size(k, v)).sum();
    kv + data.answered.keys().map(|c| answer_size(c)).sum::<usize>()
}

/// A key and its value as JSON, with room for the version and the punctuation.
fn kv_size(key: &str, value: &str) -> usize {
    json_len(key) + json_len(value) + 24
}

/// A client's entry in the table of answers as JSON, with room for its answer.
fn answer_size(client: &str) -> usize {
    json_len(client) + 64
}

/// The length of `text` as a JSON string: quotes, and escapes (a control character is six
/// bytes, `\u0001`). Counted over bytes, not characters: every byte of a multi-byte
/// character is at least 0x80 and is written as it is, and a byte loop is several times
/// faster on a shard of megabytes.
fn json_len(text: &str) -> usize {
    2 + text.len()
        + text
            .bytes()
            .map(|b| match b {
                b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 1,
                b if b < b' ' => 5,
                _ => 0,
            })
            .sum::<usize>()
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_len_is_the_length_serde_json_writes() {
        for text in [
            "",
            "plain",
            "a \"quote\" and a \\",
            "\n\r\t\u{8}\u{c}\u{1}\u{1f}",
            "é€😀\u{7f}",
        ] {
            let written = serde_json::to_string(text).expect("a string serializes");
            assert_eq!(
                super::json_len(text),
                written.len(),
                "json_len({text:?}) must be the length of {written}: pieces are cut by it"
            );
        }
    }
}
