//! Chapter 3's benchmark: writes per acknowledgement mode and group size, and follower lag.

use serde::{Deserialize, Serialize};

use crate::load::LoadReport;
use crate::machine::Machine;

/// One run's replication lag, in entries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Lag {
    /// Mean over samples of the largest follower lag.
    pub mean: f64,
    /// The largest lag seen.
    pub max: u64,
    /// Samples: (milliseconds since the run started, largest follower lag).
    pub samples: Vec<(u64, u64)>,
}

/// One (mode, group size) run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModeRun {
    /// `async`, `quorum` or `all`.
    pub mode: String,
    /// Nodes in the group.
    pub nodes: usize,
    /// The load generator's report.
    pub report: LoadReport,
    /// The followers' lag during the run.
    pub lag: Lag,
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
    /// Concurrent writers in every run.
    pub clients: usize,
    /// One per (mode, group size).
    pub runs: Vec<ModeRun>,
}
