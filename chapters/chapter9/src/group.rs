//! A consumer group: its members, its generation, who reads which partition, and the
//! offsets it has committed.
//!
//! A group reads one topic; each partition is read by one member at a time. The group's
//! coordinator (a replicated machine, like everything else here) changes the assignment
//! whenever a member joins, leaves or stops heartbeating, and numbers each assignment:
//! the **generation**. A member that still works from an older generation (it was slow,
//! or cut off, and its partitions went to another) is fenced by that number, as chapter
//! 7 fenced a shard's old owner by its configuration number.
//!
//! This file holds the data and the plumbing; the rules are exercises: `membership.rs`
//! (9.3: joining, leaving, timing out, and the assignment) and `offsets.rs` (9.4: a
//! commit fenced by generation, and where a member resumes).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::log::{Millis, Offset};

/// A member of a consumer group, named by itself; a restarted consumer takes a new name.
pub type MemberId = String;
/// The number of a group's assignment: it grows by one with every rebalance.
pub type Generation = u64;

/// What the coordinator knows of a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub last_heard: Millis,
}

/// What a member is told: the generation, and its partitions in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub generation: Generation,
    pub partitions: Vec<u32>,
}

/// Why a group refused a member's call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]

pub enum GroupError {
    #[error("{member} is not a member of the group (it left or timed out): join again")]
    UnknownMember { member: MemberId },
    #[error("generation {sent} is over: the group is at generation {current}")]
    StaleGeneration {
        sent: Generation,
        current: Generation,
    },
    #[error("partition {partition} is not {member}'s in generation {generation}")]
    NotAssigned {
        member: MemberId,
        partition: u32,
        generation: Generation,
    },
}

/// A consumer group as its coordinator keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerGroup {
    pub name: String,
    /// The topic the group reads, and how many partitions it has.
    pub topic: String,
    pub partitions: u32,
    /// A member not heard from for longer than this is taken out of the group.
    pub session_timeout: Millis,
    /// The current assignment's number (0: no assignment was ever made).
    pub generation: Generation,
    pub members: BTreeMap<MemberId, Member>,
    /// Each member's partitions in the current generation.
    pub assignment: BTreeMap<MemberId, Vec<u32>>,
    /// Each partition's committed offset: the next offset the group has to read.
    pub committed: BTreeMap<u32, Offset>,
}

impl ConsumerGroup {
    /// A group with no members yet.
    pub fn new(name: &str, topic: &str, partitions: u32, session_timeout: Millis) -> Self {
        ConsumerGroup {
            name: name.to_string(),
            topic: topic.to_string(),
            partitions,
            session_timeout,
            generation: 0,
            members: BTreeMap::new(),
            assignment: BTreeMap::new(),
            committed: BTreeMap::new(),
        }
    }

    /// What `member` is told now: the generation and its partitions.
    pub fn membership(&self, member: &str) -> Membership {
        Membership {
            generation: self.generation,
            partitions: self.assignment.get(member).cloned().unwrap_or_default(),
        }
    }

    /// `member` says it is alive at `now`; it hears the current generation and its
    /// partitions (if the generation is not the one it works in, it must stop, and start
    /// again from the group's committed offsets).
    pub fn heartbeat(&mut self, member: &str, now: Millis) -> Result<Membership, GroupError> {
        let Some(m) = self.members.get_mut(member) else {
            return Err(GroupError::UnknownMember {
                member: member.to_string(),
            });
        };
        m.last_heard = m.last_heard.max(now);
        Ok(self.membership(member))
    }

    /// Which member reads `partition` in the current generation.
    pub fn owner(&self, partition: u32) -> Option<&MemberId> {
        self.assignment
            .iter()
            .find(|(_, ps)| ps.contains(&partition))
            .map(|(m, _)| m)
    }
}
