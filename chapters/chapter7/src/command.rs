//! What a replicated log of chapter 7 holds: an operation of a group's machine or of the
//! configuration service's, or the no-op a new leader appends.
//!
//! Chapter 6's core and protocol are carried unchanged (`raft.rs`, `protocol.rs`); they
//! need from this file only a `Command` with a `Noop`. Here it is what this chapter's
//! machines apply ([`crate::machine::Machine`]).

use serde::{Deserialize, Serialize};

use crate::group::GroupOp;
use crate::service::ServiceOp;
use crate::shard::KvCommand;
pub use crate::shard::RequestId;

/// The largest command a replica proposes, as JSON. An entry travels to the followers
/// whole, inside one request of at most [`crate::node::MAX_REQUEST_BYTES`]: a larger one
/// could never be delivered, and the group's log would stop at it. (A big shard moves in
/// pieces smaller than this: see [`crate::staging`].)
pub const MAX_ENTRY_BYTES: usize = 6 * 1024 * 1024;

/// One log entry's operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Command {
    /// Nothing: the entry a new leader appends to commit its predecessors' entries.
    Noop,
    /// An operation of a replica group's sharded machine.
    Group { op: GroupOp },
    /// An operation of the configuration service's machine.
    Service { op: ServiceOp },
}

impl Command {
    /// The bytes of keys, values and shard data it carries (what the core counts to bound
    /// a message's size).
    pub fn payload_len(&self) -> usize {
        match self {
            Command::Group {
                op: GroupOp::Client(command),
            } => match command {
                KvCommand::Get { key } | KvCommand::Delete { key, .. } => key.len(),
                KvCommand::Put { key, value, .. } => key.len() + value.len(),
            },
            Command::Group {
                op: GroupOp::Install { data, .. },
            }
            | Command::Group {
                op: GroupOp::Stage { piece: data, .. },
            } => data.bytes(),
            Command::Noop | Command::Group { .. } | Command::Service { .. } => 0,
        }
    }
}
