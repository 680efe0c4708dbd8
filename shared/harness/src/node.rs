//! One node of a chapter, started inside the test process on its own runtime.
//!
//! Each node gets its own multi-threaded tokio runtime, so that crashing it is
//! real: [`TestNode::crash`] shuts the runtime down in the background, every task
//! of the node (in-flight requests included) is dropped mid-way, its sockets close,
//! and nothing it had not finished gets finished. [`TestNode::stop`] is the polite
//! way: it fires the node's shutdown signal and waits for the server to drain.
//!
//! The listener is bound before the node's code runs, on a free port of a loopback
//! address of its own ([`crate::loopback`]) the first time and on the same address
//! after [`TestNode::restart`], so a test knows the address at once and connections
//! made before the server polls `accept` simply wait in the kernel's backlog: there is
//! nothing to sleep for.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::cluster_key::ClusterKey;
use crate::panics::{self, NodePanic};

/// Free loopback addresses for `n` nodes, bound and released at once: another program
/// could take one in between, which tests and benchmarks on one machine can live with.
/// For nodes that must know each other's addresses before any of them starts. All `n`
/// share one loopback address of their own ([`crate::loopback`]).
pub fn free_addrs(n: usize) -> std::io::Result<Vec<SocketAddr>> {
    let ip = crate::loopback::fresh();
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind((ip, 0)))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(std::net::TcpListener::local_addr)
        .collect()
}

/// A future that resolves when the node is asked to shut down gracefully.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

type BoxedRun = Arc<
    dyn Fn(NodeContext) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> + Send + Sync,
>;

/// Another node, as this node should reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The peer's id.
    pub id: u64,
    /// The base URL to reach it at (in a [`Cluster`](crate::cluster::Cluster), the
    /// address of the proxy that carries this link, so faults can be injected).
    pub url: String,
}

/// What a node's code is handed when it starts.
pub struct NodeContext {
    /// The node's id.
    pub id: u64,
    /// The address `listener` is bound to.
    pub addr: SocketAddr,
    /// The listener to serve on, already bound.
    pub listener: tokio::net::TcpListener,
    /// Resolves when [`TestNode::stop`] asks for a graceful shutdown.
    pub shutdown: Shutdown,
    /// The other nodes of its cluster (empty for a single node).
    pub peers: Vec<Peer>,
    /// A directory of its own that survives restarts (removed when the test ends).
    pub data_dir: PathBuf,
    /// The cluster's secret: the node requires it on its internal routes and sends it
    /// to its peers (the same for every node of a [`Cluster`](crate::cluster::Cluster)).
    pub cluster_key: ClusterKey,
}

impl fmt::Debug for NodeContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeContext")
            .field("id", &self.id)
            .field("addr", &self.addr)
            .field("peers", &self.peers)
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

/// Where a node lives: its id, its peers and its data directory.
#[derive(Debug, Clone, Default)]
pub struct NodeSetup {
    /// The node's id.
    pub id: u64,
    /// The other nodes.
    pub peers: Vec<Peer>,
    /// Its data directory; `None`: a fresh temporary one, owned by the node.
    pub data_dir: Option<PathBuf>,
    /// The address to bind; `None`: port 0 of a loopback address of its own
    /// ([`crate::loopback`]).
    pub addr: Option<SocketAddr>,
    /// The cluster's secret; `None`: a fresh random one.
    pub cluster_key: Option<ClusterKey>,
}

/// How long [`TestNode::stop`] waits for a graceful shutdown before it gives up.
const STOP_DEADLINE: Duration = Duration::from_secs(10);

static INSTANCES: AtomicU64 = AtomicU64::new(0);

/// A running (or stopped) node inside the test process.
///
/// ```
/// # fn main() -> anyhow::Result<()> {
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// use axum::{Router, routing::get};
/// use harness::TestNode;
///
/// let mut node = TestNode::start(1, |ctx| async move {
///     let app = Router::new().route("/health", get(|| async { "ok" }));
///     axum::serve(ctx.listener, app).with_graceful_shutdown(ctx.shutdown).await?;
///     Ok(())
/// })?;
/// let body = reqwest::get(format!("{}/health", node.url())).await?.text().await?;
/// assert_eq!(body, "ok");
/// node.stop().await?;
/// # Ok(()) })
/// # }
/// ```
pub struct TestNode {
    id: u64,
    addr: SocketAddr,
    peers: Vec<Peer>,
    data_dir: PathBuf,
    cluster_key: ClusterKey,
    _temp_dir: Option<tempfile::TempDir>,
    instance: u64,
    run: BoxedRun,
    runtime: Option<Runtime>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl fmt::Debug for TestNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestNode")
            .field("id", &self.id)
            .field("addr", &self.addr)
            .field("running", &self.is_running())
            .finish()
    }
}

impl TestNode {
    /// Binds a free port of a loopback address of its own and runs `run` on a fresh runtime of its own.
    ///
    /// `run` is called again by [`TestNode::restart`], so it must be callable more
    /// than once; it should serve on `ctx.listener` until `ctx.shutdown` resolves.
    pub fn start<F, Fut>(id: u64, run: F) -> anyhow::Result<Self>
    where
        F: Fn(NodeContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Self::start_with(
            NodeSetup {
                id,
                ..NodeSetup::default()
            },
            run,
        )
    }

