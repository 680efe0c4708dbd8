//! What a group's replicated log holds: the calls of producers and consumers, each
//! stamped with the time on the leader that proposed it.
//!
//! Chapter 6's core and protocol are carried unchanged (`raft.rs`, `protocol.rs`); they
//! need from this file only a `Command` with a `Noop` and its payload's size. Reads go
//! through the log too, so a read never sees less than an answer already given.

use serde::{Deserialize, Serialize};

use crate::group::Generation;
use crate::log::{Batch, Millis, Offset, PartitionId};

/// Chapter 6's API names the id of a client's request. Producers here number their
/// batches themselves ([`Batch`]), and every other call is safe to repeat, so a
/// request is named by its caller only.
pub type RequestId = String;

/// One entry of a group's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Command {
    /// Nothing: the entry a new leader appends to commit its predecessors' entries.
    Noop,
    /// Append a producer's batch to a partition.
    Produce {
        partition: PartitionId,
        batch: Batch,
        now: Millis,
    },
    /// Read a partition from an offset.
    Read {
        partition: PartitionId,
        from: Offset,
        max: usize,
    },
    /// The next number a partition expects of a producer.
    Expected {
        partition: PartitionId,
        producer: String,
    },
    /// A member joins a consumer group to read a topic.
    Join {
        group: String,
        topic: String,
        member: String,
        now: Millis,
    },
    /// A member says it is alive.
    Heartbeat {
        group: String,
        member: String,
        now: Millis,
    },
    /// A member leaves its group.
    Leave { group: String, member: String },
    /// A member commits offsets in a generation: (partition, offset) pairs. (A list, not
    /// a map: chapter 6's messages are tagged enums, inside which serde cannot read a
    /// map whose keys are numbers.)
    Commit {
        group: String,
        member: String,
        generation: Generation,
        offsets: Vec<(u32, Offset)>,
    },
    /// A consumer group's committed offsets.
    Committed { group: String },
    /// Time passed on the leader.
    Tick { now: Millis },
}

impl Command {
    /// The bytes of names and records it carries (what the core counts to bound a
    /// message's size).
    pub fn payload_len(&self) -> usize {
        match self {
            Command::Produce {
                partition, batch, ..
            } => {
                partition.topic.len()
                    + batch.sequence.as_ref().map_or(0, |s| s.producer.len())
                    + batch
                        .records
                        .iter()
                        .map(|(k, v)| k.len() + v.len())
                        .sum::<usize>()
            }
            Command::Read { partition, .. } => partition.topic.len(),
            Command::Expected {
                partition,
                producer,
            } => partition.topic.len() + producer.len(),
            Command::Join {
                group,
                topic,
                member,
                ..
            } => group.len() + topic.len() + member.len(),
            Command::Heartbeat { group, member, .. } | Command::Leave { group, member } => {
                group.len() + member.len()
            }
            Command::Commit {
                group,
                member,
                offsets,
                ..
            } => group.len() + member.len() + offsets.len() * 16,
            Command::Committed { group } => group.len(),
            Command::Noop | Command::Tick { .. } => 0,
        }
    }
}
