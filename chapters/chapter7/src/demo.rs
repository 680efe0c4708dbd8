//! `chapter7 demo`: the whole sharded store in this process, and what it does, one line a
//! second.
//!
//! The configuration service and three groups, three replicas each (your code, unless
//! built with `--features solution`), run on loopback behind the harness's proxies
//! ([`crate::system`]). Groups 1 and 2 join; clients write and read keys across every
//! shard; and, unless told not to, a script changes the system while they do: group 3
//! joins, a shard moves while its old owner's leader crashes, group 1 leaves and comes
//! back. Each second a line shows the configuration (each shard's owner), each group's
//! leader, and the clients' calls: you can watch shards move and the calls go on. The
//! printed addresses and key let you run `chapter7 join`, `leave`, `move`, `get` and
//! `put` against it from another terminal.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use harness::cluster::Cluster;

use crate::api::Status;
use crate::client::ShardedClient;
use crate::config::Config;
use crate::controller::Controller;
use crate::raft::{Compaction, Timing};
use crate::service::Change;
use crate::system::{self, Settings, nodes_of, servers};

/// Groups the demo starts (group 3 joins later).
pub const GROUPS: u64 = 3;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// Seeds the replicas' timers and the clients' choices.
    pub seed: u64,
    /// Election timeouts and heartbeats.
    pub timing: Timing,
    /// Concurrent clients.
    pub clients: usize,
    /// Whether to run the script of changes and faults.
    pub script: bool,
    /// The number of shards.
    pub shards: usize,
}

/// The clients' counters, since the last line.
#[derive(Debug, Default)]
struct Counts {
    done: AtomicU64,
    gave_up: AtomicU64,
}

/// Runs the demo until Ctrl-C.
pub async fn run(options: DemoOptions) -> anyhow::Result<()> {
    let settings = Settings {
        shards: options.shards,
        timing: options.timing,
        compaction: Compaction {
            every: 500,
            chunk_bytes: 64 * 1024,
        },
        seed: options.seed,
    };
    let mut cluster = system::start(GROUPS, settings)?;
    let service = servers(&cluster, 0);
    println!("configuration service: {}", service.join(","));
    for g in 1..=GROUPS {
        println!("group {g}: {}", servers(&cluster, g).join(","));
    }
    if let Some(key) = cluster.cluster_key().expose() {
        println!(
            "from another terminal: export KV_CLUSTER_KEY={key} KV_SERVICE={}",
            service.join(",")
        );
    }
    let deadline = Duration::from_secs(30);
    let mut admin = Controller::new(&service, cluster.cluster_key(), deadline)?;
    admin.change(&system::join(&cluster, &[1, 2])).await?;

    let counts = Arc::new(Counts::default());
    for c in 0..options.clients {
        let mut client =
            ShardedClient::new(&format!("demo-{c}"), &service, Duration::from_secs(2))?;
        let counts = Arc::clone(&counts);
        let seed = options.seed * 31 + c as u64;
        tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(seed);
            loop {
                let key = format!("key-{}", rng.u32(0..200));
                let result = if rng.bool() {
                    client
                        .put(&key, &format!("from client {c}"), None)
                        .await
                        .map(|_| ())
                } else {
                    client.get(&key).await.map(|_| ())
                };
                let counter = if result.is_ok() {
                    &counts.done
                } else {
                    &counts.gave_up
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
    }

    let started = Instant::now();
    let mut step = 0;
    let http = plumbing::http::client(Duration::from_millis(500))?;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = plumbing::api::shutdown_signal() => return Ok(()),
        }
        let line = describe(&cluster, &mut admin, &http, &counts).await;
        println!("{:>5.1}s  {line}", started.elapsed().as_secs_f64());
        if options.script {
            step += 1;
            script(step, &mut cluster, &service).await;
        }
    }
}

/// One step of the script, once a second: a change or a fault every few seconds.
async fn script(step: u64, cluster: &mut Cluster, service: &[String]) {
    let key = cluster.cluster_key().clone();
    let change = |change: Change, what: &'static str| {
        let service = service.to_vec();
        let key = key.clone();
        println!("        >>> {what}");
        tokio::spawn(async move {
            let result = async {
                Controller::new(&service, &key, Duration::from_secs(30))?
                    .change(&change)
                    .await
            }
            .await;
            match result {
                Ok(config) => println!("        >>> configuration {} is the latest", config.num),
                Err(e) => println!("        >>> the change failed: {e:#}"),
            }
        });
    };
    match step % 30 {
        4 => change(system::join(cluster, &[3]), "group 3 joins"),
        10 => {
            change(
                Change::Move { shard: 0, group: 2 },
                "shard 0 moves to group 2, and group 1's leader crashes",
            );
            if let Some(leader) = leader_of(cluster, 1).await {
                cluster.kill(leader);
            }
        }
        14 => {
            for node in nodes_of(1) {
                if !cluster.node(node).is_running() {
                    let _ = cluster.restart(node).await;
                }
            }
            println!("        >>> group 1's crashed replica restarts");
        }
        17 => change(Change::Leave(vec![1]), "group 1 leaves"),
        23 => change(system::join(cluster, &[1]), "group 1 joins again"),
        27 => change(Change::Leave(vec![3]), "group 3 leaves"),
        _ => {}
    }
}

/// The cluster index of `group`'s leader, if one of its replicas says it leads.
async fn leader_of(cluster: &Cluster, group: u64) -> Option<usize> {
    let http = plumbing::http::client(Duration::from_millis(500)).ok()?;
    for node in nodes_of(group) {
        if let Some(s) = status(&http, &cluster.direct_url(node)).await
            && s.role == "leader"
        {
            return Some(node);
        }
    }
    None
}

async fn status(http: &reqwest::Client, url: &str) -> Option<Status> {
    http.get(format!("{url}/status"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()
}

/// The line for this second: each shard's owner, who leads each log, the clients' calls.
async fn describe(
    cluster: &Cluster,
    admin: &mut Controller,
    http: &reqwest::Client,
    counts: &Counts,
) -> String {
    let owners = match admin.query().await {
        Ok(answer) => {
            let moving = answer
                .pending
                .as_ref()
                .map(|p| format!(" → {} {}", p.num, shards(p)))
                .unwrap_or_default();
            format!(
                "config {} {}{moving}",
                answer.config.num,
                shards(&answer.config)
            )
        }
        Err(_) => "config ?".into(),
    };
    let mut leaders = Vec::new();
    for log in 0..=GROUPS {
        let mut leader = "-".to_string();
        for node in nodes_of(log) {
            if let Some(s) = status(http, &cluster.direct_url(node)).await
                && s.role == "leader"
            {
                leader = format!("{node}({} keys)", s.keys);
            }
        }
        let name = if log == 0 {
            "svc".to_string()
        } else {
            format!("g{log}")
        };
        leaders.push(format!("{name}:{leader}"));
    }
    let done = counts.done.swap(0, Ordering::Relaxed);
    let gave_up = counts.gave_up.swap(0, Ordering::Relaxed);
    format!(
        "{owners}  leaders {}  calls {done}/s, {gave_up} gave up",
        leaders.join(" ")
    )
}

/// Each shard's owner as one digit (`.`: none).
fn shards(config: &Config) -> String {
    config
        .shards
        .iter()
        .map(|&g| match g {
            0 => '.',
            1..=9 => char::from(b'0' + g as u8),
            _ => '+',
        })
        .collect()
}
