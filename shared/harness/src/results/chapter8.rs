//! Chapter 8's benchmark: a job's time against its number of workers, what one slow
//! worker costs with and without backup attempts, and what losing the coordinator's
//! leader mid-job costs.

use serde::{Deserialize, Serialize};

use crate::machine::Machine;

/// One job shape run several times: its times, and the attempts each run started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRuns {
    /// What was run (`"4 workers"`, `"one worker 10x slower, no backups"`, ...).
    pub name: String,
    /// Worker processes.
    pub workers: usize,
    /// Each map and reduce task takes at least this long (ms; 0: only its computing).
    pub task_ms: u64,
    /// From the first worker's start to the coordinator's last commit, per run (ms).
    pub job_ms: Vec<f64>,
    /// The median of `job_ms`.
    pub median_ms: f64,
    /// Attempts started per run (tasks: maps + reduces; more is backups and redos).
    pub attempts: Vec<usize>,
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
    /// The corpus: bytes of input, map tasks, reduce tasks.
    pub input_bytes: u64,
    pub maps: usize,
    pub reduces: usize,
    /// Job time against workers, tasks of `task_ms` (a model of bigger splits).
    pub scaling: Vec<JobRuns>,
    /// The same, tasks that only compute (the machine's cores are the limit).
    pub compute_only: Vec<JobRuns>,
    /// A straggler with and without backups, and a lost leader, beside the plain job.
    pub faults: Vec<JobRuns>,
}
