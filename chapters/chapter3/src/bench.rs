//! The chapter's benchmark: what does each acknowledgement mode cost, and how far do
//! followers fall behind?
//!
//! For each group size (3 and 5 nodes) and each mode (`async`, `quorum`, `all`): a fresh
//! group on the real disk, `clients` concurrent writers on the leader for `duration`,
//! write throughput and latency from the load generator, and the followers' lag (entries
//! the leader has that a follower has not acknowledged), sampled from the leader's
//! `/status` every 20 ms.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::TestNode;
use harness::load::LoadSpec;
use harness::machine::{Machine, today};
use harness::node::{NodeSetup, Peer as HarnessPeer};
pub use harness::results::chapter3::{BenchResults, Lag, ModeRun};

use crate::api::Status;
use crate::client::Client;
use crate::node::{Config, Peer};
use crate::replication::AckMode;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Group sizes.
    pub nodes: Vec<usize>,
    /// Concurrent writers.
    pub clients: usize,
    /// Measured time per run.
    pub duration: Duration,
    /// Warm-up time per run.
    pub warmup: Duration,
    /// Where the groups' data folders go (on the disk to measure).
    pub dir: PathBuf,
    /// Bytes per value.
    pub value_bytes: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            nodes: vec![3, 5],
            clients: 32,
            duration: Duration::from_secs(3),
            warmup: Duration::from_millis(500),
            dir: PathBuf::from("."),
            value_bytes: 100,
        }
    }
}

/// Starts a group of `n` nodes in this process, node 0 the leader, talking directly
/// (no fault-injecting proxies). `tune` adjusts each node's settings.
pub fn start_group(
    n: usize,
    mode: AckMode,
    dir: &Path,
    tune: impl Fn(&mut Config),
) -> anyhow::Result<Vec<TestNode>> {
    let addrs = harness::node::free_addrs(n)?;
    let cluster_key = harness::cluster_key::ClusterKey::random();
    let mut nodes = Vec::with_capacity(n);
    for (i, &addr) in addrs.iter().enumerate() {
        let peers: Vec<Peer> = addrs
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(j, a)| Peer {
                id: j as u64,
                url: format!("http://{a}"),
            })
            .collect();
        let mut config = Config {
            id: i as u64,
            peers: peers.clone(),
            leader_id: 0,
            advertise_url: format!("http://{addr}"),
            ack_mode: mode,
            data_dir: dir.join(format!("node-{i}")),
            cluster_key: cluster_key.clone(),
            ..Config::default()
        };
        tune(&mut config);
        let setup = NodeSetup {
            id: i as u64,
            peers: peers
                .iter()
                .map(|p| HarnessPeer {
                    id: p.id,
                    url: p.url.clone(),
                })
                .collect(),
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

/// Runs the benchmark.
pub async fn run(options: &BenchOptions) -> anyhow::Result<BenchResults> {
    let scratch = tempfile::Builder::new()
        .prefix("chapter3-bench-")
        .tempdir_in(&options.dir)?;
    let value = "v".repeat(options.value_bytes);
    let http = harness::cluster::http_client(Duration::from_secs(5))?;
    let mut runs = Vec::new();
    for &n in &options.nodes {
        for mode in [AckMode::Async, AckMode::Quorum, AckMode::All] {
            let name = format!("{mode:?}-{n}").to_lowercase();
            let mut nodes = start_group(n, mode, &scratch.path().join(&name), |_| {})?;
            let leader = nodes[0].url();
            let client = Arc::new(Client::new(&leader)?);
            // Sample the followers' lag while the load runs.
            let sampler = {
                let (http, url) = (http.clone(), format!("{leader}/status"));
                let stop_at = Instant::now() + options.warmup + options.duration;
                tokio::spawn(async move {
                    let started = Instant::now();
                    let mut samples = Vec::new();
                    while Instant::now() < stop_at {
                        if let Ok(response) = http.get(&url).send().await
                            && let Ok(status) = response.json::<Status>().await
                        {
                            let lag = status.followers.iter().map(|f| f.lag).max().unwrap_or(0);
                            samples.push((started.elapsed().as_millis() as u64, lag));
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    samples
                })
            };
            let spec = LoadSpec {
                name: name.clone(),
                clients: options.clients,
                duration: options.duration,
                warmup: options.warmup,
            };
            let value = value.clone();
            let report = harness::load::run(&spec, move |c, seq| {
                let (client, value) = (Arc::clone(&client), value.clone());
                async move {
                    client
                        .put(&format!("k{c}-{}", seq % 1000), &value)
                        .await
                        .map(drop)
                }
            })
            .await;
            let samples = sampler.await?;
            let lag = Lag {
                mean: samples.iter().map(|&(_, l)| l as f64).sum::<f64>()
                    / samples.len().max(1) as f64,
                max: samples.iter().map(|&(_, l)| l).max().unwrap_or(0),
                samples,
            };
            eprintln!(
                "{name:>9}: {:>8.0} writes/s, p50 {:>6} µs, p99 {:>6} µs, lag mean {:.1} max {} entries",
                report.throughput, report.latency_us.p50, report.latency_us.p99, lag.mean, lag.max
            );
            runs.push(ModeRun {
                mode: format!("{mode:?}").to_lowercase(),
                nodes: n,
                report,
                lag,
            });
            for node in &mut nodes {
                node.stop().await?;
            }
        }
    }
    Ok(BenchResults {
        benchmark: "chapter3".into(),
        date: today(),
        machine: Machine::detect(),
        clients: options.clients,
        runs,
    })
}
