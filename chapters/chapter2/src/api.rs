//! The JSON shapes of the client API, shared by the server and the client.
//!
//! ```text
//! GET    /kv/{key}                          200 Entry | 404
//! PUT    /kv/{key}  PutRequest              200 Entry | 409
//! DELETE /kv/{key}                          200 DeleteResponse | 404
//! GET    /health                            200 Health
//! GET    /status                            200 Status
//! errors: ErrorBody, e.g. {"error": "invalid_key", "message": "..."}
//! ```

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

/// The answer to `GET /status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The node's id.
    pub id: u64,
    /// Its role; a single node is `"standalone"`.
    pub role: String,
    /// How many keys it stores.
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
