//! The JSON shapes of the client API, shared by the server and the client.
//!
//! ```text
//! GET    /kv/{key}                          200 Entry | 404
//! PUT    /kv/{key}  PutRequest              200 Entry | 409
//! DELETE /kv/{key}                          200 DeleteResponse | 404
//! GET    /health                            200 Health
//! GET    /status                            200 Status
//! errors: ErrorBody, e.g. {"error": "invalid_key", "message": "..."}
//!
//! between nodes:
//! POST   /internal/append    AppendRequest    200 AppendResponse
//! POST   /internal/snapshot  SnapshotRequest  200 AppendResponse
//! POST   /internal/promote                    200 Status   (make this node the leader)
//! ```

use std::collections::BTreeMap;

use plumbing::json_body::Shape;
use serde::{Deserialize, Serialize};

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
    /// The version of the write that stored the value.
    pub version: u64,
    /// On a read: how far the node that answered has applied its log. A follower's
    /// answer is only as fresh as this; compare it with the leader's `commit_index`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_index: Option<u64>,
    /// On a read: the role of the node that answered (`leader` or `follower`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_by: Option<String>,
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

// The log's entry is the replication protocol's (see `replication`), sent as it is.
pub use crate::replication::LogEntry;

/// A snapshot: the map after every entry up to `last_index`, plus the entries after it
/// that the log still needed when it was taken.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// Every entry up to here is in `entries`.
    pub last_index: u64,
    /// The term of the entry at `last_index`.
    pub last_term: u64,
    /// Each key's value and version.
    pub entries: BTreeMap<String, SnapshotValue>,
    /// Entries after `last_index` that were in the log (not yet applied) when it was taken.
    #[serde(default)]
    pub tail: Vec<LogEntry>,
}

/// One key in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotValue {
    /// The value.
    pub value: String,
    /// The index of the write that stored it.
    pub version: u64,
}

/// The body of `POST /internal/snapshot`: the leader's snapshot, for a follower whose
/// missing entries were compacted away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotRequest {
    /// The leader's term.
    pub term: u64,
    /// The leader's id.
    pub leader_id: u64,
    /// Where clients reach the leader.
    pub leader_url: String,
    /// The snapshot.
    pub snapshot: Snapshot,
}

/// What the leader knows of one follower, in `/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowerStatus {
    /// The follower's id.
    pub id: u64,
    /// Where the leader reaches it.
    pub url: String,
    /// The next index the leader will send it.
    pub next_index: u64,
    /// The last index known to be in its log.
    pub match_index: u64,
    /// Entries it lacks: the leader's last index minus `match_index`.
    pub lag: u64,
    /// Calls that failed in a row (0: reachable).
    pub failures: u32,
}

/// The answer to `GET /status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The node's id.
    pub id: u64,
    /// `leader` or `follower`.
    pub role: String,
    /// The highest term this node has seen.
    pub term: u64,
    /// The leader's id, if known.
    pub leader_id: Option<u64>,
    /// The leader's address, if known.
    pub leader: Option<String>,
    /// When writes are acknowledged.
    pub ack_mode: crate::replication::AckMode,
    /// How many keys its map holds.
    pub keys: usize,
    /// The index of the last entry in its log.
    pub last_index: u64,
    /// The term of that entry.
    pub last_term: u64,
    /// The last index durable in its own log.
    pub durable_index: u64,
    /// Entries up to here are committed (as far as this node knows).
    pub commit_index: u64,
    /// Entries up to here are applied to its map.
    pub applied_index: u64,
    /// The last index its snapshot covers.
    pub snapshot_index: u64,
    /// The log's records, fsyncs and compactions since the node started.
    pub log: LogStats,
    /// On the leader: each follower's progress.
    pub followers: Vec<FollowerStatus>,
    /// Milliseconds since it started.
    pub uptime_ms: u64,
}

/// What the committer has done since the node started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogStats {
    /// Entries appended.
    pub records: u64,
    /// fsyncs of the log.
    pub syncs: u64,
    /// Snapshots written (compactions and snapshots installed from the leader).
    pub snapshots: u64,
}

// How each route's body is described to a client whose body is refused
// (`extract::JsonBody`).
impl Shape for PutRequest {
    const SHAPE: &'static str = r#"{"value": string, "if_version"?: number}"#;
}

impl Shape for crate::replication::AppendRequest {
    const SHAPE: &'static str = r#"{"term": number, "leader_id": number, "leader_url": string, "prev_index": number, "prev_term": number, "entries": [entry], "leader_commit": number}"#;
}

impl Shape for SnapshotRequest {
    const SHAPE: &'static str =
        r#"{"term": number, "leader_id": number, "leader_url": string, "snapshot": snapshot}"#;
}
