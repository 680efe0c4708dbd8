//! Chapter 2's benchmark: durable writes with fsync per write against group commit, the disk's own fsync latency, and recovery time.

use serde::{Deserialize, Serialize};

use crate::load::{LoadReport, Percentiles};
use crate::machine::Machine;

/// How many records a run's fsyncs covered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncCount {
    /// `always` or `group`.
    pub name: String,
    /// Concurrent clients.
    pub clients: usize,
    /// The log's counters at the end of the run (warm-up included).
    pub log: LogCounters,
    /// Records per fsync.
    pub writes_per_fsync: f64,
}

/// The recovery measurement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecoveryResult {
    /// Records replayed.
    pub records: u64,
    /// Size of the log.
    pub log_bytes: u64,
    /// Seconds to open the store (read, verify and replay the log).
    pub seconds: f64,
}

/// The results file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchResults {
    /// Which benchmark.
    pub benchmark: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Where it ran.
    pub machine: Machine,
    /// Latency of one 100-byte append plus fdatasync on this disk, in microseconds.
    pub fsync_latency_us: Percentiles,
    /// One report per (policy, client count); `name` is `always` or `group`.
    pub runs: Vec<LoadReport>,
    /// Records per fsync for each run.
    pub syncs: Vec<SyncCount>,
    /// Recovery time.
    pub recovery: RecoveryResult,
}

/// The log's counters (chapter 2's `LogStats`, as the benchmark records them).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogCounters {
    /// Records appended.
    pub records: u64,
    /// fsyncs made.
    pub syncs: u64,
    /// Compactions made.
    pub compactions: u64,
}
