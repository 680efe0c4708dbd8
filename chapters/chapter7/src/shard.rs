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

/// Where a shard stands in one group, and since which configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardState {
    Absent { num: u64 },
    Serving { num: u64 },
    Frozen { num: u64 },
}

impl ShardState {
    /// The configuration that put the shard in this state.
    pub fn num(self) -> u64 {
        match self {
            ShardState::Absent { num }
            | ShardState::Serving { num }
            | ShardState::Frozen { num } => num,
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
