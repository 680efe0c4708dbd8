//! The key-value store: a map from keys to versioned values, shared by every request.
//!
//! Exercises 1.1 and 1.2 live here. The store is the whole "database" of chapter 1:
//! one process, one map, no disk. What makes it interesting is that many requests
//! reach it at once, and that every write gets a *version* a client can build on.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A value together with the version of the write that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The stored value.
    pub value: String,
    /// The version of the write that stored it.
    pub version: u64,
}

/// Why a write was refused.
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
}

// ANCHOR: state
/// The store. Cheap to share: handlers hold it in an `Arc`.
///
/// A std `Mutex`, not tokio's, guards the state: no `.await` ever happens while it
/// is held, every critical section is a few map operations, and a std mutex is
/// faster for that. Holding it across an `.await` would be the bug to avoid.
#[derive(Debug, Default)]
pub struct Store {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<String, Versioned>,
    /// The version given to the latest write, 0 before the first. Versions are
    /// store-wide: each write, to any key, takes the next number.
    last_version: u64,
}
// ANCHOR_END: state

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the map half-updated (each write
        // is a single insert or remove), so a poisoned lock is safe to keep using.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value and version of `key`, if present.
    pub fn get(&self, key: &str) -> Option<Versioned> {
        self.lock().entries.get(key).cloned()
    }

    /// Stores `value` under `key` and returns the new version.
    ///
    /// With `if_version: Some(v)` the write is a compare-and-set: it happens only if
    /// the key is currently at version `v` (`0`: only if the key is absent).
    pub fn put(
        &self,
        key: &str,
        value: String,
        if_version: Option<u64>,
    ) -> Result<u64, StoreError> {
        let mut state = self.lock();
        // Checking and writing under one lock is what makes compare-and-set atomic:
        // no other write can slip in between the check and the insert.
        if let Some(expected) = if_version {
            check_version(state.entries.get(key), expected)?;
        }
        Ok(state.write(key, Some(value)))
    }

    /// Removes `key` and returns the version of the delete.
    pub fn delete(&self, key: &str) -> Result<u64, StoreError> {
        let mut state = self.lock();
        if !state.entries.contains_key(key) {
            return Err(StoreError::NotFound);
        }
        Ok(state.write(key, None))
    }

    /// How many keys are stored.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The version of the latest write (0 before the first).
    pub fn last_version(&self) -> u64 {
        self.lock().last_version
    }
}

impl State {
    // ANCHOR: write
    /// Applies one write (`Some(value)` stores, `None` deletes) and returns its version.
    fn write(&mut self, key: &str, value: Option<String>) -> u64 {
        // EXERCISE 1.1: give each write the next version and apply it to the map
        // HINT: One counter orders every write in the store, deletes included.
        let version = self.last_version + 1;
        self.last_version = version;
        match value {
            Some(value) => {
                self.entries
                    .insert(key.to_string(), Versioned { value, version });
            }
            None => {
                self.entries.remove(key);
            }
        }
        version
        // END EXERCISE 1.1
    }
    // ANCHOR_END: write
}

// ANCHOR: check_version
/// Exercise 1.2: the compare-and-set rule. `current` is the key's entry, if any;
/// `expected` is the version the client's `if_version` asked for.
fn check_version(current: Option<&Versioned>, expected: u64) -> Result<(), StoreError> {
    // EXERCISE 1.2: allow the write only if the key is at the expected version
    // HINT: What version does a key that does not exist have?
    let current = current.map_or(0, |entry| entry.version);
    if current == expected {
        Ok(())
    } else {
        Err(StoreError::VersionMismatch { expected, current })
    }
    // END EXERCISE 1.2
}
// ANCHOR_END: check_version
