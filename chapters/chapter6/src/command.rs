//! What a log entry asks chapter 6's state machine to do: the key-value commands, and the
//! no-op a new leader appends. The core (`raft.rs`) and the protocol (`protocol.rs`) need
//! only a `Command` with a `Noop`; this file is the key-value store's.

use serde::{Deserialize, Serialize};

/// Who sent a write, so that a retry is recognised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestId {
    /// The client's id (`x-client-id`).
    pub client: String,
    /// The write's number for that client (`x-request-id`).
    pub seq: u64,
}

/// What a log entry asks the state machine to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Nothing: the entry a new leader appends to commit its predecessors' entries.
    Noop,
    /// A read, ordered with the writes by going through the log.
    Get {
        /// The key.
        key: String,
    },
    /// A write, conditional if `if_version` is set.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// Write only if the key is at this version (0: absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        if_version: Option<u64>,
        /// The client's request id, if it sent one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<RequestId>,
    },
    /// A delete.
    Delete {
        /// The key.
        key: String,
        /// The client's request id, if it sent one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<RequestId>,
    },
}

impl Command {
    /// The bytes of keys and values it carries (what bounds a message's size).
    pub fn payload_len(&self) -> usize {
        match self {
            Command::Noop => 0,
            Command::Get { key } | Command::Delete { key, .. } => key.len(),
            Command::Put { key, value, .. } => key.len() + value.len(),
        }
    }
}
