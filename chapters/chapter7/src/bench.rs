//! `chapter7 bench`: what moving shards costs, measured on the real replicas on loopback.
//!
//! 1. **A moving shard's unavailability against its size.** Two groups; one shard is
//!    filled to a size, then moved from group to group, over and over, while a client
//!    reads one of its keys in a loop. For each move, the longest gap between two
//!    answered reads, from the last before the move to the first after it, is the time
//!    the shard was unavailable, as a client sees it.
//! 2. **The other shards meanwhile.** Clients on every other shard count their calls;
//!    the rate while a shard moves is set against the rate between moves.
//! 3. **Throughput against groups**, one to four groups, every shard serving, clients
//!    writing across all of them; and the requests each call costs, between replicas
//!    and from clients, counted on the harness's proxies. Every replica of every group
//!    shares this machine's cores: more groups add work, not cores, so the curve says
//!    what the system costs here, not how it would scale on more machines.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use harness::cluster::Cluster;
use harness::network::Endpoint;
use harness::results::chapter7::{BenchResults, GroupsRun, MoveRun};

use crate::client::ShardedClient;
use crate::config::{Configuration, ShardId};
use crate::controller::Controller;
use crate::placement::shard_of;
use crate::raft::{Compaction, Timing};
use crate::service::Change;
use crate::system::{self, Settings, servers};

/// The shards of the benchmark's store.
pub const SHARDS: usize = 12;
/// The size of each value written to fill a shard.
const VALUE_BYTES: usize = 4096;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Shard sizes to move, in KiB.
    pub sizes_kib: Vec<usize>,
    /// Moves per size.
    pub moves: usize,
}

fn settings() -> Settings {
    Settings {
        shards: SHARDS,
        timing: Timing::default(),
        compaction: Compaction::DEFAULT,
        seed: 7,
    }
}

/// `n` keys of `shard`.
fn keys_in(shard: ShardId, n: usize) -> Vec<String> {
    (0..)
        .map(|i| format!("key-{i}"))
        .filter(|k| shard_of(k, SHARDS) == shard)
        .take(n)
        .collect()
}

/// Runs the benchmark.
pub async fn run(options: &BenchOptions) -> anyhow::Result<BenchResults> {
    let mut moves = Vec::new();
    for &kib in &options.sizes_kib {
        let run = moves_of_size(kib, options.moves).await?;
        eprintln!(
            "{:>8} bytes: unavailable p50 {:.0} ms, p99 {:.0} ms",
            run.shard_bytes, run.p50_ms, run.p99_ms
        );
        moves.push(run);
    }
    let mut groups = Vec::new();
    for n in 1..=4 {
        let run = throughput(n).await?;
        eprintln!("{n} groups: {:.0} calls/s", run.calls_per_s);
        groups.push(run);
    }
    Ok(BenchResults {
        benchmark: "chapter 7: moving shards".into(),
        machine: harness::machine::Machine::detect(),
        date: harness::machine::today(),
        shards: SHARDS,
        moves,
        groups,
    })
}

/// Prints the results as a table.
pub fn print(results: &BenchResults) {
    println!(
        "{} on {} ({})",
        results.benchmark, results.machine, results.date
    );
    println!(
        "{:>12} {:>6} {:>8} {:>8} {:>22}",
        "shard bytes", "moves", "p50 ms", "p99 ms", "other shards calls/s"
    );
    for m in &results.moves {
        println!(
            "{:>12} {:>6} {:>8.0} {:>8.0} {:>9.0} → {:>4.0} ({:.0} %)",
            m.shard_bytes,
            m.moves,
            m.p50_ms,
            m.p99_ms,
            m.others_steady_per_s,
            m.others_moving_per_s,
            100.0 * m.others_moving_per_s / m.others_steady_per_s.max(1e-9)
        );
    }
    println!(
        "{:>7} {:>8} {:>15} {:>17}",
        "groups", "calls/s", "peer req/call", "client req/call"
    );
    for g in &results.groups {
        println!(
            "{:>7} {:>8.0} {:>15.1} {:>17.1}",
            g.groups, g.calls_per_s, g.peer_requests_per_call, g.client_requests_per_call
        );
    }
}

