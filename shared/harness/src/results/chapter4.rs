//! Chapter 4's benchmark: balance against virtual nodes, keys moved per join, and routing throughput.

use serde::{Deserialize, Serialize};

use crate::load::LoadReport;
use crate::machine::Machine;

/// Imbalance at one vnode count.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BalancePoint {
    /// Virtual nodes per member.
    pub vnodes: u32,
    /// Largest share over mean share, averaged over the id sets.
    pub max_over_mean: f64,
    /// The worst of the id sets.
    pub worst_max_over_mean: f64,
    /// Smallest share over mean share, averaged over the id sets.
    pub min_over_mean: f64,
}

/// Keys moved when growing from `nodes` to `nodes + 1`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MovementPoint {
    /// Members before the join.
    pub nodes: usize,
    /// 1 / (nodes + 1): the least any placement can move.
    pub ideal: f64,
    /// Consistent hashing, exact (the moved arcs' share of the circle).
    pub consistent: f64,
    /// Consistent hashing, counted over the sampled keys.
    pub consistent_sampled: f64,
    /// mod-N, counted over the sampled keys.
    pub mod_n_sampled: f64,
}

/// One routing run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoutingRun {
    /// `entry-node` or `client-routed`.
    pub routing: String,
    /// The load generator's report.
    pub report: LoadReport,
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
    /// Members in the balance part.
    pub balance_nodes: usize,
    /// mod-N's imbalance over the sampled keys, for comparison.
    pub mod_n_max_over_mean: f64,
    /// Imbalance against vnodes.
    pub balance: Vec<BalancePoint>,
    /// Vnodes per member in the movement part.
    pub movement_vnodes: u32,
    /// Keys moved per join.
    pub movement: Vec<MovementPoint>,
    /// Concurrent writers in the routing part.
    pub clients: usize,
    /// Entry node against client-side routing.
    pub routing: Vec<RoutingRun>,
}
