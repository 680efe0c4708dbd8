//! Carried from `chapters/chapter6/src/api.rs` by `cargo xtask exercises`:
//! chapter 6's JSON shapes. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs of this chapter's own: `command::{Command, RequestId}`.
//!
//! The JSON shapes of the client API and of the messages between nodes.
//!
//! ```text
//! GET    /kv/{key}                          200 Entry | 404
//! PUT    /kv/{key}  PutRequest              200 Entry | 409
//! DELETE /kv/{key}                          200 DeleteResponse | 404
//! GET    /health                            200 Health
//! GET    /status                            200 Status
//! errors: ErrorBody, e.g. {"error": "not_leader", "message": "...", "leader": "http://..."}
//!
//! a write may carry, to be applied at most once however often it is retried:
//!   x-client-id: <1 to 64 characters>    x-request-id: <a number that grows per write>
//!
//! between nodes:
//! POST   /internal/raft  Batch              202 (answers travel as messages too)
//!        (needs the cluster's key: x-cluster-key)
//! ```

use serde::{Deserialize, Serialize};

use crate::protocol::Message;
use plumbing::json_body::Shape;

/// The header naming a client, for exactly-once writes.
pub const CLIENT_ID_HEADER: &str = "x-client-id";
/// The header numbering a client's write; a retry repeats the number.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The body of `PUT /kv/{key}`. Unknown fields are rejected, so a typo such as
/// `"if_verison"` is an error rather than a silently unconditional write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutRequest {
    /// The value to store.
    pub value: String,
    /// Compare-and-set: write only if the key is at this version (0: only if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_version: Option<u64>,
}

/// A key with its value and version: the answer to `GET` and `PUT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// Its value.
    pub value: String,
    /// The version of the write that stored the value: its log index.
    pub version: u64,
}

/// The answer to `DELETE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteResponse {
    /// The deleted key.
    pub key: String,
    /// The version of the delete.
    pub version: u64,
}

/// Every error response: a code to match on, a message to read, and details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code: `not_found`, `invalid_key`, `version_mismatch`, ...
    pub error: String,
    /// What went wrong, for a person.
    pub message: String,
    /// With `version_mismatch`: the key's current version (0 if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u64>,
    /// With `not_found` on a key: the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// With `not_leader`: where the leader is, if this node knows (`null` if not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<Option<String>>,
}

/// The answer to `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `"ok"` when the node answers at all.
    pub status: String,
    /// The node's id.
    pub id: u64,
}

pub use crate::command::{Command, RequestId};

/// One message between nodes, with its sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// The sender's id.
    pub from: u64,
    /// Where clients reach the sender (how a follower learns the leader's address).
    pub from_url: String,
    /// The receiver's id (a message for another node is refused).
    pub to: u64,
    /// The message.
    pub message: Message,
}

/// The body of `POST /internal/raft`: a sender's messages, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// The messages.
    pub envelopes: Vec<Envelope>,
}

/// How many of its log's last entries a node's status shows.
pub const LOG_TAIL: u64 = 48;

/// The answer to `GET /status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The node's id.
    pub id: u64,
    /// `follower`, `candidate` or `leader`.
    pub role: String,
    /// The highest term this node has seen.
    pub term: u64,
    /// Whom it voted for in that term.
    pub voted_for: Option<u64>,
    /// The leader's id, if known.
    pub leader_id: Option<u64>,
    /// The leader's address, if known.
    pub leader: Option<String>,
    /// How many keys its map holds.
    pub keys: usize,
    /// The index of the last entry in its log.
    pub last_index: u64,
    /// The term of that entry.
    pub last_term: u64,
    /// Entries up to here are committed (as far as this node knows).
    pub commit_index: u64,
    /// Entries up to here are applied to its map.
    pub applied_index: u64,
    /// Elections this node started since it started.
    pub elections: u64,
    /// Milliseconds until its election timer fires; `None` on a leader (it sends
    /// heartbeats instead).
    #[serde(default)]
    pub election_due_ms: Option<u64>,
    /// The terms of its log's last entries (at most [`LOG_TAIL`]), oldest first; the first
    /// is the entry at `log_tail_from`. What the live cluster's page draws.
    #[serde(default)]
    pub log_tail: Vec<u64>,
    /// The index of the first entry of `log_tail`.
    #[serde(default)]
    pub log_tail_from: u64,
    /// The last index its snapshot covers (0: no snapshot yet).
    pub snapshot_index: u64,
    /// The term of the entry at `snapshot_index`.
    pub snapshot_term: u64,
    /// The size of its snapshot's data, in bytes.
    pub snapshot_bytes: u64,
    /// How many entries its log holds in memory (those after the snapshot).
    pub log_entries: u64,
    /// The size of its log file, in bytes.
    pub log_bytes: u64,
    /// Snapshots it took of its own state machine since it started.
    pub snapshots_taken: u64,
    /// Snapshots it installed from a leader since it started.
    pub snapshots_installed: u64,
    /// Entries it received in appends since it started (a follower that caught up
    /// through a snapshot received few).
    pub entries_received: u64,
    /// The election timeout range and heartbeat interval, in milliseconds.
    pub timing: crate::raft::Timing,
    /// Milliseconds since it started.
    pub uptime_ms: u64,
    /// If the node's core stopped (an unfinished exercise, a bug), why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

// How each route's body is described to a client whose body is refused
// (`extract::JsonBody`).
impl Shape for PutRequest {
    const SHAPE: &'static str = r#"{"value": string, "if_version"?: number}"#;
}

impl Shape for Batch {
    const SHAPE: &'static str = r#"{"envelopes": [{"from": number, "to": number, "from_url": string, "message": message}]}"#;
}
