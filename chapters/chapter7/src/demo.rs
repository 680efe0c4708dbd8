//! `chapter7 demo`: the whole sharded store in this process, in the live cluster's page
//! and one line a second in the terminal.
//!
//! The configuration service and three groups, three replicas each (your code, unless
//! built with `--features solution`), run on loopback behind the harness's proxies
//! ([`crate::system`]), handed to [`harness::dashboard`]: the page draws the four logs as
//! groups of three, each shard's owner and where a moving shard is going, and the
//! workload's running linearizability verdict; its buttons crash and restart replicas,
//! cut links, and make the chapter's changes (a group joins or leaves, a shard moves).
//! Groups 1 and 2 join first. Unless told not to, a script changes the system every few
//! seconds: group 3 joins, a shard moves while its old owner's leader crashes, group 1
//! leaves and comes back. The printed addresses and key let you run `chapter7 join`,
//! `leave`, `move`, `get` and `put` against it from another terminal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::cluster::Cluster;
use harness::dashboard::{Action, Dashboard, Exec, Extras, Frame, Options, ShardsView, View};
use harness::history::{KvOp, KvOutput, Outcome};
use plumbing::cluster_key::ClusterKey;

use crate::client::{ShardedClient, ShardedError};
use crate::config::GroupId;
use crate::controller::Controller;
use crate::raft::{Compaction, Timing};
use crate::service::Change;
use crate::shard::Answer;
use crate::system::{self, REPLICAS, Settings, log_of, servers};

/// Groups the demo starts (group 3 joins later).
pub const GROUPS: u64 = 3;

/// How long a change may take before its controller gives up (the next one finishes it).
const CHANGE_DEADLINE: Duration = Duration::from_secs(30);

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// Seeds the replicas' timers and the workload's choices.
    pub seed: u64,
    /// Election timeouts and heartbeats.
    pub timing: Timing,
    /// Concurrent workload clients.
    pub clients: usize,
    /// The number of shards.
    pub shards: usize,
    /// Where to serve the page (loopback only).
    pub addr: SocketAddr,
}

/// The store's addresses and key, as the setup and the actions use them.
#[derive(Clone)]
struct Store {
    service: Vec<String>,
    groups: Vec<(GroupId, Vec<String>)>,
    key: ClusterKey,
}

impl Store {
    fn controller(&self) -> anyhow::Result<Controller> {
        Controller::new(&self.service, &self.key, CHANGE_DEADLINE)
    }

    fn join(&self, groups: &[GroupId]) -> Change {
        Change::Join(
            self.groups
                .iter()
                .filter(|(g, _)| groups.contains(g))
                .cloned()
                .collect(),
        )
    }

    /// A button that makes `change` (computed when pressed) with a fresh controller.
    fn action(
        &self,
        name: &str,
        change: impl Fn(&Store, &crate::config::Configuration) -> Change + Send + Sync + 'static,
    ) -> Action {
        let store = self.clone();
        let change = Arc::new(change);
        Action {
            name: name.into(),
            run: Arc::new(move || {
                let (store, change) = (store.clone(), Arc::clone(&change));
                Box::pin(async move {
                    let mut controller = store.controller()?;
                    let latest = controller.query().await?.config;
                    let config = controller.change(&change(&store, &latest)).await?;
                    Ok(format!("configuration {} is the latest", config.num))
                })
            }),
        }
    }
}

/// A running demo.
#[derive(Debug)]
pub struct Demo {
    /// The page, the workload, the replicas.
    pub dashboard: Dashboard,
    /// The page's own buttons, in order.
    pub actions: Vec<Action>,
    /// The configuration service's replicas, as clients reach them.
    pub service: Vec<String>,
    /// Each group's replicas.
    pub groups: Vec<(GroupId, Vec<String>)>,
    /// The cluster's key, for changes from another terminal.
    pub key: Option<String>,
}

