//! The live cluster: real nodes, a small workload, and a web page that shows both and
//! lets a person break things.
//!
//! [`Dashboard::start`] starts `n` nodes of a chapter in this process behind the
//! [`Cluster`]'s per-link proxies, a workload of a few clients whose every call is
//! recorded, and a web server on loopback that serves one page. Every 100 ms it asks each
//! node for its `/status` (directly, not through the proxies: the observer sees a node a
//! partition hides) and publishes a [`Frame`]: each node's role, term, vote, election
//! timer, the tail of its log, its commit and applied indexes; each link's requests per
//! second and whether it is cut; the workload's throughput, latency, acknowledged and
//! lost writes, and a running linearizability verdict; the events seen so far. The page
//! draws each frame as it arrives (server-sent events, `/api/events`).
//!
//! The page's buttons call the routes below, and those call the same [`Cluster`] the
//! tests use: a crash here is [`Cluster::kill`], a cut is [`Cluster::cut`]. There is no
//! second fault machinery.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /` (and `/app.js`, `/style.css`) | the page, served from the binary |
//! | `GET /api/state` | the latest [`Frame`] as JSON |
//! | `GET /api/events` | every new frame, as server-sent events |
//! | `POST /api/nodes/{i}/crash`, `/restart` | crash (as `kill -9` would) or restart node `i` |
//! | `POST /api/links/{a}/{b}/cut`, `/heal` | cut or heal both directions between `a` and `b` |
//! | `POST /api/isolate-leader` | cut the current leader off from every other node |
//! | `POST /api/heal` | heal every cut |
//! | `POST /api/workload/pause`, `/resume` | stop or restart the clients |
//! | `GET /api/recording` | the run so far as one JSON file, which the page can replay |
//! | `GET /timeline` | the timeline of the first non-linearizable key, if any |
//!
//! The node's side of the contract is its `/status` JSON: `role`, `term`, `voted_for`,
//! `leader_id`, `commit_index`, `applied_index`, `last_index`, and, where the chapter has
//! them, `election_due_ms`, `log_tail`, `log_tail_from` and `timing.election_max_ms`
//! ([`Probed`]). The workload runs through an [`Exec`], the chapter's client.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::cluster::Cluster;
use crate::history::{KvOp, Outcome};
use crate::node::NodeContext;

mod extras;
mod observe;
mod recording;
mod routes;
mod workload;

pub use extras::{Action, Boxed, Extras, ShardsView, View};
pub use observe::{LinkView, NodeView, Probed};
pub use recording::Recording;
pub use workload::{ViolationView, WorkloadView};

/// Runs one operation as workload client `c` (`0..clients`; `clients` itself is the
/// checker's own client, for the final reads of a window).
pub type Exec =
    Arc<dyn Fn(usize, KvOp) -> Pin<Box<dyn Future<Output = Outcome> + Send>> + Send + Sync>;

/// What to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// Nodes (3 to [`MAX_ONE_GROUP`], or to [`MAX_NODES`] in groups).
    pub nodes: usize,
    /// Where the page is served: loopback only.
    pub addr: SocketAddr,
    /// Concurrent workload clients.
    pub clients: usize,
    /// Seeds the network's random faults and the workload's choices.
    pub seed: u64,
    /// What the page calls the system, e.g. `chapter 5: a self-healing group`.
    pub title: String,
    /// Each node's group, e.g. `service`, `group 1` (empty: the nodes are one group).
    /// Nodes of a group are drawn together, with only the links between them.
    pub groups: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            nodes: 5,
            addr: SocketAddr::from(([127, 0, 0, 1], 7070)),
            clients: 4,
            seed: 1,
            title: "a replicated group".into(),
            groups: Vec::new(),
        }
    }
}

/// Something that happened, with when (milliseconds since the start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Milliseconds since the dashboard started.
    pub t_ms: u64,
    /// `election`, `step-down`, `crash`, `restart`, `cut`, `heal`, `isolate`, `pause`,
    /// `resume`, `violation` or `lost-write`.
    pub kind: String,
    /// One line for a person.
    pub text: String,
}

/// Everything the page shows at one moment: the state API's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// Milliseconds since the dashboard started.
    pub t_ms: u64,
    /// Wall-clock milliseconds since the Unix epoch when the frame was made (the page
    /// measures its update latency against it).
    pub wall_ms: u64,
    /// What the page calls the system.
    pub title: String,
    /// One per node, in id order.
    pub nodes: Vec<NodeView>,
    /// One per pair of nodes.
    pub links: Vec<LinkView>,
    /// The node every reachable node that knows a leader names, if they agree and it
    /// says so itself.
    pub leader: Option<usize>,
    /// The clients' side.
    pub workload: WorkloadView,
    /// The latest events, newest last (at most [`EVENTS_SHOWN`]).
    pub events: Vec<Event>,
    /// Each node's group (empty: one group).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The shards, for a system that has them.
    #[serde(default)]
    pub shards: Option<ShardsView>,
    /// The labels of the chapter's own buttons (`POST /api/actions/{i}`).
    #[serde(default)]
    pub actions: Vec<String>,
}

/// The most nodes the page draws in one group (around one circle).
pub const MAX_ONE_GROUP: usize = 9;
/// The most nodes the page draws when they are in groups.
pub const MAX_NODES: usize = 15;

/// How many recent events a frame carries.
pub const EVENTS_SHOWN: usize = 40;

