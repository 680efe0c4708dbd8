//! `chapter9 demo`: the log on the live page, with buttons to break it.
//!
//! Two groups of three replicas run in this process (your code, unless built with
//! `--features solution`), behind the harness's proxies ([`crate::system`]); a producer
//! sends a message every 100 ms, and a consumer group of three members reads at least
//! once. Members are this module's tasks, each driving a [`Member`] machine over HTTP.
//! The page (`demo/page.html`, served from the binary) polls `GET /api/state` and draws
//! the groups' replicas, each partition with its offsets, leader, owner and lag, and the
//! members with their generation and partitions. Its buttons call the routes below.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /`, `GET /api/state` | the page; what it draws, as JSON ([`Frame`]) |
//! | `POST /api/groups/{g}/leader/crash` | crash group `g`'s leader (as `kill -9` would) |
//! | `POST /api/groups/{g}/replicas/{i}/restart` | restart replica `i` of group `g` |
//! | `POST /api/members/{m}/crash`, `/restart` | crash member `m` (no goodbye); bring it back as a new member |

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::response::Html;
use axum::routing::{get, post};
use axum::{Json, Router};
use harness::cluster::Cluster;
use serde::{Deserialize, Serialize};

use crate::client::ClusterClient;
use crate::clients::{self, Client, Member, Producer, Seen, Semantics};
use crate::command::Command;
use crate::log::PartitionId;
use crate::machine::Applied;
use crate::raft::Timing;
use crate::{group_of, system};

/// A member silent for this long leaves its group: long enough to watch.
const SESSION_MS: u64 = 2_000;
/// Members in the consumer group.
const MEMBERS: usize = 3;
/// The consumer group the page shows.
const GROUP: Semantics = Semantics::AtLeastOnce;

/// What to run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where to serve the page (loopback only).
    pub addr: SocketAddr,
    /// Seeds the replicas' election timers.
    pub seed: u64,
}

/// One replica as the page draws it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReplicaView {
    /// `leader`, `follower`, `candidate`, or `down`.
    pub role: String,
    pub term: u64,
}

/// One partition as the page draws it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PartitionView {
    pub name: String,
    pub group: usize,
    /// The log's start and end (the next offset), as its group's leader answered.
    pub start: u64,
    pub next: u64,
    /// The consumer group's committed offset, and the member that reads it now.
    pub committed: u64,
    pub owner: Option<String>,
}

/// One member as the page draws it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MemberView {
    pub name: String,
    pub up: bool,
    pub generation: Option<u64>,
    pub partitions: Vec<u32>,
    /// Records it has processed (a record processed again counts again).
    pub processed: usize,
}

/// What the page draws.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Frame {
    pub groups: Vec<Vec<ReplicaView>>,
    pub partitions: Vec<PartitionView>,
    pub members: Vec<MemberView>,
    /// Messages the producer had acknowledged.
    pub produced: usize,
    /// What the buttons did, newest last.
    pub log: Vec<String>,
}

/// A member, its life count (a crash ends a life: an answer to the old life is dropped)
/// and what it processed.
struct Slot {
    client: Mutex<Client>,
    life: AtomicU64,
    seen: Mutex<Seen>,
}

struct Demo {
    groups: tokio::sync::Mutex<Vec<Cluster>>,
    client: Arc<ClusterClient>,
    members: Vec<Arc<Slot>>,
    producer: Arc<Slot>,
    log: Mutex<Vec<String>>,
    started: Instant,
}

