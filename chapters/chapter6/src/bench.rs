//! The chapter's benchmarks: how long does a group go without a leader?
//!
//! - **Elections** (the Raft paper's Figure 16): a group of five in this process; wait
//!   until it has a settled leader, crash the leader at a random point of its heartbeat
//!   interval, and time until another node reports itself leader of a newer term. Then
//!   restart the crashed node and go again. Repeated for several election timeout
//!   ranges; as in the paper, the heartbeat interval is half the shortest timeout.
//! - **Failover**: five real processes; one client writes in a loop, retrying as
//!   [`Client`] does; the leader is killed with SIGKILL; the unavailability is the time
//!   from the kill to the acknowledgement of the first write sent after it.
//!
//! Elections are timed by polling `/status` every millisecond or so, failover by the
//! writer's own clock: the times include a millisecond or two of that granularity.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use harness::TestNode;
use harness::cluster_key::{CLUSTER_KEY_ENV, ClusterKey};
use harness::machine::{Machine, today};
use harness::node::{NodeSetup, Peer as HarnessPeer};
pub use harness::results::chapter5::{BenchResults, ElectionRun, FailoverRun, TimingMs};

use crate::api::Status;
use crate::client::{Client, Retry};
use crate::node::{Config, Peer};
use crate::raft::Timing;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Nodes per group.
    pub nodes: usize,
    /// Trials per election timeout range.
    pub election_trials: usize,
    /// Election timeout ranges `(min, max)` in milliseconds.
    pub ranges: Vec<(u64, u64)>,
    /// Trials of the kill-the-leader experiment (0: skip it).
    pub failover_trials: usize,
    /// Give up on one election after this long (counted as "longer than this").
    pub cap: Duration,
    /// Where the groups' data folders go.
    pub dir: PathBuf,
    /// The `chapter6` binary, for the process experiment.
    pub program: PathBuf,
}

