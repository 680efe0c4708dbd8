//! Chapter 5's benchmark: time without a leader, per election timeout range.

use serde::{Deserialize, Serialize};

use crate::machine::Machine;

/// One election timeout range's elections.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ElectionRun {
    /// The shortest election timeout (ms).
    pub min_ms: u64,
    /// The longest election timeout (ms).
    pub max_ms: u64,
    /// The heartbeat interval (ms).
    pub heartbeat_ms: u64,
    /// Time from the crash to a new leader, per trial, sorted (ms).
    pub samples_ms: Vec<f64>,
    /// Trials that found no leader within the cap (not in `samples_ms`).
    pub censored: usize,
    /// Median (ms).
    pub median_ms: f64,
    /// 99th percentile (ms).
    pub p99_ms: f64,
}

/// The kill-the-leader experiment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailoverRun {
    /// The election timeout range and heartbeat of the group.
    pub timing: TimingMs,
    /// Time from SIGKILL to the client's next acknowledged write, per trial, sorted (ms).
    pub samples_ms: Vec<f64>,
    /// Median (ms).
    pub median_ms: f64,
    /// 99th percentile (ms).
    pub p99_ms: f64,
    /// The longest (ms).
    pub max_ms: f64,
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
    /// Nodes per group.
    pub nodes: usize,
    /// One per election timeout range.
    pub elections: Vec<ElectionRun>,
    /// The process experiment, if run.
    pub failover: Option<FailoverRun>,
}

/// The timeouts a group ran with (chapter 5's `Timing`, as the benchmark records it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimingMs {
    /// The shortest election timeout.
    pub election_min_ms: u64,
    /// The longest election timeout.
    pub election_max_ms: u64,
    /// The heartbeat interval.
    pub heartbeat_ms: u64,
}
