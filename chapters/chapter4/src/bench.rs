//! The chapter's benchmark, in three parts:
//!
//! 1. **Balance**: for 10 nodes and 1 to 1,000 virtual nodes each, the load imbalance
//!    (the largest member's share of the key space over the mean share), computed exactly
//!    from the ring's arcs, averaged over 20 different sets of node ids; mod-N for
//!    comparison, from 100,000 sampled keys.
//! 2. **Movement**: when an N-node cluster grows to N + 1 (N = 1 to 16), the fraction of
//!    keys that change owner, for mod-N and for consistent hashing (128 vnodes), against
//!    the ideal 1/(N + 1); exact from the moved arcs, and from 100,000 keys.
//! 3. **Routing**: three real nodes on loopback; `clients` concurrent writers either all
//!    through one entry node (which forwards two keys in three) or routed by the
//!    cluster's map straight to each key's owner.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use harness::TestNode;
use harness::cluster_key::ClusterKey;
use harness::load::LoadSpec;
use harness::machine::{Machine, today};
use harness::node::NodeSetup;
pub use harness::results::chapter4::{BalancePoint, BenchResults, MovementPoint, RoutingRun};

use crate::client::Client;
use crate::cluster_client::ClusterClient;
use crate::node::Config;
use crate::ring::{Member, Placement, Ring, moved_arcs};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Virtual-node counts for the balance part.
    pub vnodes: Vec<u32>,
    /// Nodes in the balance part.
    pub balance_nodes: usize,
    /// Vnodes per member in the movement part.
    pub movement_vnodes: u32,
    /// Largest cluster size grown from in the movement part.
    pub movement_max_nodes: usize,
    /// Keys sampled where a count is needed.
    pub sample_keys: usize,
    /// Concurrent writers in the routing part.
    pub clients: usize,
    /// Measured time per routing run.
    pub duration: Duration,
    /// Warm-up per routing run.
    pub warmup: Duration,
    /// Where the routing part's data folders go.
    pub dir: PathBuf,
    /// Bytes per value.
    pub value_bytes: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            vnodes: vec![1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
            balance_nodes: 10,
            movement_vnodes: 128,
            movement_max_nodes: 16,
            sample_keys: 100_000,
            clients: 32,
            duration: Duration::from_secs(3),
            warmup: Duration::from_millis(500),
            dir: PathBuf::from("."),
            value_bytes: 100,
        }
    }
}

/// `n` members with ids `first..first + n` (URLs are placeholders: placement ignores them).
pub fn members(first: u64, n: usize) -> Vec<Member> {
    (first..first + n as u64)
        .map(|id| Member {
            id,
            url: format!("http://node-{id}.invalid"),
        })
        .collect()
}

/// The largest and smallest share over the mean share.
pub fn imbalance(ring: &Ring) -> (f64, f64) {
    let shares = ring.shares();
    let mean = 1.0 / shares.len().max(1) as f64;
    let max = shares.iter().map(|s| s.1).fold(0.0, f64::max);
    let min = shares.iter().map(|s| s.1).fold(1.0, f64::min);
    (max / mean, min / mean)
}

/// The fraction of `keys` whose owner differs between the rings.
pub fn moved_fraction(old: &Ring, new: &Ring, keys: &[String]) -> f64 {
    let moved = keys
        .iter()
        .filter(|k| old.owner(k).map(|m| m.id) != new.owner(k).map(|m| m.id))
        .count();
    moved as f64 / keys.len().max(1) as f64
}

/// The balance part.
pub fn balance(options: &BenchOptions) -> anyhow::Result<(Vec<BalancePoint>, f64)> {
    const ID_SETS: u64 = 20;
    let mut points = Vec::new();
    for &vnodes in &options.vnodes {
        let (mut max_sum, mut min_sum, mut worst) = (0.0, 0.0, 0.0f64);
        for set in 0..ID_SETS {
            let ring = Ring::new(
                1,
                Placement::Consistent { vnodes },
                members(1 + set * 100, options.balance_nodes),
            )?;
            let (max, min) = imbalance(&ring);
            max_sum += max;
            min_sum += min;
            worst = worst.max(max);
        }
        points.push(BalancePoint {
            vnodes,
            max_over_mean: max_sum / ID_SETS as f64,
            worst_max_over_mean: worst,
            min_over_mean: min_sum / ID_SETS as f64,
        });
    }
    let ring = Ring::new(1, Placement::ModN, members(1, options.balance_nodes))?;
    let mut counts = vec![0usize; options.balance_nodes];
    for key in sample_keys(options.sample_keys) {
        if let Some(owner) = ring.owner(&key) {
            counts[(owner.id - 1) as usize] += 1;
        }
    }
    let mean = options.sample_keys as f64 / options.balance_nodes as f64;
    let mod_n = counts.iter().copied().max().unwrap_or(0) as f64 / mean;
    Ok((points, mod_n))
}