/// The value at quantile `q` of sorted samples (0 if none).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Starts a group of `n` nodes in this process, talking directly (no proxies).
pub fn start_group(n: usize, timing: Timing, dir: &Path) -> anyhow::Result<Vec<TestNode>> {
    let addrs = harness::node::free_addrs(n)?;
    let cluster_key = ClusterKey::random();
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
        let config = Config {
            id: i as u64,
            peers: peers.clone(),
            advertise_url: format!("http://{addr}"),
            data_dir: dir.join(format!("node-{i}")),
            timing,
            cluster_key: cluster_key.clone(),
            ..Config::default()
        };
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

/// Every node's `/status` (`None` for a node that does not answer).
pub async fn statuses(http: &reqwest::Client, urls: &[String]) -> Vec<Option<Status>> {
    let mut calls = tokio::task::JoinSet::new();
    for (i, url) in urls.iter().enumerate() {
        let http = http.clone();
        let url = format!("{url}/status");
        calls.spawn(async move {
            let status = async { http.get(&url).send().await?.json::<Status>().await }.await;
            (i, status.ok())
        });
    }
    let mut out = vec![None; urls.len()];
    while let Some(Ok((i, status))) = calls.join_next().await {
        out[i] = status;
    }
    out
}

/// Waits until the nodes in `alive` agree on one leader that has committed an entry of
/// its term; returns it and its term.
pub async fn settled_leader(
    http: &reqwest::Client,
    urls: &[String],
    alive: &[bool],
    patience: Duration,
) -> anyhow::Result<(usize, u64)> {
    let deadline = Instant::now() + patience;
    loop {
        let all = statuses(http, urls).await;
        let live: Vec<&Status> = all
            .iter()
            .zip(alive)
            .filter(|&(_, &up)| up)
            .filter_map(|(s, _)| s.as_ref())
            .collect();
        if live.len() == alive.iter().filter(|&&a| a).count()
            && let Some(leader) = live.iter().find(|s| s.role == "leader")
            && leader.commit_index == leader.last_index
            && live
                .iter()
                .all(|s| s.term == leader.term && s.leader_id == Some(leader.id))
        {
            return Ok((leader.id as usize, leader.term));
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "no settled leader within {patience:?}: {live:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The Figure 16 experiment for one timeout range.
pub async fn elections(
    options: &BenchOptions,
    (min_ms, max_ms): (u64, u64),
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<ElectionRun> {
    let timing = Timing {
        election_min_ms: min_ms,
        election_max_ms: max_ms,
        heartbeat_ms: (min_ms / 2).max(1),
    };
    let dir = tempfile::Builder::new()
        .prefix("chapter6-elections-")
        .tempdir_in(&options.dir)?;
    let mut nodes = start_group(options.nodes, timing, dir.path())?;
    let urls: Vec<String> = nodes.iter().map(TestNode::url).collect();
    let http = harness::cluster::http_client(Duration::from_secs(2))?;
    let mut alive = vec![true; nodes.len()];
    let mut samples = Vec::new();
    let mut censored = 0;
    for _ in 0..options.election_trials {
        let (leader, term) = settled_leader(&http, &urls, &alive, Duration::from_secs(60)).await?;
        // Crash at a random point of the heartbeat interval.
        tokio::time::sleep(Duration::from_micros(fastrand::u64(
            0..timing.heartbeat_ms * 1000,
        )))
        .await;
        nodes[leader].crash();
        let crashed = Instant::now();
        alive[leader] = false;
        let elected = loop {
            let all = statuses(&http, &urls).await;
            if all
                .iter()
                .flatten()
                .any(|s| s.role == "leader" && s.term > term)
            {
                break Some(crashed.elapsed());
            }
            if crashed.elapsed() > options.cap {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        match elected {
            Some(time) => samples.push(time.as_secs_f64() * 1000.0),
            None => censored += 1,
        }
        nodes[leader].restart().await?;
        alive[leader] = true;
        progress.inc(1);
    }
    for node in &mut nodes {
        node.stop().await?;
    }
    samples.sort_by(f64::total_cmp);
    Ok(ElectionRun {
        min_ms,
        max_ms,
        heartbeat_ms: timing.heartbeat_ms,
        median_ms: quantile(&samples, 0.5),
        p99_ms: quantile(&samples, 0.99),
        samples_ms: samples,
        censored,
    })
}

/// One node as a child process.
struct Process {
    child: Option<Child>,
    args: Vec<String>,
    cluster_key: ClusterKey,
    program: PathBuf,
    log: PathBuf,
}

impl Process {
    fn spawn(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = std::process::Command::new(&self.program)
            .args(&self.args)
            .env("RUST_LOG", "warn")
            .env(
                CLUSTER_KEY_ENV,
                self.cluster_key.expose().unwrap_or_default(),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.program.display()))?;
        self.child = Some(child);
        Ok(())
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The kill-the-leader experiment with real processes.
pub async fn failover(
    options: &BenchOptions,
    timing: Timing,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<FailoverRun> {
    let dir = tempfile::Builder::new()
        .prefix("chapter6-failover-")
        .tempdir_in(&options.dir)?;
    let addrs = harness::node::free_addrs(options.nodes)?;
    let urls: Vec<String> = addrs.iter().map(|a| format!("http://{a}")).collect();
    let mut processes: Vec<Process> = Vec::new();
    let cluster_key = ClusterKey::random();
    for (i, addr) in addrs.iter().enumerate() {
        let mut args = vec![
            "serve".to_string(),
            "--id".into(),
            i.to_string(),
            "--addr".into(),
            addr.to_string(),
            "--data-dir".into(),
            dir.path().join(format!("node-{i}")).display().to_string(),
            "--election-ms".into(),
            format!("{}-{}", timing.election_min_ms, timing.election_max_ms),
            "--heartbeat-ms".into(),
            timing.heartbeat_ms.to_string(),
        ];
        for (j, url) in urls.iter().enumerate().filter(|&(j, _)| j != i) {
            args.push("--peer".into());
            args.push(format!("{j}={url}"));
        }
        let mut process = Process {
            child: None,
            args,
            cluster_key: cluster_key.clone(),
            program: options.program.clone(),
            log: dir.path().join(format!("node-{i}.log")),
        };
        process.spawn()?;
        processes.push(process);
    }
    let http = harness::cluster::http_client(Duration::from_secs(2))?;
    let mut alive = vec![true; processes.len()];
    // One writer, retrying as the course's client does; it notes when each write is acked.
    let client = Arc::new(Client::new(&urls)?.with_retry(Retry {
        deadline: Duration::from_secs(30),
        backoff_min: Duration::from_millis(5),
        backoff_max: Duration::from_millis(50),
    }));
    // (invoked, acknowledged) for every acknowledged write.
    let acks: Arc<Mutex<Vec<(Instant, Instant)>>> = Arc::default();
    let writer = {
        let client = Arc::clone(&client);
        let acks = Arc::clone(&acks);
        tokio::spawn(async move {
            for i in 0u64.. {
                let invoked = Instant::now();
                if client.put(&format!("k{}", i % 100), "v").await.is_ok() {
                    acks.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push((invoked, Instant::now()));
                }
            }
        })
    };
    let mut samples = Vec::new();
    for _ in 0..options.failover_trials {
        let (leader, _) = settled_leader(&http, &urls, &alive, Duration::from_secs(60)).await?;
        tokio::time::sleep(Duration::from_micros(fastrand::u64(
            0..timing.heartbeat_ms * 1000,
        )))
        .await;
        let killed = Instant::now();
        processes[leader].kill();
        alive[leader] = false;
        // The first write *invoked* after the kill: an answer the old leader sent just
        // before dying must not count as service. (This adds one write's latency, about
        // a millisecond, to each sample.)
        let back = loop {
            let first = acks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .rev()
                .take_while(|&&(invoked, _)| invoked > killed)
                .last()
                .map(|&(_, acked)| acked);
            if let Some(at) = first {
                break at;
            }
            anyhow::ensure!(
                killed.elapsed() < Duration::from_secs(30),
                "no write was acknowledged within 30 s of killing node {leader}"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        samples.push((back - killed).as_secs_f64() * 1000.0);
        processes[leader].spawn()?;
        alive[leader] = true;
        progress.inc(1);
    }
    writer.abort();
    samples.sort_by(f64::total_cmp);
    Ok(FailoverRun {
        timing: TimingMs {
            election_min_ms: timing.election_min_ms,
            election_max_ms: timing.election_max_ms,
            heartbeat_ms: timing.heartbeat_ms,
        },
        median_ms: quantile(&samples, 0.5),
        p99_ms: quantile(&samples, 0.99),
        max_ms: samples.last().copied().unwrap_or_default(),
        samples_ms: samples,
    })
}

/// Runs both experiments.
pub async fn run(options: &BenchOptions) -> anyhow::Result<BenchResults> {
    let total = options.ranges.len() * options.election_trials + options.failover_trials;
    // indicatif draws only when stderr is a terminal, so CI logs stay clean.
    let progress = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg:>24} [{bar:30}] {pos}/{len} {elapsed}")
    {
        progress.set_style(style.progress_chars("=> "));
    }
    let mut elections_runs = Vec::new();
    for &range in &options.ranges {
        progress.set_message(format!("elections {}-{} ms", range.0, range.1));
        let run = elections(options, range, &progress).await?;
        tracing::info!(
            min = run.min_ms,
            max = run.max_ms,
            median = run.median_ms,
            p99 = run.p99_ms,
            censored = run.censored,
            "elections"
        );
        elections_runs.push(run);
    }
    let failover_run = if options.failover_trials > 0 {
        progress.set_message("failover (SIGKILL)");
        Some(failover(options, Timing::FAST, &progress).await?)
    } else {
        None
    };
    progress.finish_and_clear();
    Ok(BenchResults {
        benchmark: "chapter6-failover".into(),
        date: today(),
        machine: Machine::detect(),
        nodes: options.nodes,
        elections: elections_runs,
        failover: failover_run,
    })
}
