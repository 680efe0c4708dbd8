//! One shard's data: its keys, the versions it hands out, and the answers it gave.
//!
//! A shard moves between groups as one [`ShardData`]: the map *and* the table of
//! answered requests (chapter 5's exactly-once table, now kept per shard), and the last
//! version it gave, so versions keep growing after the move. A write retried after its
//! shard moved finds its answer in the table that moved with it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Who sent a write, and which of that client's requests it is (as in chapter 5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestId {
    pub client: String,
    pub seq: u64,
}

/// A client's command on one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvCommand {
    Get {
        key: String,
    },
    Put {
        key: String,
        value: String,
        if_version: Option<u64>,
        request: Option<RequestId>,
    },
    Delete {
        key: String,
        request: Option<RequestId>,
    },
}

impl KvCommand {
    /// The key it touches.
    pub fn key(&self) -> &str {
        match self {
            KvCommand::Get { key } | KvCommand::Put { key, .. } | KvCommand::Delete { key, .. } => {
                key
            }
        }
    }

    fn request(&self) -> Option<&RequestId> {
        match self {
            KvCommand::Get { .. } => None,
            KvCommand::Put { request, .. } | KvCommand::Delete { request, .. } => request.as_ref(),
        }
    }
}

/// What a command did (the API's answers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    /// A read: the value and its version, or none.
    Value(Option<(String, u64)>),
    Written {
        version: u64,
    },
    /// A conditional write refused: the key is at `current` (0: absent).
    Mismatch {
        current: u64,
    },
    Deleted {
        version: u64,
    },
    NotFound,
    /// Not applied: a late copy of a write older than this client's `latest` (a client
    /// sends one request at a time, so it has moved on from this one).
    Stale {
        latest: u64,
    },
}

// ANCHOR: table
/// A shard's whole state: what moves when the shard moves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardData {
    /// Key → (value, version).
    pub kv: BTreeMap<String, (String, u64)>,
    /// The last version this shard gave a write.
    pub version: u64,
    /// Client → (its last write's seq, the answer it got). One entry per client: a client
    /// sends one request at a time, so only its latest can still be retried.
    pub answered: BTreeMap<String, (u64, Answer)>,
}
// ANCHOR_END: table

impl ShardData {
    /// Applies `command`; a write already answered gets its first answer again.
    pub fn apply(&mut self, command: &KvCommand) -> Answer {
        if let Some(id) = command.request()
            && let Some((seq, answer)) = self.answered.get(&id.client)
        {
            if *seq == id.seq {
                return answer.clone(); // a retry: the first answer again
            }
            if id.seq < *seq {
                // A late copy of a request answered before: the client sends one request
                // at a time, so it has its answer and has moved on. Never apply it twice.
                return Answer::Stale { latest: *seq };
            }
        }
        let answer = match command {
            KvCommand::Get { key } => Answer::Value(self.kv.get(key).cloned()),
            KvCommand::Put {
                key,
                value,
                if_version,
                ..
            } => {
                let current = self.kv.get(key).map_or(0, |(_, v)| *v);
                match if_version {
                    Some(expected) if *expected != current => Answer::Mismatch { current },
                    _ => {
                        self.version += 1;
                        self.kv.insert(key.clone(), (value.clone(), self.version));
                        Answer::Written {
                            version: self.version,
                        }
                    }
                }
            }
            KvCommand::Delete { key, .. } => {
                if self.kv.remove(key).is_some() {
                    self.version += 1;
                    Answer::Deleted {
                        version: self.version,
                    }
                } else {
                    Answer::NotFound
                }
            }
        };
        if let Some(id) = command.request() {
            self.answered
                .insert(id.client.clone(), (id.seq, answer.clone()));
        }
        answer
    }

    /// Adds `piece`'s keys and answers (a piece of the same shard, split by
    /// [`ShardData::split`]); the version counter is the higher of the two.
    pub fn merge(&mut self, piece: ShardData) {
        self.kv.extend(piece.kv);
        for (client, (seq, answer)) in piece.answered {
            match self.answered.get(&client) {
                Some((kept, _)) if *kept >= seq => {}
                _ => {
                    self.answered.insert(client, (seq, answer));
                }
            }
        }
        self.version = self.version.max(piece.version);
    }

    /// The shard in pieces of at most `max_bytes` of keys and values as JSON each (a
    /// single key and value bigger than that is a piece of its own), at least one piece,
    /// each carrying the version counter: merged together, in any order, they are the
    /// shard again. What a shard too big for one log entry moves as.
    pub fn split(self, max_bytes: usize) -> Vec<ShardData> {
        let empty = || ShardData {
            version: self.version,
            ..ShardData::default()
        };
        let mut pieces = vec![empty()];
        let mut size = 0;
        for (key, (value, version)) in self.kv {
            let bytes = json_len(&key) + json_len(&value) + 24;
            if size + bytes > max_bytes && size > 0 {
                pieces.push(empty());
                size = 0;
            }
            size += bytes;
            let last = pieces.last_mut().expect("one piece at least");
            last.kv.insert(key, (value, version));
        }
        for (client, answer) in self.answered {
            let bytes = json_len(&client) + 64;
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

    /// Roughly the bytes it holds: keys, values and answers (what a move carries).
    pub fn bytes(&self) -> usize {
        let kv: usize = self
            .kv
            .iter()
            .map(|(k, (v, _))| k.len() + v.len() + 8)
            .sum();
        kv + self.answered.keys().map(|c| c.len() + 24).sum::<usize>()
    }
}

/// The length of `text` as a JSON string: quotes, and escapes (a control character is six
/// bytes, `\u0001`).
fn json_len(text: &str) -> usize {
    2 + text
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if c < ' ' => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}