/// The movement part.
pub fn movement(options: &BenchOptions) -> anyhow::Result<Vec<MovementPoint>> {
    let keys = sample_keys(options.sample_keys);
    let consistent = Placement::Consistent {
        vnodes: options.movement_vnodes,
    };
    let mut points = Vec::new();
    for n in 1..=options.movement_max_nodes {
        let before = Ring::new(1, consistent, members(1, n))?;
        let after = Ring::new(2, consistent, members(1, n + 1))?;
        let exact = moved_arcs(&before, &after)
            .unwrap_or_default()
            .iter()
            .map(|m| m.fraction())
            .sum();
        let mod_before = Ring::new(1, Placement::ModN, members(1, n))?;
        let mod_after = Ring::new(2, Placement::ModN, members(1, n + 1))?;
        points.push(MovementPoint {
            nodes: n,
            ideal: 1.0 / (n + 1) as f64,
            consistent: exact,
            consistent_sampled: moved_fraction(&before, &after, &keys),
            mod_n_sampled: moved_fraction(&mod_before, &mod_after, &keys),
        });
    }
    Ok(points)
}

/// `n` keys, `key-0`, `key-1`, ...
pub fn sample_keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("key-{i}")).collect()
}

/// Starts `n` founding members (ids 1..=n) in this process, talking directly.
pub fn start_cluster(
    n: usize,
    placement: Placement,
    dir: &Path,
    cluster_key: &ClusterKey,
    tune: impl Fn(&mut Config),
) -> anyhow::Result<Vec<TestNode>> {
    let addrs = harness::node::free_addrs(n)?;
    let founders: Vec<Member> = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| Member {
            id: i as u64 + 1,
            url: format!("http://{a}"),
        })
        .collect();
    let mut nodes = Vec::with_capacity(n);
    for (member, &addr) in founders.iter().zip(&addrs) {
        let mut config = Config {
            id: member.id,
            members: founders.clone(),
            placement,
            data_dir: dir.join(format!("node-{}", member.id)),
            cluster_key: cluster_key.clone(),
            ..Config::default()
        };
        tune(&mut config);
        let setup = NodeSetup {
            id: member.id,
            peers: Vec::new(),
            data_dir: Some(config.data_dir.clone()),
            addr: Some(addr),
            cluster_key: Some(cluster_key.clone()),
        };
        nodes.push(TestNode::start_with(setup, move |ctx| {
            crate::server::run(ctx.listener, config.clone(), ctx.shutdown)
        })?);
    }
    Ok(nodes)
}

/// Starts node `id` outside any cluster, ready to be joined; returns it and its URL.
pub fn start_outside(
    id: u64,
    placement: Placement,
    dir: &Path,
    cluster_key: &ClusterKey,
    tune: impl Fn(&mut Config),
) -> anyhow::Result<(TestNode, String)> {
    let addr = harness::node::free_addrs(1)?[0];
    let mut config = Config {
        id,
        placement,
        data_dir: dir.join(format!("node-{id}")),
        cluster_key: cluster_key.clone(),
        ..Config::default()
    };
    tune(&mut config);
    let setup = NodeSetup {
        id,
        peers: Vec::new(),
        data_dir: Some(config.data_dir.clone()),
        addr: Some(addr),
        cluster_key: Some(cluster_key.clone()),
    };
    let node = TestNode::start_with(setup, move |ctx| {
        crate::server::run(ctx.listener, config.clone(), ctx.shutdown)
    })?;
    Ok((node, format!("http://{addr}")))
}

/// The routing part.
pub async fn routing(options: &BenchOptions) -> anyhow::Result<Vec<RoutingRun>> {
    let scratch = tempfile::Builder::new()
        .prefix("chapter4-bench-")
        .tempdir_in(&options.dir)?;
    let value = "v".repeat(options.value_bytes);
    let mut runs = Vec::new();
    for routing in ["entry-node", "client-routed"] {
        let mut nodes = start_cluster(
            3,
            Placement::Consistent { vnodes: 128 },
            &scratch.path().join(routing),
            &ClusterKey::random(),
            |_| {},
        )?;
        let entry = Client::new(&nodes[0].url())?;
        let routed = ClusterClient::connect(&nodes[0].url()).await?;
        let spec = LoadSpec {
            name: routing.into(),
            clients: options.clients,
            duration: options.duration,
            warmup: options.warmup,
        };
        let state = Arc::new((entry, routed, value.clone()));
        let direct = routing == "client-routed";
        let report = harness::load::run(&spec, move |c, seq| {
            let state = Arc::clone(&state);
            async move {
                let (entry, routed, value) = &*state;
                let key = format!("k{c}-{}", seq % 1000);
                if direct {
                    routed.put(&key, value).await.map(drop)
                } else {
                    entry.put(&key, value).await.map(drop)
                }
            }
        })
        .await;
        eprintln!(
            "{routing:>13}: {:>8.0} writes/s, p50 {:>6} µs, p99 {:>6} µs",
            report.throughput, report.latency_us.p50, report.latency_us.p99
        );
        runs.push(RoutingRun {
            routing: routing.into(),
            report,
        });
        for node in &mut nodes {
            node.stop().await?;
        }
    }
    Ok(runs)
}

/// Runs the benchmark.
pub async fn run(options: &BenchOptions) -> anyhow::Result<BenchResults> {
    let (balance, mod_n_max_over_mean) = balance(options)?;
    let movement = movement(options)?;
    let routing = routing(options).await?;
    Ok(BenchResults {
        benchmark: "chapter4".into(),
        date: today(),
        machine: Machine::detect(),
        balance_nodes: options.balance_nodes,
        mod_n_max_over_mean,
        balance,
        movement_vnodes: options.movement_vnodes,
        movement,
        clients: options.clients,
        routing,
    })
}
