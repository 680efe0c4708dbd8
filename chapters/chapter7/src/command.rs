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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::protocol::{Entry, Message};
    use crate::service::Change;
    use crate::shard::ShardData;

    /// Every kind of command reaches a follower inside chapter 6's `Append` message, as
    /// JSON, and must come out the same.
    #[test]
    fn chapter_every_command_survives_the_wire() {
        let mut data = ShardData::default();
        data.apply(&KvCommand::Put {
            key: "k".into(),
            value: "v".into(),
            if_version: None,
            request: Some(RequestId {
                client: "c".into(),
                seq: 1,
            }),
        });
        let commands = [
            Command::Noop,
            Command::Group {
                op: GroupOp::Install {
                    shard: 3,
                    num: 2,
                    data,
                },
            },
            Command::Service {
                op: ServiceOp::Propose {
                    base: 1,
                    change: Change::Join(BTreeMap::from([(7, vec!["http://a".into()])])),
                },
            },
        ];
        for command in commands {
            let message = Message::Append {
                term: 1,
                prev_index: 0,
                prev_term: 0,
                entries: vec![Entry {
                    index: 1,
                    term: 1,
                    command: command.clone(),
                }],
                commit: 0,
            };
            let json = serde_json::to_string(&message).expect("serializes");
            let back: Message = serde_json::from_str(&json)
                .unwrap_or_else(|e| panic!("{json} does not read back: {e}"));
            assert_eq!(back, message);
        }
    }
}
