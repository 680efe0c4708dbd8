//! The durable store: chapter 2's, as its exercise 2.4 finished it, with what moving keys
//! between nodes needs.
//!
//! The rule is still chapter 2's: **nothing is acknowledged before it is durable**. New
//! here: a write is split in two, [`Store::begin_write`] (checked, versioned, handed to
//! the log and applied, all at once and synchronously) and [`PendingWrite::durable`]
//! (awaited), so the node can make the first half atomic with its ownership check; keys
//! arriving from another node keep their versions ([`Store::import`]), and the node's
//! version counter jumps above them, so a key's version never goes backwards when it
//! changes owner.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use plumbing::disk::Disk;

use crate::record::Record;
use crate::wal::{
    LogOptions, LogStats, LogWriter, RecoveryError, Snapshot, SnapshotEntry, Ticket, recover,
};

/// A value together with the version of the write that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The stored value.
    pub value: String,
    /// The key's version: the log position of the write that stored it, or, for a key
    /// moved here, the version it had on its old owner.
    pub version: u64,
    /// The position in this node's log of the record that stored it.
    pub position: u64,
}

/// A key and its value as it moves from one node to another.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MovedEntry {
    /// The key.
    pub key: String,
    /// Its value.
    pub value: String,
    /// Its version, kept by the new owner.
    pub version: u64,
}

/// A write applied to the map and handed to the log, not yet durable.
#[derive(Debug)]
#[must_use = "a write is acknowledged only once `durable()` says so"]
pub struct PendingWrite {
    version: u64,
    ticket: Ticket,
}

impl PendingWrite {
    /// The write's version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Waits until the write is durable; returns its version.
    pub async fn durable(self) -> Result<u64, StoreError> {
        self.ticket
            .durable()
            .await
            .map_err(StoreError::Unavailable)?;
        Ok(self.version)
    }
}

/// Why a write (or a read) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The key does not exist (a delete of an absent key).
    #[error("key not found")]
    NotFound,
    /// A compare-and-set expected another version. `current` is 0 when the key is absent.
    #[error("expected version {expected}, but the key is at version {current}")]
    VersionMismatch {
        /// The version the caller expected.
        expected: u64,
        /// The key's version now (0 if absent).
        current: u64,
    },
    /// The log failed (disk full, I/O error): the write was not made durable.
    #[error("{0}")]
    Unavailable(String),
}

/// The durable store. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Store {
    state: Arc<Mutex<State>>,
    log: LogWriter,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<String, Versioned>,
    /// The version of the latest write handed to the log (durable or not yet).
    last_version: u64,
}

impl State {
    fn apply(&mut self, record: Record) {
        let version = record.key_version.unwrap_or(record.version);
        self.last_version = self.last_version.max(record.version).max(version);
        match record.value {
            Some(value) => {
                self.entries.insert(
                    record.key,
                    Versioned {
                        value,
                        version,
                        position: record.version,
                    },
                );
            }
            None => {
                self.entries.remove(&record.key);
            }
        }
    }

    fn snapshot(&self) -> Snapshot {
        let entries = self
            .entries
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    SnapshotEntry {
                        value: v.value.clone(),
                        version: v.version,
                    },
                )
            })
            .collect();
        Snapshot {
            last_version: self.last_version,
            entries,
        }
    }
}

impl Store {
    /// Recovers the store from `dir` on `disk` (snapshot, then log) and starts its log.
    pub fn open(
        disk: Arc<dyn Disk>,
        dir: &Path,
        options: LogOptions,
    ) -> Result<Self, RecoveryError> {
        let recovered = recover(disk.as_ref(), dir)?;
        let mut state = State {
            entries: HashMap::new(),
            last_version: recovered.snapshot.last_version,
        };
        for (key, entry) in recovered.snapshot.entries {
            state.entries.insert(
                key,
                Versioned {
                    value: entry.value,
                    version: entry.version,
                    position: 0,
                },
            );
        }
        for record in recovered.records {
            state.apply(record);
        }
        let durable = state.last_version;
        let state = Arc::new(Mutex::new(state));
        let for_snapshots = Arc::clone(&state);
        let snapshot = move || {
            for_snapshots
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .snapshot()
        };
        let log = LogWriter::start(
            disk,
            dir.to_path_buf(),
            recovered.log,
            durable,
            options,
            snapshot,
        )?;
        Ok(Self { state, log })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value and version of `key` now, and a wait for it to be durable: call under
    /// the node's ownership check, await outside it.
    pub fn begin_read(
        &self,
        key: &str,
    ) -> (
        Option<Versioned>,
        impl std::future::Future<Output = Result<(), StoreError>> + '_,
    ) {
        let found = self.lock().entries.get(key).cloned();
        let position = found.as_ref().map_or(0, |entry| entry.position);
        let wait = async move {
            self.log
                .wait_durable(position)
                .await
                .map_err(StoreError::Unavailable)
        };
        (found, wait)
    }

    /// The value and version of `key`, once that version is durable.
    pub async fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        let (found, durable) = self.begin_read(key);
        durable.await?;
        Ok(found)
    }

