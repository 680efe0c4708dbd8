//! Chapter 7's benchmark: how long a moving shard is unavailable against its size, how
//! the other shards fare while shards move, throughput against the number of groups, and
//! requests per call.

use serde::{Deserialize, Serialize};

use crate::machine::Machine;

/// Moves of shards of one size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MoveRun {
    /// What the shard held when it moved (keys, values and answers), in bytes.
    pub shard_bytes: u64,
    /// Moves measured.
    pub moves: usize,
    /// A client's longest wait between two answered reads of the moving shard, per move
    /// (ms), sorted.
    pub unavailable_ms: Vec<f64>,
    /// The median of `unavailable_ms`.
    pub p50_ms: f64,
    /// The 99th percentile of `unavailable_ms` (the largest, with fewer than 100 moves).
    pub p99_ms: f64,
    /// Calls per second on the shards that did not move, between moves.
    pub others_steady_per_s: f64,
    /// The same, while the shard was moving.
    pub others_moving_per_s: f64,
}

/// One number of groups, every shard serving, clients writing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupsRun {
    /// Groups, three replicas each.
    pub groups: u64,
    /// Calls answered per second.
    pub calls_per_s: f64,
    /// Requests between replicas (Raft's messages, batched) per answered call.
    pub peer_requests_per_call: f64,
    /// Requests from clients to replicas per answered call (retries and refreshes
    /// included).
    pub client_requests_per_call: f64,
}

/// The whole benchmark.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchResults {
    /// The benchmark's name.
    pub benchmark: String,
    /// Where it ran.
    pub machine: Machine,
    /// When.
    pub date: String,
    /// The number of shards.
    pub shards: usize,
    /// One per shard size.
    pub moves: Vec<MoveRun>,
    /// One per number of groups.
    pub groups: Vec<GroupsRun>,
}