/// A running dashboard. Dropping it stops the page, the workload and the nodes.
#[derive(Debug)]
pub struct Dashboard {
    url: String,
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// What the page's routes, the observer and the workload share.
struct Shared {
    options: Options,
    cluster: tokio::sync::Mutex<Cluster>,
    /// Whether each node is running, as the buttons left it.
    running: Vec<AtomicBool>,
    status_urls: Vec<String>,
    started: Instant,
    events: Mutex<Vec<Event>>,
    frame: watch::Sender<Arc<Frame>>,
    workload: Arc<workload::Workload>,
    recording: Mutex<Recording>,
    view: Option<View>,
    actions: Vec<Action>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("nodes", &self.options.nodes)
            .finish()
    }
}

impl Shared {
    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Records an event (the list keeps the last 1,000).
    fn event(&self, kind: &str, text: String) {
        let event = Event {
            t_ms: self.now_ms(),
            kind: kind.into(),
            text,
        };
        tracing::info!(kind, text = %event.text, "dashboard event");
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        events.push(event);
        let excess = events.len().saturating_sub(1000);
        events.drain(..excess);
    }

    /// The run so far, as `/api/recording` saves it.
    fn saved(&self) -> Recording {
        let events = self
            .events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let history = self.workload.history();
        self.recording
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .with(events, history)
    }

    fn latest(&self) -> Arc<Frame> {
        Arc::clone(&self.frame.borrow())
    }
}

impl Dashboard {
    /// Starts the nodes (each running `run`), the workload (its clients made by `clients`
    /// from the nodes' client-side URLs, one per workload client plus one for the
    /// checker) and the page.
    pub async fn start<F, Fut>(
        options: Options,
        run: F,
        clients: impl FnOnce(&[String], usize) -> anyhow::Result<Exec>,
    ) -> anyhow::Result<Self>
    where
        F: Fn(NodeContext) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Self::start_with(options, run, |cluster, n| {
            let urls: Vec<String> = (0..cluster.len()).map(|i| cluster.url(i)).collect();
            Ok(Extras {
                exec: clients(&urls, n)?,
                ready: None,
                view: None,
                actions: Vec::new(),
            })
        })
        .await
    }

    /// As [`Dashboard::start`], with the chapter's [`Extras`] made by `setup` from the
    /// running cluster and the number of workload clients (plus the checker's).
    pub async fn start_with<F, Fut>(
        options: Options,
        run: F,
        setup: impl FnOnce(&Cluster, usize) -> anyhow::Result<Extras>,
    ) -> anyhow::Result<Self>
    where
        F: Fn(NodeContext) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let most = if options.groups.is_empty() {
            MAX_ONE_GROUP
        } else {
            MAX_NODES
        };
        anyhow::ensure!(
            (3..=most).contains(&options.nodes),
            "the live cluster runs 3 to {MAX_ONE_GROUP} nodes in one group (up to \
             {MAX_NODES} in groups), not {}",
            options.nodes
        );
        anyhow::ensure!(
            options.groups.is_empty() || options.groups.len() == options.nodes,
            "name every node's group, or none"
        );
        anyhow::ensure!(
            options.addr.ip().is_loopback(),
            "the page's buttons crash nodes and carry no password: serve it on loopback \
             (127.0.0.1), not {}",
            options.addr.ip()
        );
        let listener = tokio::net::TcpListener::bind(options.addr)
            .await
            .with_context(|| format!("binding the page's address {}", options.addr))?;
        let cluster = Cluster::start(options.nodes, options.seed, run)?;
        let extras = setup(&cluster, options.clients + 1)?;
        if let Some(ready) = extras.ready {
            ready.await?;
        }
        let status_urls = (0..options.nodes)
            .map(|i| format!("{}/status", cluster.direct_url(i)))
            .collect();
        let workload = Arc::new(workload::Workload::new(
            extras.exec,
            options.clients,
            options.seed,
        ));
        let empty = Frame {
            t_ms: 0,
            wall_ms: observe::wall_ms(),
            title: options.title.clone(),
            nodes: Vec::new(),
            links: Vec::new(),
            leader: None,
            workload: WorkloadView::default(),
            events: Vec::new(),
            groups: options.groups.clone(),
            shards: None,
            actions: extras.actions.iter().map(|a| a.name.clone()).collect(),
        };
        let shared = Arc::new(Shared {
            running: (0..options.nodes).map(|_| AtomicBool::new(true)).collect(),
            options,
            cluster: tokio::sync::Mutex::new(cluster),
            status_urls,
            started: Instant::now(),
            events: Mutex::new(Vec::new()),
            frame: watch::Sender::new(Arc::new(empty)),
            workload: Arc::clone(&workload),
            recording: Mutex::new(Recording::default()),
            view: extras.view,
            actions: extras.actions,
        });
        let url = format!("http://{}/", listener.local_addr()?);
        let mut tasks = workload.spawn(&shared);
        tasks.push(tokio::spawn(observe::run(Arc::clone(&shared))));
        let app = routes::router(Arc::clone(&shared));
        tasks.push(tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the dashboard's server stopped");
            }
        }));
        Ok(Self { url, shared, tasks })
    }

    /// The page's address.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The latest frame.
    pub fn frame(&self) -> Arc<Frame> {
        self.shared.latest()
    }

    /// Waits for the next frame (at most `within`).
    pub async fn next_frame(&self, within: Duration) -> Arc<Frame> {
        let mut frames = self.shared.frame.subscribe();
        let _ = tokio::time::timeout(within, frames.changed()).await;
        self.shared.latest()
    }

    /// The run so far, as the page saves it: frames, every event, the workload's history.
    pub fn recording(&self) -> Recording {
        self.shared.saved()
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        self.shared.workload.stop();
        self.shared
            .running
            .iter()
            .for_each(|r| r.store(false, Ordering::Relaxed));
    }
}