    /// Stores `value` under `key` (compare-and-set with `if_version`); returns the new
    /// version once it is durable.
    pub async fn put(
        &self,
        key: &str,
        value: String,
        if_version: Option<u64>,
    ) -> Result<u64, StoreError> {
        self.begin_write(key, Some(value), if_version)?
            .durable()
            .await
    }

    /// Deletes `key`; returns the version of the delete once it is durable.
    pub async fn delete(&self, key: &str) -> Result<u64, StoreError> {
        self.begin_write(key, None, None)?.durable().await
    }

    /// The first half of a write (`value: None` deletes): checked, versioned, handed to
    /// the log and applied to the map, synchronously. Nothing is acknowledged until the
    /// returned write is [`durable`](PendingWrite::durable).
    pub fn begin_write(
        &self,
        key: &str,
        value: Option<String>,
        if_version: Option<u64>,
    ) -> Result<PendingWrite, StoreError> {
        let mut state = self.lock();
        let current = state.entries.get(key);
        if value.is_none() && current.is_none() {
            return Err(StoreError::NotFound);
        }
        if let Some(expected) = if_version {
            check_version(current, expected)?;
        }
        let version = state.last_version + 1;
        let record = Record {
            version,
            key: key.to_string(),
            value,
            key_version: None,
        };
        let ticket = self.log.submit(&record).map_err(StoreError::Unavailable)?;
        state.apply(record);
        Ok(PendingWrite { version, ticket })
    }

    /// Every key for which `select` says yes, with its value and version (whether or not
    /// the write that stored it is durable yet).
    pub fn entries_where(&self, select: impl Fn(&str) -> bool) -> Vec<MovedEntry> {
        let state = self.lock();
        let mut moved: Vec<MovedEntry> = state
            .entries
            .iter()
            .filter(|(key, _)| select(key))
            .map(|(key, entry)| MovedEntry {
                key: key.clone(),
                value: entry.value.clone(),
                version: entry.version,
            })
            .collect();
        moved.sort_by(|a, b| a.key.cmp(&b.key));
        moved
    }

    /// Replaces the keys `select` picks with `entries`: every selected key not among
    /// them is deleted, every entry is stored with its own version. Returns once all of
    /// it is durable. The node's versions jump above the imported ones first, so a later
    /// write of a moved key gets a higher version than the one it arrived with.
    pub async fn import(
        &self,
        select: impl Fn(&str) -> bool,
        entries: Vec<MovedEntry>,
    ) -> Result<(), StoreError> {
        let last = {
            let mut state = self.lock();
            let arriving: HashSet<&str> = entries.iter().map(|e| e.key.as_str()).collect();
            let stale: Vec<String> = state
                .entries
                .keys()
                .filter(|key| select(key) && !arriving.contains(key.as_str()))
                .cloned()
                .collect();
            let top = entries.iter().map(|e| e.version).max().unwrap_or(0);
            state.last_version = state.last_version.max(top);
            let mut last = None;
            let records = stale.into_iter().map(|key| (key, None, None)).chain(
                entries
                    .into_iter()
                    .map(|e| (e.key, Some(e.value), Some(e.version))),
            );
            for (key, value, key_version) in records {
                let record = Record {
                    version: state.last_version + 1,
                    key,
                    value,
                    key_version,
                };
                let ticket = self.log.submit(&record).map_err(StoreError::Unavailable)?;
                state.apply(record);
                last = Some(ticket);
            }
            last
        };
        if let Some(ticket) = last {
            ticket.durable().await.map_err(StoreError::Unavailable)?;
        }
        Ok(())
    }

    /// Deletes every key `select` picks (keys handed over to another node); returns how
    /// many, once the deletes are durable.
    pub async fn remove_where(&self, select: impl Fn(&str) -> bool) -> Result<usize, StoreError> {
        let (count, last) = {
            let mut state = self.lock();
            let doomed: Vec<String> = state
                .entries
                .keys()
                .filter(|key| select(key))
                .cloned()
                .collect();
            let mut last = None;
            for key in &doomed {
                let record = Record {
                    version: state.last_version + 1,
                    key: key.clone(),
                    value: None,
                    key_version: None,
                };
                let ticket = self.log.submit(&record).map_err(StoreError::Unavailable)?;
                state.apply(record);
                last = Some(ticket);
            }
            (doomed.len(), last)
        };
        if let Some(ticket) = last {
            ticket.durable().await.map_err(StoreError::Unavailable)?;
        }
        Ok(count)
    }

    /// How many keys are stored.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The version of the latest write handed to the log.
    pub fn last_version(&self) -> u64 {
        self.lock().last_version
    }

    /// Every write up to this version is durable.
    pub fn durable_version(&self) -> u64 {
        self.log.durable_version()
    }

    /// What the log has done.
    pub fn log_stats(&self) -> LogStats {
        self.log.stats()
    }
}

/// Chapter 1's compare-and-set rule (exercise 1.2), unchanged.
fn check_version(current: Option<&Versioned>, expected: u64) -> Result<(), StoreError> {
    let current = current.map_or(0, |entry| entry.version);
    if current == expected {
        Ok(())
    } else {
        Err(StoreError::VersionMismatch { expected, current })
    }
}
