//! Committed offsets: where a group has got to in each partition, fenced by generation.
//!
//! Exercise 9.4 lives here. A committed offset is the next offset the group has to
//! read: a member that takes a partition over starts there. A commit from a member that
//! no longer owns the partition (an older generation) would move the new owner's
//! position behind its back; a late copy of an older commit would move it back.

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
        if !self.members.contains_key(member) {
            return Err(GroupError::UnknownMember {
                member: member.to_string(),
            });
        }
        if generation != self.generation {
            return Err(GroupError::StaleGeneration {
                sent: generation,
                current: self.generation,
            });
        }
        let mine = self.assignment.get(member).cloned().unwrap_or_default();
        if let Some(&partition) = offsets.keys().find(|p| !mine.contains(p)) {
            return Err(GroupError::NotAssigned {
                member: member.to_string(),
                partition,
                generation,
            });
        }
        for (&partition, &offset) in offsets {
            let committed = self.committed.entry(partition).or_insert(0);
            *committed = (*committed).max(offset);
        }
        Ok(())
        // END EXERCISE 9.4
    }
    // ANCHOR_END: commit
}

// ANCHOR: positions
/// What a consumer commits once it has processed `record`: the offset it reads next.
pub fn offset_after(record: &Record) -> Offset {
    // EXERCISE 9.4: the offsets a consumer commits and resumes from
    // HINT: A committed offset names the next record to read, not the last one read (Kafka's convention). Get this and `resume_at` to agree, or every takeover re-reads one record or skips one.
    record.offset + 1
    // END EXERCISE 9.4
}

/// Where a member that was given a partition starts reading: the group's committed
/// offset for it, or the log's start (offset 0) if the group never committed one.
pub fn resume_at(committed: Option<Offset>) -> Offset {
    // EXERCISE 9.4: the offsets a consumer commits and resumes from
    // HINT: The same convention as `offset_after`.
    committed.unwrap_or(0)
    // END EXERCISE 9.4
}
// ANCHOR_END: positions
