// This file is yours to edit: replace each `todo!()` with your code, then run the
// chapter's tests. It was generated from solutions/chapter9/compaction.rs by `cargo xtask exercises`;
// running that again overwrites your work, so do it only to start over.
//! How a partition forgets: retention by size and age, and compaction by key.
//!
//! Exercise 9.6 lives here. A log that only grows fills its disks; two ways to bound
//! it keep its promise that an offset names one record for ever. Retention drops the
//! oldest records (the log's start moves up); compaction drops every record that a
//! later record of the same key replaced, so the log keeps the last value of each key
//! (a table's worth, as Kafka keeps its consumer offsets).

// The stubs leave some parameters, imports and helpers unused until you write the code;
// delete this line once every exercise in the file is done.
#![allow(unused_variables, unused_imports, dead_code)]

use crate::log::{Millis, Offset, Partition, Retention};

impl Partition {
    // ANCHOR: retain
    /// Drops the oldest records while the partition holds more than `max_records`, or
    /// its oldest record is older than `max_age` at `now` (appended exactly `max_age`
    /// ago is kept). The start moves to the first record left, or to the log's end if
    /// none is. Offsets never change.
    pub fn retain(&mut self, retention: &Retention, now: Millis) {
        // EXERCISE 9.6: retention: drop the oldest by count and by age, move the start
        // HINT: Count how many to drop from the front, then drain them. Where does the log start when every record is gone: can offset 0 be handed out again?
        todo!(
            "exercise 9.6 is not implemented yet: edit exercises/chapter9/compaction.rs: retention: drop the oldest by count and by age, move the start (book: chapter 9, exercise 6)"
        )
    }
    // ANCHOR_END: retain

    // ANCHOR: compact
    /// Among the records below `upto`, keeps only those whose key has no later record
    /// anywhere in the log; records at or past `upto` stay as they are. No offset
    /// changes, and the start does not move.
    pub fn compact(&mut self, upto: Offset) {
        // EXERCISE 9.6: compaction: keep the last record of each key below `upto`
        // HINT: Find each key's last offset in the whole log first (a `BTreeMap<String, Offset>`: keys borrowed from `self.records` would stop you from changing it), then `retain` the records that are that last one or at/past `upto`.
        todo!(
            "exercise 9.6 is not implemented yet: edit exercises/chapter9/compaction.rs: compaction: keep the last record of each key below `upto` (book: chapter 9, exercise 6)"
        )
    }
    // ANCHOR_END: compact
}