    /// Like [`TestNode::start`], with peers, a data directory or an address chosen.
    pub fn start_with<F, Fut>(setup: NodeSetup, run: F) -> anyhow::Result<Self>
    where
        F: Fn(NodeContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let run: BoxedRun = Arc::new(move |ctx| Box::pin(run(ctx)));
        let bind = setup
            .addr
            .unwrap_or_else(|| SocketAddr::new(crate::loopback::fresh(), 0));
        let listener =
            std::net::TcpListener::bind(bind).with_context(|| format!("binding {bind}"))?;
        let addr = listener.local_addr()?;
        let (data_dir, temp_dir) = match setup.data_dir {
            Some(dir) => (dir, None),
            None => {
                let temp = tempfile::Builder::new()
                    .prefix(&format!("node-{}-", setup.id))
                    .tempdir()?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let mut node = TestNode {
            id: setup.id,
            addr,
            peers: setup.peers,
            data_dir,
            cluster_key: setup.cluster_key.unwrap_or_else(ClusterKey::random),
            _temp_dir: temp_dir,
            instance: 0,
            run,
            runtime: None,
            shutdown: None,
            task: None,
        };
        node.launch(listener)?;
        Ok(node)
    }

    fn launch(&mut self, listener: std::net::TcpListener) -> anyhow::Result<()> {
        panics::install_hook();
        crate::logs::init();
        self.instance = INSTANCES.fetch_add(1, Ordering::Relaxed);
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(panics::thread_name(self.id, self.instance))
            .enable_all()
            .build()
            .context("building the node's runtime")?;
        let (tx, rx) = oneshot::channel::<()>();
        let (id, addr, run) = (self.id, self.addr, Arc::clone(&self.run));
        let (peers, data_dir) = (self.peers.clone(), self.data_dir.clone());
        let cluster_key = self.cluster_key.clone();
        let task = runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let shutdown: Shutdown = Box::pin(async move {
                // A dropped sender (the node crashed or was dropped) also means "stop".
                let _ = rx.await;
            });
            run(NodeContext {
                id,
                addr,
                listener,
                shutdown,
                peers,
                data_dir,
                cluster_key,
            })
            .await
        });
        self.runtime = Some(runtime);
        self.shutdown = Some(tx);
        self.task = Some(task);
        Ok(())
    }

    /// The node's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The address the node listens on (it keeps it across restarts).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<address>:<port>`, the base URL of the node's API.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The cluster's secret this node requires on its internal routes.
    pub fn cluster_key(&self) -> &ClusterKey {
        &self.cluster_key
    }

    /// The node's data directory (the same across restarts).
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// Whether the node's runtime is up (it has not been stopped or crashed).
    pub fn is_running(&self) -> bool {
        self.runtime.is_some()
    }

    /// Panics raised on this node's threads since it was last (re)started.
    pub fn panics(&self) -> Vec<NodePanic> {
        panics::recorded(self.id, self.instance)
    }

    /// Asks the node to shut down gracefully and waits (up to 10 s) for it to finish.
    ///
    /// Returns the server's own error, or a panic of its main task described with the
    /// exercise it came from, so a test that ends with `node.stop().await?` reports it.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let (Some(runtime), Some(task)) = (self.runtime.take(), self.task.take()) else {
            return Ok(());
        };
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let outcome = tokio::time::timeout(STOP_DEADLINE, task).await;
        runtime.shutdown_background();
        match outcome {
            Err(_) => anyhow::bail!(
                "node {} did not shut down within {STOP_DEADLINE:?} after its shutdown signal fired",
                self.id
            ),
            Ok(Err(join)) if join.is_panic() => {
                let message = panics::payload_message(join.into_panic().as_ref());
                anyhow::bail!("node {} panicked: {message}", self.id)
            }
            Ok(Err(join)) => anyhow::bail!("node {}'s task was cancelled: {join}", self.id),
            Ok(Ok(result)) => result.with_context(|| format!("node {} failed", self.id)),
        }
    }

    /// Crashes the node: its runtime is shut down without waiting, every task is
    /// dropped wherever it was (in-flight requests die), and its sockets close.
    pub fn crash(&mut self) {
        self.shutdown = None;
        self.task = None;
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Starts the node again on the same address, running the same code. A running
    /// node is crashed first.
    ///
    /// A crashed runtime closes its sockets on a background thread, so the address
    /// may be busy for a moment: binding is retried until it succeeds (up to 10 s).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.crash();
        let addr = self.addr;
        let listener = crate::eventually(
            STOP_DEADLINE,
            &format!("{addr} to be free again"),
            || async move { std::net::TcpListener::bind(addr).map_err(|e| e.to_string()) },
        )
        .await
        .with_context(|| format!("restarting node {}", self.id))?;
        self.launch(listener)
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.crash();
    }
}