/// Starts the store, the workload and the page; groups 1 and 2 have joined when it
/// returns.
pub async fn start(options: DemoOptions) -> anyhow::Result<Demo> {
    options.timing.validate().map_err(anyhow::Error::msg)?;
    let settings = Settings {
        shards: options.shards,
        timing: options.timing,
        compaction: Compaction {
            every: 500,
            chunk_bytes: 64 * 1024,
        },
        seed: options.seed,
    };
    let nodes = ((GROUPS + 1) * REPLICAS) as usize;
    let dashboard_options = Options {
        nodes,
        addr: options.addr,
        clients: options.clients,
        seed: options.seed,
        title: format!("chapter 7: {} shards on {GROUPS} groups", options.shards),
        groups: (0..nodes as u64)
            .map(|i| match log_of(i) {
                0 => "service".to_string(),
                g => format!("group {g}"),
            })
            .collect(),
    };
    let mut actions = Vec::new();
    let mut addresses = None;
    let dashboard = Dashboard::start_with(
        dashboard_options,
        move |ctx| system::replica_in_cluster(ctx, settings),
        |cluster: &Cluster, n| {
            let store = Store {
                service: servers(cluster, 0),
                groups: (1..=GROUPS).map(|g| (g, servers(cluster, g))).collect(),
                key: cluster.cluster_key().clone(),
            };
            actions = buttons(&store);
            addresses = Some(store.clone());
            extras(&store, n, actions.clone())
        },
    )
    .await?;
    let store = addresses.ok_or_else(|| anyhow::anyhow!("the dashboard made no store"))?;
    Ok(Demo {
        dashboard,
        actions,
        service: store.service,
        groups: store.groups,
        key: store.key.expose().map(str::to_string),
    })
}

/// The page's buttons.
fn buttons(store: &Store) -> Vec<Action> {
    vec![
        store.action("group 3 joins", |s, _| s.join(&[3])),
        store.action("group 3 leaves", |_, _| Change::Leave(vec![3])),
        store.action("group 1 leaves", |_, _| Change::Leave(vec![1])),
        store.action("group 1 joins", |s, _| s.join(&[1])),
        store.action("shard 0 moves to the next group", |_, latest| {
            let members: Vec<GroupId> = latest.groups.keys().copied().collect();
            let at = members.iter().position(|&g| g == latest.owner(0));
            let next = at.map_or(members.first().copied(), |i| {
                members.get((i + 1) % members.len()).copied()
            });
            Change::Move {
                shard: 0,
                group: next.unwrap_or(1),
            }
        }),
    ]
}

/// The workload's clients, the first joins, the shards' view.
fn extras(store: &Store, n: usize, actions: Vec<Action>) -> anyhow::Result<Extras> {
    let clients = (0..n)
        .map(|c| {
            ShardedClient::new(&format!("page-{c}"), &store.service, Duration::from_secs(3))
                .map(tokio::sync::Mutex::new)
                .map(Arc::new)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let exec: Exec = Arc::new(move |c, op| {
        let client = Arc::clone(&clients[c % clients.len()]);
        Box::pin(async move { run_op(&mut *client.lock().await, &op).await })
    });
    let first = store.clone();
    let ready = Box::pin(async move {
        first.controller()?.change(&first.join(&[1, 2])).await?;
        Ok(())
    });
    let watcher = Arc::new(tokio::sync::Mutex::new(Controller::new(
        &store.service,
        &store.key,
        Duration::from_millis(300),
    )?));
    let view: View = Arc::new(move || {
        let watcher = Arc::clone(&watcher);
        Box::pin(async move {
            let answer = watcher.lock().await.query().await.ok()?;
            Some(ShardsView {
                num: answer.config.num,
                owners: answer.config.shards.clone(),
                pending: answer.pending.map(|p| (p.num, p.shards)),
            })
        })
    });
    Ok(Extras {
        exec,
        ready: Some(ready),
        view: Some(view),
        actions,
    })
}

/// Runs the demo until Ctrl-C: the page, a line a second, and (if `script`) the script.
pub async fn run(options: DemoOptions, script: bool) -> anyhow::Result<()> {
    let Demo {
        dashboard,
        actions,
        service,
        groups,
        key,
    } = start(options).await?;
    // One line a script can read (the browser test does), then what to do.
    println!("live cluster: {}", dashboard.url());
    println!(
        "open it in a browser: four logs of three replicas, the shards' owners, the clients. \
         Ctrl-C stops everything."
    );
    println!("every log runs {}", crate::stack::core());
    println!("configuration service: {}", service.join(","));
    for (g, servers) in &groups {
        println!("group {g}: {}", servers.join(","));
    }
    if let Some(key) = key {
        println!(
            "from another terminal: export KV_CLUSTER_KEY={key} KV_SERVICE={}",
            service.join(",")
        );
    }
    let started = Instant::now();
    let http = plumbing::http::client(Duration::from_secs(2))?;
    let mut step = 0u64;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = plumbing::api::shutdown_signal() => return Ok(()),
        }
        let frame = dashboard.frame();
        println!(
            "{:>5.1}s  {}",
            started.elapsed().as_secs_f64(),
            describe(&frame)
        );
        if script {
            step += 1;
            play(step, &frame, &actions, &http, dashboard.url()).await;
        }
    }
}

