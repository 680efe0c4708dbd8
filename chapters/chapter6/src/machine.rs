//! The state machine every node applies committed entries to: a map, plus the table
//! that makes retried writes happen once.
//!
//! A client that sends a write and hears nothing (the leader crashed, the connection
//! dropped) cannot know whether it took effect, so it sends it again, maybe to a new
//! leader. If it named the write (`x-client-id`, `x-request-id`), the entry carries the
//! name, and [`Machine::apply`] keeps, per client, the results of its last
//! [`KEPT_PER_CLIENT`] writes: a repeat gets the first result back instead of writing
//! twice. (Raft's paper keeps one per client, which forbids a client two writes in
//! flight; a few more cost little and let one client object serve many tasks.) The table is
//! part of the state machine, rebuilt from the log on every node, so it survives
//! restarts and failovers with no extra machinery.
//!
//! Chapter 6 adds the machine's snapshot ([`Machine::snapshot`], [`Machine::restore`]):
//! the map **and** the table, as of the last applied index. A snapshot without the table
//! would let a retry of a write that the dropped log had applied be applied again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::{Command, RequestId};
use crate::raft::Entry;

/// How many results the table keeps per client: a client may have this many writes in
/// flight at once.
pub const KEPT_PER_CLIENT: usize = 64;

/// What applying one entry produced: the answer for the client that sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Applied {
    /// A no-op.
    Nothing,
    /// A read: the value and its version, if the key exists.
    Value(Option<(String, u64)>),
    /// A write took effect at this version.
    Written {
        /// The new version (the entry's index).
        version: u64,
    },
    /// A delete took effect at this version.
    Deleted {
        /// The delete's version (the entry's index).
        version: u64,
    },
    /// A delete of a missing key.
    NotFound,
    /// A conditional write whose condition failed: the key is at `current` (0: absent).
    Mismatch {
        /// The key's version.
        current: u64,
    },
    /// A request older than every result kept for its client: its answer is gone.
    Stale {
        /// The oldest request number still kept.
        oldest: u64,
    },
}

/// The map and the session table, as of `applied_index`. Its serialized form is its
/// snapshot.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    applied: u64,
    data: BTreeMap<String, (String, u64)>,
    sessions: BTreeMap<String, BTreeMap<u64, Applied>>,
}

impl Machine {
    /// An empty map (entries are applied from index 1).
    pub fn new() -> Self {
        Self::default()
    }

    /// The last applied index.
    pub fn applied_index(&self) -> u64 {
        self.applied
    }

    /// How many keys the map holds.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// A key's value and version.
    pub fn get(&self, key: &str) -> Option<(String, u64)> {
        self.data.get(key).cloned()
    }

    // ANCHOR: snapshot
    /// The machine's state as a snapshot's data: the map, the table of answered
    /// requests, and the index they are as of (JSON).
    pub fn snapshot(&self) -> String {
        serde_json::to_string(self).expect("strings and numbers always serialize")
    }

    /// The machine a snapshot's data describes, to take this one's place, checked: it
    /// must be as of `index`, and keep no more than [`KEPT_PER_CLIENT`] results per
    /// client. (Chapter 6 has one kind of machine, so `self` adds no check here; chapter 7,
    /// which carries this shell, also refuses a snapshot of another kind of machine.)
    pub fn restore(&self, data: &str, index: u64) -> Result<Machine, String> {
        let machine: Machine =
            serde_json::from_str(data).map_err(|e| format!("snapshot data: {e}"))?;
        if machine.applied != index {
            return Err(format!(
                "snapshot data is as of index {}, but the snapshot says {index}",
                machine.applied
            ));
        }
        if let Some((client, _)) = machine
            .sessions
            .iter()
            .find(|(_, kept)| kept.len() > KEPT_PER_CLIENT)
        {
            return Err(format!(
                "snapshot data keeps more than {KEPT_PER_CLIENT} results for client {client:?}"
            ));
        }
        Ok(machine)
    }
    // ANCHOR_END: snapshot