/// Two groups; one shard filled to `kib` KiB and moved `count` times.
async fn moves_of_size(kib: usize, count: usize) -> anyhow::Result<MoveRun> {
    let mut cluster = system::start(2, settings())?;
    let service = servers(&cluster, 0);
    let mut controller = Controller::new(&service, cluster.cluster_key(), Duration::from_secs(60))?;
    let config = controller.change(&system::join(&cluster, &[1, 2])).await?;
    let moving = (0..SHARDS).find(|&s| config.owner(s) == 1).unwrap_or(0);
    // Fill the shard.
    let mut writer = ShardedClient::new("filler", &service, Duration::from_secs(30))?;
    let keys = keys_in(moving, (kib * 1024).div_ceil(VALUE_BYTES).max(1));
    let value = "x".repeat(VALUE_BYTES.min(kib * 1024).max(1));
    for key in &keys {
        writer.put(key, &value, None).await?;
    }
    let shard_bytes = (keys
        .iter()
        .map(|k| k.len() + value.len() + 8)
        .sum::<usize>()) as u64;

    // The other shards' clients, counting calls, and whether a move is under way.
    let stop = Arc::new(AtomicBool::new(false));
    let in_move = Arc::new(AtomicBool::new(false));
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let others: Vec<String> = (0..SHARDS)
        .filter(|&s| s != moving)
        .flat_map(|s| keys_in(s, 4))
        .collect();
    let mut tasks = Vec::new();
    for c in 0..2 {
        let mut client =
            ShardedClient::new(&format!("other-{c}"), &service, Duration::from_secs(5))?;
        let (stop, in_move, counts, others) = (
            Arc::clone(&stop),
            Arc::clone(&in_move),
            Arc::clone(&counts),
            others.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                i += 2;
                if client
                    .put(&others[i % others.len()], "v", None)
                    .await
                    .is_ok()
                {
                    counts[usize::from(in_move.load(Ordering::Relaxed))]
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }

    // The prober reads the moving shard in a loop, always (so that it loads the
    // machine alike between moves and during them), and notes when each read returned.
    let reads = Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
    {
        let mut reader = ShardedClient::new("prober", &service, Duration::from_secs(30))?;
        let (stop, reads, probe) = (Arc::clone(&stop), Arc::clone(&reads), keys[0].clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if reader.get(&probe).await.is_ok() {
                    reads
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(Instant::now());
                }
            }
        }));
    }
    let (mut steady_time, mut moving_time) = (Duration::ZERO, Duration::ZERO);
    let mut unavailable_ms = Vec::new();
    let mut owner = 1;
    for _ in 0..count {
        // A stretch between moves, for the other shards' steady rate.
        let pause = Instant::now();
        tokio::time::sleep(Duration::from_millis(300)).await;
        steady_time += pause.elapsed();

        owner = 3 - owner;
        in_move.store(true, Ordering::Relaxed);
        let started = Instant::now();
        let config: Configuration = controller
            .change(&Change::Move {
                shard: moving,
                group: owner,
            })
            .await?;
        let finished = Instant::now();
        moving_time += finished - started;
        in_move.store(false, Ordering::Relaxed);
        anyhow::ensure!(
            config.owner(moving) == owner,
            "the move did not take effect"
        );
        // Wait for the first read after the move, then take the longest gap between
        // reads from the last one before the move to that one.
        let gap = loop {
            let reads = reads.lock().unwrap_or_else(PoisonError::into_inner).clone();
            if reads.last().is_some_and(|&r| r > finished) {
                let from = reads.iter().rposition(|&r| r <= started).unwrap_or(0);
                let to = reads
                    .iter()
                    .position(|&r| r > finished)
                    .unwrap_or(reads.len() - 1);
                break reads[from..=to]
                    .windows(2)
                    .map(|w| w[1] - w[0])
                    .max()
                    .unwrap_or_default();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        unavailable_ms.push(gap.as_secs_f64() * 1000.0);
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    cluster.stop_all().await?;
    unavailable_ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let i = ((unavailable_ms.len() as f64 - 1.0) * q).round() as usize;
        unavailable_ms.get(i).copied().unwrap_or_default()
    };
    let rate = |calls: &AtomicU64, time: Duration| {
        calls.load(Ordering::Relaxed) as f64 / time.as_secs_f64().max(1e-9)
    };
    Ok(MoveRun {
        shard_bytes,
        moves: unavailable_ms.len(),
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        unavailable_ms: unavailable_ms.clone(),
        others_steady_per_s: rate(&counts[0], steady_time),
        others_moving_per_s: rate(&counts[1], moving_time),
    })
}

/// `groups` groups serving every shard; 8 clients writing for two seconds.
async fn throughput(groups: u64) -> anyhow::Result<GroupsRun> {
    let mut cluster = system::start(groups, settings())?;
    let service = servers(&cluster, 0);
    let mut controller = Controller::new(&service, cluster.cluster_key(), Duration::from_secs(60))?;
    let all: Vec<u64> = (1..=groups).collect();
    controller.change(&system::join(&cluster, &all)).await?;
    // Warm every client's configuration first, so refreshes are not counted.
    let mut clients = Vec::new();
    for c in 0..8 {
        let mut client =
            ShardedClient::new(&format!("load-{c}"), &service, Duration::from_secs(5))?;
        client.put(&format!("warm-{c}"), "v", None).await?;
        clients.push(client);
    }
    let (peers_before, clients_before) = requests(&cluster);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (c, mut client) in clients.into_iter().enumerate() {
        let (stop, done) = (Arc::clone(&stop), Arc::clone(&done));
        tasks.push(tokio::spawn(async move {
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                i += 8;
                if client
                    .put(&format!("key-{}", i % 1000), "v", None)
                    .await
                    .is_ok()
                {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed();
    let (peers_after, clients_after) = requests(&cluster);
    cluster.stop_all().await?;
    let calls = done.load(Ordering::Relaxed).max(1) as f64;
    Ok(GroupsRun {
        groups,
        calls_per_s: calls / elapsed.as_secs_f64(),
        peer_requests_per_call: (peers_after - peers_before) as f64 / calls,
        client_requests_per_call: (clients_after - clients_before) as f64 / calls,
    })
}

/// Requests so far between replicas, and from clients to replicas (each a connection:
/// neither side keeps idle connections).
fn requests(cluster: &Cluster) -> (u64, u64) {
    let n = cluster.len();
    let mut peers = 0;
    for a in 0..n {
        for b in (0..n).filter(|&b| b != a) {
            peers += cluster
                .link(Endpoint::Node(a), Endpoint::Node(b))
                .connections();
        }
    }
    let clients = (0..n)
        .map(|b| {
            cluster
                .link(Endpoint::Client, Endpoint::Node(b))
                .connections()
        })
        .sum();
    (peers, clients)
}