/// Runs the demo until Ctrl-C.
pub async fn run(options: DemoOptions) -> anyhow::Result<()> {
    anyhow::ensure!(
        options.addr.ip().is_loopback(),
        "the demo binds loopback only"
    );
    let spec = clients::spec(SESSION_MS);
    let groups = system::start(&spec, Timing::FAST, options.seed)?;
    let http = harness::cluster::http_client(Duration::from_secs(2))?;
    let client = Arc::new(ClusterClient::new(http, system::servers(&groups)));
    let slot = |c: Client| {
        Arc::new(Slot {
            client: Mutex::new(c),
            life: AtomicU64::new(0),
            seen: Mutex::new(Seen::default()),
        })
    };
    // Built up front (the producer machine holds its list): at one every 100 ms, nearly
    // three hours of messages in a few MiB (a million took tens of MiB for nothing).
    let messages = (0..100_000)
        .map(|i| (format!("user-{}", i % 40), format!("event-{i}")))
        .collect();
    let demo = Arc::new(Demo {
        groups: tokio::sync::Mutex::new(groups),
        client,
        members: (0..MEMBERS)
            .map(|m| {
                let mut member = Member::new(GROUP, &format!("consumer-{m}"));
                member.idle = 200;
                member.heartbeat = 300;
                slot(Client::Member(member))
            })
            .collect(),
        producer: slot(Client::Producer(Producer::new("producer", messages))),
        log: Mutex::new(Vec::new()),
        started: Instant::now(),
    });
    for m in &demo.members {
        tokio::spawn(drive(demo.clone(), m.clone(), 0));
    }
    tokio::spawn(drive(demo.clone(), demo.producer.clone(), 100));
    let app = Router::new()
        .route("/", get(|| async { Html(include_str!("demo/page.html")) }))
        .route("/api/state", get(state))
        .route("/api/groups/{g}/leader/crash", post(crash_leader))
        .route(
            "/api/groups/{g}/replicas/{i}/restart",
            post(restart_replica),
        )
        .route("/api/members/{m}/crash", post(crash_member))
        .route("/api/members/{m}/restart", post(restart_member))
        .with_state(demo);
    let listener = tokio::net::TcpListener::bind(options.addr).await?;
    println!("live cluster: http://{}/", listener.local_addr()?);
    println!(
        "two groups of three replicas, a producer, a consumer group of {MEMBERS}; Ctrl-C stops"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(plumbing::api::shutdown_signal())
        .await?;
    Ok(())
}

/// Drives one client's machine: its next call, the answer, again (`pace_ms` between
/// calls, for the producer).
async fn drive(demo: Arc<Demo>, slot: Arc<Slot>, pace_ms: u64) {
    loop {
        let now = demo.started.elapsed().as_millis() as u64;
        let life = slot.life.load(Ordering::SeqCst);
        let next = lock(&slot.client).next_call(now);
        let Some((group, command)) = next else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok(applied) = demo.client.call(group, command.clone()).await else {
            continue;
        };
        // A crash while the call was out: its answer is lost with the old life.
        if slot.life.load(Ordering::SeqCst) == life {
            let now = demo.started.elapsed().as_millis() as u64;
            let mut seen = lock(&slot.seen);
            lock(&slot.client).on_answer(&command, applied, (now, now), &mut seen);
        }
        if pace_ms > 0 {
            tokio::time::sleep(Duration::from_millis(pace_ms)).await;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Demo {
    fn note(&self, what: String) {
        let at = self.started.elapsed().as_secs_f64();
        let mut log = lock(&self.log);
        log.push(format!("{at:.1} s: {what}"));
        let over = log.len().saturating_sub(20);
        log.drain(..over);
    }
}

async fn state(State(demo): State<Arc<Demo>>) -> Json<Frame> {
    let http = harness::cluster::http_client(Duration::from_millis(500)).ok();
    let mut groups = Vec::new();
    {
        let clusters = demo.groups.lock().await;
        for cluster in clusters.iter() {
            let mut replicas = Vec::new();
            for i in 0..cluster.len() {
                let status = match &http {
                    Some(http) => http
                        .get(format!("{}/status", cluster.direct_url(i)))
                        .send()
                        .await
                        .ok(),
                    None => None,
                };
                let view = match status {
                    Some(r) => r
                        .json::<serde_json::Value>()
                        .await
                        .map(|s| ReplicaView {
                            role: s["role"].as_str().unwrap_or("down").to_string(),
                            term: s["term"].as_u64().unwrap_or(0),
                        })
                        .unwrap_or_default(),
                    None => ReplicaView {
                        role: "down".into(),
                        term: 0,
                    },
                };
                replicas.push(view);
            }
            groups.push(replicas);
        }
    }
    let members: Vec<MemberView> = demo
        .members
        .iter()
        .map(|slot| {
            let client = lock(&slot.client);
            let processed = lock(&slot.seen).processed.values().map(Vec::len).sum();
            match &*client {
                Client::Member(m) => MemberView {
                    name: m.name(),
                    up: m.up,
                    generation: m.membership().map(|s| s.generation),
                    partitions: m
                        .membership()
                        .map(|s| s.partitions.clone())
                        .unwrap_or_default(),
                    processed,
                },
                Client::Producer(_) => MemberView::default(),
            }
        })
        .collect();
    let committed = match demo
        .client
        .call(
            crate::coordinator_of(GROUP.group(), clients::GROUPS) as usize,
            Command::Committed {
                group: GROUP.group().into(),
            },
        )
        .await
    {
        Ok(Applied::Offsets(o)) => o,
        _ => Default::default(),
    };
    let mut partitions = Vec::new();
    for p in 0..clients::PARTITIONS {
        let id = PartitionId::new(clients::INPUT, p);
        let group = group_of(p, clients::GROUPS) as usize;
        let command = Command::Read {
            partition: id.clone(),
            from: u64::MAX,
            max: 1,
        };
        let (start, next) = match demo.client.call(group, command).await {
            Ok(Applied::Read(r)) => (r.start, r.next),
            _ => (0, 0),
        };
        // The member that reads it, as the members themselves last heard (the one in the
        // newest generation, if two still think it theirs).
        let owner = members
            .iter()
            .filter(|m| m.up && m.partitions.contains(&p))
            .max_by_key(|m| m.generation)
            .map(|m| m.name.clone());
        partitions.push(PartitionView {
            name: id.to_string(),
            group,
            start,
            next,
            committed: committed.get(&p).copied().unwrap_or(0),
            owner,
        });
    }
    let produced = lock(&demo.producer.seen).sends.len();
    Json(Frame {
        groups,
        partitions,
        members,
        produced,
        log: lock(&demo.log).clone(),
    })
}

async fn crash_leader(State(demo): State<Arc<Demo>>, UrlPath(g): UrlPath<usize>) -> Json<Frame> {
    let http = harness::cluster::http_client(Duration::from_millis(500)).ok();
    let mut clusters = demo.groups.lock().await;
    if let (Some(cluster), Some(http)) = (clusters.get_mut(g), http) {
        for i in 0..cluster.len() {
            let Ok(r) = http
                .get(format!("{}/status", cluster.direct_url(i)))
                .send()
                .await
            else {
                continue;
            };
            let Ok(status) = r.json::<serde_json::Value>().await else {
                continue;
            };
            if status["role"] == "leader" {
                cluster.kill(i);
                demo.note(format!("crashed replica {i} of group {g}, its leader"));
                break;
            }
        }
    }
    drop(clusters);
    state(State(demo)).await
}

async fn restart_replica(
    State(demo): State<Arc<Demo>>,
    UrlPath((g, i)): UrlPath<(usize, usize)>,
) -> Json<Frame> {
    let mut clusters = demo.groups.lock().await;
    if let Some(cluster) = clusters.get_mut(g)
        && i < cluster.len()
    {
        match cluster.restart(i).await {
            Ok(()) => demo.note(format!("restarted replica {i} of group {g}")),
            Err(e) => demo.note(format!("replica {i} of group {g} did not restart: {e}")),
        }
    }
    drop(clusters);
    state(State(demo)).await
}

async fn crash_member(State(demo): State<Arc<Demo>>, UrlPath(m): UrlPath<usize>) -> Json<Frame> {
    if let Some(slot) = demo.members.get(m) {
        slot.life.fetch_add(1, Ordering::SeqCst);
        if let Client::Member(member) = &mut *lock(&slot.client)
            && member.up
        {
            member.crash();
            demo.note(format!("crashed {}: it says no goodbye", member.name()));
        }
    }
    state(State(demo)).await
}

async fn restart_member(State(demo): State<Arc<Demo>>, UrlPath(m): UrlPath<usize>) -> Json<Frame> {
    if let Some(slot) = demo.members.get(m)
        && let Client::Member(member) = &mut *lock(&slot.client)
        && !member.up
    {
        member.restart();
        demo.note(format!("{} joins as a new member", member.name()));
    }
    state(State(demo)).await
}