    /// Applies the next committed entry and returns its result.
    ///
    /// # Panics
    /// If `entry` is not the one after the last applied: applying out of order would
    /// make replicas differ, which no caller may do.
    pub fn apply(&mut self, entry: &Entry) -> Applied {
        assert_eq!(
            entry.index,
            self.applied + 1,
            "entries are applied in order, one at a time"
        );
        self.applied = entry.index;
        let request = match &entry.command {
            Command::Put { request, .. } | Command::Delete { request, .. } => request.as_ref(),
            Command::Noop | Command::Get { .. } => None,
        };
        if let Some(RequestId { client, seq }) = request
            && let Some(kept) = self.sessions.get(client)
        {
            if let Some(result) = kept.get(seq) {
                return result.clone(); // a retry: the first answer again
            }
            if let Some((&oldest, _)) = kept.first_key_value()
                && *seq < oldest
                && kept.len() == KEPT_PER_CLIENT
            {
                // It may have been applied and forgotten: refuse rather than risk twice.
                return Applied::Stale { oldest };
            }
        }
        let result = self.execute(entry.index, &entry.command);
        if let Some(RequestId { client, seq }) = request {
            let kept = self.sessions.entry(client.clone()).or_default();
            kept.insert(*seq, result.clone());
            if kept.len() > KEPT_PER_CLIENT {
                kept.pop_first();
            }
        }
        result
    }

    fn execute(&mut self, index: u64, command: &Command) -> Applied {
        match command {
            Command::Noop => Applied::Nothing,
            Command::Get { key } => Applied::Value(self.get(key)),
            Command::Put {
                key,
                value,
                if_version,
                ..
            } => {
                let current = self.data.get(key).map_or(0, |(_, v)| *v);
                if let Some(expected) = if_version
                    && *expected != current
                {
                    return Applied::Mismatch { current };
                }
                self.data.insert(key.clone(), (value.clone(), index));
                Applied::Written { version: index }
            }
            Command::Delete { key, .. } => match self.data.remove(key) {
                Some(_) => Applied::Deleted { version: index },
                None => Applied::NotFound,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(index: u64, key: &str, value: &str, seq: Option<u64>) -> Entry {
        Entry {
            index,
            term: 1,
            command: Command::Put {
                key: key.into(),
                value: value.into(),
                if_version: None,
                request: seq.map(|seq| RequestId {
                    client: "c".into(),
                    seq,
                }),
            },
        }
    }

    #[test]
    fn chapter_a_retried_write_is_applied_once_and_answered_the_same() {
        let mut machine = Machine::new();
        assert_eq!(
            machine.apply(&put(1, "k", "a", Some(1))),
            Applied::Written { version: 1 }
        );
        assert_eq!(
            machine.apply(&put(2, "k", "b", None)),
            Applied::Written { version: 2 }
        );
        // The retry of request 1 arrives late, as entry 3: the first answer, no write.
        assert_eq!(
            machine.apply(&put(3, "k", "a", Some(1))),
            Applied::Written { version: 1 }
        );
        assert_eq!(machine.get("k"), Some(("b".into(), 2)));
        assert_eq!(
            machine.apply(&put(4, "k", "c", Some(2))),
            Applied::Written { version: 4 }
        );
        assert_eq!(machine.get("k"), Some(("c".into(), 4)));
        // Two writes of one client may overtake each other: 4 before 3 is fine.
        assert_eq!(
            machine.apply(&put(5, "j", "x", Some(4))),
            Applied::Written { version: 5 }
        );
        assert_eq!(
            machine.apply(&put(6, "j", "y", Some(3))),
            Applied::Written { version: 6 }
        );
        // Once results have been forgotten, an old retry is refused, not applied again.
        for i in 0..KEPT_PER_CLIENT as u64 {
            machine.apply(&put(7 + i, "other", "z", Some(100 + i)));
        }
        let index = 7 + KEPT_PER_CLIENT as u64;
        assert_eq!(
            machine.apply(&put(index, "k", "a", Some(1))),
            Applied::Stale { oldest: 100 }
        );
        assert_eq!(machine.get("k"), Some(("c".into(), 4)));
    }
}
