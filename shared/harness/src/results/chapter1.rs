//! Chapter 1's benchmark: throughput and latency of a single node, per target and client count.

use serde::{Deserialize, Serialize};

use crate::load::LoadReport;
use crate::machine::Machine;

/// The results file: every run, with the machine and date.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchResults {
    /// Which benchmark.
    pub benchmark: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Where it ran.
    pub machine: Machine,
    /// One report per (target, client count); `name` is `constant GET`, `GET` or `PUT`.
    pub runs: Vec<LoadReport>,
}
