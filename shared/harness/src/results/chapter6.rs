//! Chapter 6's benchmark: what a node holds over a long run, how a far-behind follower
//! catches up, and how long a restart takes, with and without snapshots.

use serde::{Deserialize, Serialize};

use crate::machine::Machine;

/// One point of the long run, on the leader.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Held {
    /// Writes so far.
    pub writes: u64,
    /// The log file's bytes.
    pub log_bytes: u64,
    /// The snapshot file's data bytes (0 without snapshots).
    pub snapshot_bytes: u64,
    /// Entries held in memory.
    pub log_entries: u64,
}

/// The long run, in one mode.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LongRun {
    /// `"snapshots"` or `"no snapshots"`.
    pub mode: String,
    /// Snapshot interval in entries (`None`: never).
    pub every: Option<u64>,
    /// Sampled as the writes go.
    pub points: Vec<Held>,
}

/// A history of `writes` writes, in one mode: a follower that missed all of them
/// catching up, and a replica restarting over it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryRun {
    /// `"snapshots"` or `"no snapshots"`.
    pub mode: String,
    /// Writes in the history.
    pub writes: u64,
    /// From the follower's restart to holding the leader's state (ms), its own restart
    /// included.
    pub catch_up_ms: f64,
    /// Entries sent to it.
    pub entries_sent: u64,
    /// Snapshot pieces sent to it.
    pub pieces_sent: u64,
    /// A replica's restart: recovery from disk to a state machine ready to serve (ms).
    pub restart_ms: f64,
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
    /// Distinct keys the writes cycle over.
    pub keys: u64,
    /// The long run, with and without snapshots.
    pub long_runs: Vec<LongRun>,
    /// Catch-up and restart, per history length and mode.
    pub histories: Vec<HistoryRun>,
}
