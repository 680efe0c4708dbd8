// This file is yours to edit: replace each `todo!()` with your code, then run the
// chapter's tests. It was generated from solutions/chapter9/offsets.rs by `cargo xtask exercises`;
// running that again overwrites your work, so do it only to start over.
//! Committed offsets: where a group has got to in each partition, fenced by generation.
//!
//! Exercise 9.4 lives here. A committed offset is the next offset the group has to
//! read: a member that takes a partition over starts there. A commit from a member that
//! no longer owns the partition (an older generation) would move the new owner's
//! position behind its back; a late copy of an older commit would move it back.

// The stubs leave some parameters, imports and helpers unused until you write the code;
// delete this line once every exercise in the file is done.
#![allow(unused_variables, unused_imports, dead_code)]

use std::collections::BTreeMap;

use crate::group::{ConsumerGroup, Generation, GroupError};
use crate::log::{Offset, Record};

impl ConsumerGroup {
    // ANCHOR: commit
    /// `member`, working in `generation`, commits `offsets` (partition → the next offset
    /// to read). Refused, changing nothing, unless `member` is in the group, `generation`
    /// is the current one, and every partition is the member's in it; then each offset
    /// is kept if it is ahead of the partition's committed offset (a commit never moves
    /// one back).
    pub fn commit(
        &mut self,
        member: &str,
        generation: Generation,
        offsets: &BTreeMap<u32, Offset>,
    ) -> Result<(), GroupError> {
        // EXERCISE 9.4: fence a commit by generation and owner; offsets only go forward
        // HINT: Check everything before writing anything (a refused commit changes nothing). Which error names each case: `UnknownMember`, `StaleGeneration`, `NotAssigned`? And the late copy of an older commit, in the right generation?
        todo!(
            "exercise 9.4 is not implemented yet: edit exercises/chapter9/offsets.rs: fence a commit by generation and owner; offsets only go forward (book: chapter 9, exercise 4)"
        )
    }
    // ANCHOR_END: commit
}

// ANCHOR: positions
/// What a consumer commits once it has processed `record`: the offset it reads next.
pub fn offset_after(record: &Record) -> Offset {
    // EXERCISE 9.4: the offsets a consumer commits and resumes from
    // HINT: A committed offset names the next record to read, not the last one read (Kafka's convention). Get this and `resume_at` to agree, or every takeover re-reads one record or skips one.
    todo!(
        "exercise 9.4 is not implemented yet: edit exercises/chapter9/offsets.rs: the offsets a consumer commits and resumes from (book: chapter 9, exercise 4)"
    )
}

/// Where a member that was given a partition starts reading: the group's committed
/// offset for it, or the log's start (offset 0) if the group never committed one.
pub fn resume_at(committed: Option<Offset>) -> Offset {
    // EXERCISE 9.4: the offsets a consumer commits and resumes from
    // HINT: The same convention as `offset_after`.
    todo!(
        "exercise 9.4 is not implemented yet: edit exercises/chapter9/offsets.rs: the offsets a consumer commits and resumes from (book: chapter 9, exercise 4)"
    )
}
// ANCHOR_END: positions
