// This file is yours to edit: replace each `todo!()` with your code, then run the
// chapter's tests. It was generated from solutions/chapter9/append.rs by `cargo xtask exercises`;
// running that again overwrites your work, so do it only to start over.
//! Appending a producer's batch once, however often it is sent.
//!
//! Exercise 9.2 lives here. A producer that hears nothing back sends its batch again:
//! the first copy may have been appended (its answer was lost) or not. A producer that
//! numbers its batches lets the partition tell the two apart, as chapter 5's request ids
//! let a key-value store; on a stream, the numbers must also arrive in order, or a lost
//! batch would leave a hole nobody sees.

// The stubs leave some parameters, imports and helpers unused until you write the code;
// delete this line once every exercise in the file is done.
#![allow(unused_variables, unused_imports, dead_code)]

use crate::log::{Appended, Batch, Millis, Partition, ProducerState};

impl Partition {
    // ANCHOR: append
    /// Appends `batch` at `now`, once.
    ///
    /// A batch without a [`Sequence`](crate::log::Sequence) is appended as it is. A
    /// numbered batch covers its producer's numbers `first..end` and is judged against
    /// what the partition expects of that producer ([`Partition::expected`]: 0 for a
    /// producer never seen):
    /// - `first` is what it expects, and `end > first`: appended (its records from the
    ///   log's end, [`Partition::push`]); the producer is next expected at `end`, and
    ///   this batch is its last;
    /// - the same `first..end` as its last batch: [`Appended::Duplicate`], with that
    ///   batch's offset and record count, appending nothing;
    /// - `end` past `first` but at or below what it expects (an older batch):
    ///   [`Appended::Stale`];
    /// - anything else (a gap, an overlap, `end <= first`):
    ///   [`Appended::OutOfSequence`] with what it expects, appending nothing.
    pub fn append(&mut self, batch: &Batch, now: Millis) -> Appended {
        // EXERCISE 9.2: append a producer's batch once: the duplicate and the gap rules
        // HINT: Compare `first` with `self.expected(producer)`. Check for the last batch again before anything else, and remember what a retry must be told: the offset its first copy got (`ProducerState`). What does a batch whose `end` is not past its `first` mean?
        todo!(
            "exercise 9.2 is not implemented yet: edit exercises/chapter9/append.rs: append a producer's batch once: the duplicate and the gap rules (book: chapter 9, exercise 2)"
        )
    }
    // ANCHOR_END: append
}