/// One step of the script, once a second: a change or a fault every few seconds, made
/// through the page's own buttons.
async fn play(step: u64, frame: &Frame, actions: &[Action], http: &reqwest::Client, page: &str) {
    let press = |i: usize| {
        let action = actions[i].clone();
        println!("        >>> {}", action.name);
        tokio::spawn(async move {
            match (action.run)().await {
                Ok(text) => println!("        >>> {}: {text}", action.name),
                Err(e) => println!("        >>> {} failed: {e:#}", action.name),
            }
        });
    };
    let node = |verb: &'static str, i: usize| {
        let url = format!("{page}api/nodes/{i}/{verb}");
        let http = http.clone();
        async move {
            let _ = http.post(url).send().await;
        }
    };
    match step % 40 {
        5 => press(0),
        12 => {
            press(4);
            // Group 1's leader crashes while the shard moves.
            if let Some(leader) = frame
                .nodes
                .iter()
                .find(|n| log_of(n.id as u64) == 1 && n.running && n.status.role == "leader")
            {
                println!("        >>> group 1's leader, node {}, crashes", leader.id);
                node("crash", leader.id).await;
            }
        }
        18 => {
            for n in frame.nodes.iter().filter(|n| !n.running) {
                println!("        >>> node {} restarts", n.id);
                node("restart", n.id).await;
            }
        }
        22 => press(2),
        30 => press(3),
        36 => press(1),
        _ => {}
    }
}

/// The line for this second: each shard's owner, who leads each log and what it holds,
/// the clients' calls.
fn describe(frame: &Frame) -> String {
    let owners = match &frame.shards {
        Some(shards) => {
            let moving = shards
                .pending
                .as_ref()
                .map(|(num, owners)| format!(" → {num} {}", digits(owners)))
                .unwrap_or_default();
            format!("config {} {}{moving}", shards.num, digits(&shards.owners))
        }
        None => "config ?".into(),
    };
    let leaders: Vec<String> = (0..=GROUPS)
        .map(|log| {
            let name = if log == 0 {
                "svc".to_string()
            } else {
                format!("g{log}")
            };
            let leader = frame
                .nodes
                .iter()
                .find(|n| log_of(n.id as u64) == log && n.running && n.status.role == "leader")
                .map_or("-".to_string(), |n| {
                    format!("{}({} keys)", n.id, n.status.keys.unwrap_or_default())
                });
            format!("{name}:{leader}")
        })
        .collect();
    let w = &frame.workload;
    let last = w.seconds.iter().rev().nth(1);
    format!(
        "{owners}  leaders {}  calls {}/s, {} failed · {} · lost writes {}",
        leaders.join(" "),
        last.map_or(0, |s| s.ok),
        last.map_or(0, |s| s.errors),
        w.verdict,
        w.lost_writes
    )
}

/// Each shard's owner as one digit (`.`: none).
fn digits(owners: &[u64]) -> String {
    owners
        .iter()
        .map(|&g| match g {
            0 => '.',
            1..=9 => char::from(b'0' + g as u8),
            _ => '+',
        })
        .collect()
}

/// Runs one recorded operation through `client`: an answer is its output; giving up
/// leaves its outcome unknown; a refusal means it did nothing. (The client knows nothing
/// of histories: the demo and the tests record them.)
pub async fn run_op(client: &mut ShardedClient, op: &KvOp) -> Outcome {
    let result = match op {
        KvOp::Get { key } => client.get(key).await.map(KvOutput::Value),
        KvOp::Put {
            key,
            value,
            if_version,
        } => client.put(key, value, *if_version).await.and_then(output),
        KvOp::Delete { key } => client.delete(key).await.and_then(output),
    };
    match result {
        Ok(output) => Outcome::Ok(output),
        Err(ShardedError::GaveUp(..)) => Outcome::Unknown,
        Err(ShardedError::Refused(..)) => Outcome::Failed,
    }
}

/// A write's answer as the history records it; `Stale` (never the answer to the call in
/// flight: a client makes one at a time) did nothing.
fn output(answer: Answer) -> Result<KvOutput, ShardedError> {
    Ok(match answer {
        Answer::Value(found) => KvOutput::Value(found),
        Answer::Written { version } => KvOutput::Written { version },
        Answer::Mismatch { current } => KvOutput::Mismatch { current },
        Answer::Deleted { version } => KvOutput::Deleted { version },
        Answer::NotFound => KvOutput::NotFound,
        other @ Answer::Stale { .. } => {
            return Err(ShardedError::Refused(
                "unexpected".into(),
                format!("{other:?}"),
            ));
        }
    })
}
