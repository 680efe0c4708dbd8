//! The durable store: chapter 1's map, with every write going through the log first.
//!
//! Exercise 2.4 lives here. The rule this chapter is about: **nothing is acknowledged
//! before it is durable**. A write is checked and given its version under the lock,
//! handed to the log in that same critical section (so the log's order is the version
//! order), applied to the map, and only then, *outside* the lock, awaited: the caller
//! hears "ok" after the committer has synced the record. Reads wait the same way for
//! the version they read, so no client ever sees a value a crash could take back.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use plumbing::disk::Disk;

use crate::record::Record;
use crate::wal::{
    LogOptions, LogStats, LogWriter, RecoveryError, Snapshot, SnapshotEntry, recover,
};

/// A value together with the version of the write that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The stored value.
    pub value: String,
    /// The version (log position) of the write that stored it.
    pub version: u64,
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
        self.last_version = self.last_version.max(record.version);
        match record.value {
            Some(value) => {
                self.entries.insert(
                    record.key,
                    Versioned {
                        value,
                        version: record.version,
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

    /// The value and version of `key`, once that version is durable.
    pub async fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        let found = self.lock().entries.get(key).cloned();
        if let Some(entry) = &found {
            self.log
                .wait_durable(entry.version)
                .await
                .map_err(StoreError::Unavailable)?;
        }
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
        self.write(key, Some(value), if_version).await
    }

    /// Deletes `key`; returns the version of the delete once it is durable.
    pub async fn delete(&self, key: &str) -> Result<u64, StoreError> {
        self.write(key, None, None).await
    }

    // ANCHOR: write
    /// The write path shared by put and delete.
    async fn write(
        &self,
        key: &str,
        value: Option<String>,
        if_version: Option<u64>,
    ) -> Result<u64, StoreError> {
        // EXERCISE 2.4: acknowledge a write only once the log has made it durable
        // HINT: Decide the order under the lock; wait for the disk outside it.
        let (version, ticket) = {
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
            };
            let ticket = self.log.submit(&record).map_err(StoreError::Unavailable)?;
            state.apply(record);
            (version, ticket)
        };
        ticket.durable().await.map_err(StoreError::Unavailable)?;
        Ok(version)
        // END EXERCISE 2.4
    }
    // ANCHOR_END: write

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
