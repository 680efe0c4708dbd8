//! What sits behind the node's lock: the role, the term, the log after the snapshot, the
//! map, and on the leader each follower's progress; and how the log is read by the core.

use super::*;

/// A key's value and the index of the write that stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The value.
    pub value: String,
    /// The write's index.
    pub version: u64,
}

/// The node's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Accepts writes and replicates them.
    Leader,
    /// Follows the leader's log; serves reads.
    Follower,
}

impl Role {
    pub(super) fn name(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Follower => "follower",
        }
    }
}

/// Everything behind the node's lock.
#[derive(Debug)]
pub(super) struct Replica {
    pub(super) role: Role,
    pub(super) term: u64,
    pub(super) leader_id: Option<u64>,
    pub(super) leader_url: Option<String>,
    pub(super) snapshot_index: u64,
    pub(super) snapshot_term: u64,
    /// The log after the snapshot: indexes `snapshot_index + 1 ..= last_index()`.
    pub(super) entries: Vec<LogEntry>,
    pub(super) map: HashMap<String, Versioned>,
    pub(super) applied: u64,
    pub(super) commit: u64,
    pub(super) progress: BTreeMap<u64, Progress>,
}

impl Replica {
    pub(super) fn entry(&self, index: u64) -> Option<&LogEntry> {
        let offset = index.checked_sub(self.snapshot_index + 1)?;
        self.entries.get(usize::try_from(offset).ok()?)
    }

    pub(super) fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.snapshot_term, |e| e.term)
    }

    pub(super) fn apply(&mut self, entry: &LogEntry) {
        match &entry.value {
            Some(value) => {
                self.map.insert(
                    entry.key.clone(),
                    Versioned {
                        value: value.clone(),
                        version: entry.index,
                    },
                );
            }
            None => {
                self.map.remove(&entry.key);
            }
        }
        self.applied = entry.index;
    }

    /// Applies every committed entry not yet applied.
    pub(super) fn apply_committed(&mut self) {
        while self.applied < self.commit.min(LogView::last_index(self)) {
            let Some(entry) = self.entry(self.applied + 1).cloned() else {
                break;
            };
            self.apply(&entry);
        }
    }

    /// The map at `applied`, plus the entries after it.
    pub(super) fn snapshot(&self) -> Snapshot {
        let entries = self
            .map
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    SnapshotValue {
                        value: v.value.clone(),
                        version: v.version,
                    },
                )
            })
            .collect();
        Snapshot {
            last_index: self.applied,
            last_term: LogView::term_at(self, self.applied).unwrap_or(self.snapshot_term),
            entries,
            tail: self
                .entries
                .iter()
                .filter(|e| e.index > self.applied)
                .cloned()
                .collect(),
        }
    }

    /// Forgets the entries a snapshot now covers.
    pub(super) fn compact_to(&mut self, snapshot: &Snapshot) {
        if snapshot.last_index > self.snapshot_index {
            self.entries.retain(|e| e.index > snapshot.last_index);
            self.snapshot_index = snapshot.last_index;
            self.snapshot_term = snapshot.last_term;
        }
    }

    pub(super) fn install(&mut self, mut snapshot: Snapshot) {
        self.map = std::mem::take(&mut snapshot.entries)
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    Versioned {
                        value: v.value,
                        version: v.version,
                    },
                )
            })
            .collect();
        self.snapshot_index = snapshot.last_index;
        self.snapshot_term = snapshot.last_term;
        self.entries = snapshot.tail;
        self.applied = snapshot.last_index;
        self.commit = self.commit.max(snapshot.last_index);
    }
}

impl LogView for Replica {
    fn current_term(&self) -> u64 {
        self.term
    }
    fn last_index(&self) -> u64 {
        self.entries.last().map_or(self.snapshot_index, |e| e.index)
    }
    fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.snapshot_index {
            return Some(self.snapshot_term);
        }
        self.entry(index).map(|e| e.term)
    }
    fn snapshot_index(&self) -> u64 {
        self.snapshot_index
    }
    fn snapshot_term(&self) -> u64 {
        self.snapshot_term
    }
    fn applied_index(&self) -> u64 {
        self.applied
    }
}

impl LeaderLog for Replica {
    fn last_index(&self) -> u64 {
        LogView::last_index(self)
    }
    fn snapshot_index(&self) -> u64 {
        self.snapshot_index
    }
    fn term_at(&self, index: u64) -> Option<u64> {
        LogView::term_at(self, index)
    }
}
