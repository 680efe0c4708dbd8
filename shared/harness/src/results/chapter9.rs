//! Chapter 9's benchmark: a partitioned log's throughput against producers and
//! partitions, a message's time from send to a consumer, a rebalance's pause, and what
//! exactly once costs against at least once.

use serde::{Deserialize, Serialize};

use crate::machine::Machine;

/// Producers sending at once, each one message at a time (a numbered batch of one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Throughput {
    pub producers: usize,
    pub partitions: u32,
    pub messages: usize,
    /// Acknowledged messages per second, per run.
    pub per_second: Vec<f64>,
    pub median: f64,
}

/// Percentiles of a message's time from its send to a consumer's read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Latency {
    pub samples: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// How long a consumer group reads nothing of a member's partitions after it goes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pause {
    /// `"a member crashed"` or `"a member left"`.
    pub name: String,
    pub pause_ms: Vec<f64>,
    pub median_ms: f64,
}

/// One member consuming records already in the log, to the end, under a semantics.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Consumed {
    /// `"at least once"` or `"exactly once"`.
    pub name: String,
    pub records: usize,
    /// Time to consume them all, per run (ms).
    pub ms: Vec<f64>,
    pub median_ms: f64,
}

/// The whole benchmark.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchResults {
    pub benchmark: String,
    pub machine: Machine,
    pub date: String,
    /// Groups of three replicas.
    pub groups: u32,
    /// A member not heard from for this long is out of its group.
    pub session_timeout_ms: u64,
    /// 4 partitions, 1 to 8 producers.
    pub by_producers: Vec<Throughput>,
    /// 4 producers, 1 to 8 partitions.
    pub by_partitions: Vec<Throughput>,
    pub latency: Latency,
    pub pauses: Vec<Pause>,
    pub consumed: Vec<Consumed>,
}
