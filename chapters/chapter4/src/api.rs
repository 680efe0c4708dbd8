//! The JSON shapes of the client API, shared by the server and the client.
//!
//! ```text
//! GET    /kv/{key}                          200 Entry | 404
//! PUT    /kv/{key}  PutRequest              200 Entry | 409
//! DELETE /kv/{key}                          200 DeleteResponse | 404
//! GET    /health                            200 Health
//! GET    /status                            200 Status
//! GET    /cluster                           200 ClusterView
//! POST   /cluster/join   JoinRequest        200 ClusterView | 409
//! POST   /cluster/leave  LeaveRequest       200 ClusterView | 404 | 409
//! errors: ErrorBody, e.g. {"error": "invalid_key", "message": "..."}
//!
//! between nodes:
//! POST   /internal/ring     Change          200 InstallResponse | 409
//! POST   /internal/handoff  HandoffRequest  200 HandoffResponse | 409
//! POST   /internal/release  ReleaseRequest  200 ReleaseResponse
//! ```
//!
//! Any node answers any `/kv/` request: it serves the keys it owns and forwards the rest
//! to their owner. Every answer says who served it (`x-served-by`) and how many times
//! the request was forwarded on the way (`x-hops`).

use serde::{Deserialize, Serialize};

use crate::membership::Change;
use crate::ring::{Member, NodeId, Ring};
use crate::store::MovedEntry;
use plumbing::json_body::Shape;

/// The response header naming the node that served a `/kv/` request.
pub const SERVED_BY: &str = "x-served-by";
/// The header counting how many times a `/kv/` request was forwarded (on requests, set
/// by the forwarding node; on responses, the count when it was served).
pub const HOPS: &str = "x-hops";

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
}

/// The answer to `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `"ok"` when the node answers at all.
    pub status: String,
    /// The node's id.
    pub id: u64,
}

/// The body of `POST /cluster/join`: the node to add (already running, not yet a member).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    /// The new node's id.
    pub id: NodeId,
    /// Its base URL.
    pub url: String,
}

/// The body of `POST /cluster/leave`: the member to remove (its keys move first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaveRequest {
    /// The member's id.
    pub id: NodeId,
}

/// One member in `GET /cluster`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    /// The member's id.
    pub id: NodeId,
    /// Its base URL.
    pub url: String,
    /// Its share of the key space (exact for consistent hashing).
    pub share: f64,
}

/// The last membership change, as `GET /cluster` summarizes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeView {
    /// The epoch it started from.
    pub from_epoch: u64,
    /// The epoch it made.
    pub to_epoch: u64,
    /// The share of the key space that changed owner (consistent hashing only).
    pub moved_share: Option<f64>,
    /// How many arcs changed owner (consistent hashing only).
    pub moved_arcs: Option<usize>,
}

/// The answer to `GET /cluster`: this node's view of the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterView {
    /// The node answering.
    pub me: NodeId,
    /// Its ring: epoch, placement, members. Clients route with it.
    pub ring: Ring,
    /// Members and their shares, for people.
    pub members: Vec<MemberView>,
    /// The old owners this node is still pulling keys from (empty when settled).
    pub pending: Vec<NodeId>,
    /// The change that made this ring, if any.
    pub last_change: Option<ChangeView>,
    /// Why a pull gave up (a bug, or an unfinished exercise), if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// The answer to `POST /internal/ring`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallResponse {
    /// The node's epoch now.
    pub epoch: u64,
    /// Whether this call changed its ring (false: it had this ring already).
    pub changed: bool,
    /// The nodes it pulls keys from.
    pub pull_from: Vec<Member>,
}

/// The body of `POST /internal/handoff`: "I am `to`; under `change`, hand me my keys."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoffRequest {
    /// The change that moves the keys (the old owner installs it if it has not yet).
    pub change: Change,
    /// The new owner asking.
    pub to: NodeId,
}

/// The answer to `POST /internal/handoff`: every key the asker gains from this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffResponse {
    /// The epoch the keys are handed over under.
    pub epoch: u64,
    /// The keys, their values and versions.
    pub entries: Vec<MovedEntry>,
}

/// The body of `POST /internal/release`: "the keys I gained from you are durable here."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// The epoch of the change.
    pub epoch: u64,
    /// The new owner.
    pub to: NodeId,
}

/// The answer to `POST /internal/release`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseResponse {
    /// How many keys the old owner deleted.
    pub removed: usize,
}

/// The answer to `GET /status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The node's id.
    pub id: u64,
    /// `"member"`, or `"outside"` for a node that is not in the ring.
    pub role: String,
    /// The epoch of its ring.
    pub epoch: u64,
    /// How many members its ring has.
    pub members: usize,
    /// The old owners it is still pulling keys from.
    pub pending: Vec<NodeId>,
    /// How many keys it stores (after a change, possibly some it handed over and has not
    /// yet been told to release).
    pub keys: usize,
    /// The version of its latest write.
    pub last_version: u64,
    /// Every write up to this version is durable.
    pub durable_version: u64,
    /// The log's records, fsyncs and compactions since the node started.
    pub log: crate::wal::LogStats,
    /// The fsync policy.
    pub fsync: crate::wal::FsyncPolicy,
    /// Milliseconds since it started.
    pub uptime_ms: u64,
}

// How each route's body is described to a client whose body is refused
// (`extract::JsonBody`).
impl Shape for PutRequest {
    const SHAPE: &'static str = r#"{"value": string, "if_version"?: number}"#;
}

impl Shape for JoinRequest {
    const SHAPE: &'static str = r#"{"id": number, "url": string}"#;
}

impl Shape for LeaveRequest {
    const SHAPE: &'static str = r#"{"id": number}"#;
}

impl Shape for crate::membership::Change {
    const SHAPE: &'static str = r#"{"from": ring, "to": ring}"#;
}

impl Shape for HandoffRequest {
    const SHAPE: &'static str = r#"{"change": {"from": ring, "to": ring}, "to": number}"#;
}

impl Shape for ReleaseRequest {
    const SHAPE: &'static str = r#"{"epoch": number, "to": number}"#;
}
