//! A cluster of nodes on loopback, with a network the test controls.
//!
//! [`Cluster::start`] runs `n` nodes of a chapter, each on its own runtime (see
//! [`TestNode`]), and a proxy for every directed link between them and for every
//! client-to-node link (see [`crate::network`]). A node's peers are given to it as the
//! proxies' URLs, so the test can partition, cut, delay and drop traffic while the
//! node's code stays plain HTTP.
//!
//! ```
//! # fn main() -> anyhow::Result<()> {
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! use axum::{Router, routing::get};
//! use harness::cluster::{Cluster, http_client};
//!
//! let mut cluster = Cluster::start(3, 42, |ctx| async move {
//!     let id = ctx.id;
//!     let app = Router::new().route("/id", get(move || async move { id.to_string() }));
//!     axum::serve(ctx.listener, app).with_graceful_shutdown(ctx.shutdown).await?;
//!     Ok(())
//! })?;
//! let client = http_client(std::time::Duration::from_secs(5))?;
//! assert_eq!(client.get(format!("{}/id", cluster.url(2))).send().await?.text().await?, "2");
//! cluster.isolate_client(2);
//! assert!(client.get(format!("{}/id", cluster.url(2))).send().await.is_err());
//! cluster.stop_all().await?;
//! # Ok(()) })
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;

use crate::cluster_key::ClusterKey;
use crate::network::{Endpoint, Link, LinkState, spawn_proxy};
use crate::node::{NodeContext, NodeSetup, Peer, TestNode};

/// A reqwest client for tests and node-to-node calls: no proxy from the environment, no
/// idle pooled connections (so none can outlive a killed node), and a timeout.
pub fn http_client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    plumbing::http::client(timeout)
}

/// `n` nodes and the network between them.
pub struct Cluster {
    nodes: Vec<TestNode>,
    cluster_key: ClusterKey,
    links: BTreeMap<(Endpoint, Endpoint), Arc<Link>>,
    client_urls: Vec<String>,
    network: Option<tokio::runtime::Runtime>,
    _data: tempfile::TempDir,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("nodes", &self.nodes)
            .finish()
    }
}

impl Cluster {
    /// Starts nodes `0..n`, each running `run`; link faults are drawn from `seed`.
    pub fn start<F, Fut>(n: usize, seed: u64, run: F) -> anyhow::Result<Self>
    where
        F: Fn(NodeContext) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let network = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("network")
            .enable_all()
            .build()
            .context("building the network's runtime")?;
        let data = tempfile::Builder::new().prefix("cluster-").tempdir()?;
        let targets: Vec<Arc<OnceLock<SocketAddr>>> = (0..n).map(|_| Arc::default()).collect();
        let mut links = BTreeMap::new();
        let endpoints: Vec<Endpoint> = (0..n)
            .map(Endpoint::Node)
            .chain([Endpoint::Client])
            .collect();
        for (i, &from) in endpoints.iter().enumerate() {
            for (j, &to) in endpoints.iter().enumerate() {
                if from != to {
                    let link_seed =
                        seed ^ ((i as u64) << 32 | j as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    links.insert((from, to), Arc::new(Link::new(link_seed)));
                }
            }
        }
        // One proxy per (sender, receiving node): requests travel sender → node, answers
        // node → sender.
        let proxy = |from: Endpoint, to: usize| -> anyhow::Result<String> {
            let forward = Arc::clone(&links[&(from, Endpoint::Node(to))]);
            let backward = Arc::clone(&links[&(Endpoint::Node(to), from)]);
            let addr = spawn_proxy(
                network.handle(),
                Arc::clone(&targets[to]),
                forward,
                backward,
            )?;
            Ok(format!("http://{addr}"))
        };
        let mut peer_urls = vec![Vec::new(); n];
        for (i, urls) in peer_urls.iter_mut().enumerate() {
            for j in (0..n).filter(|&j| j != i) {
                urls.push(Peer {
                    id: j as u64,
                    url: proxy(Endpoint::Node(i), j)?,
                });
            }
        }
        let client_urls = (0..n)
            .map(|j| proxy(Endpoint::Client, j))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let cluster_key = ClusterKey::random();
        let mut nodes = Vec::with_capacity(n);
        for (i, peers) in peer_urls.into_iter().enumerate() {
            let setup = NodeSetup {
                id: i as u64,
                peers,
                data_dir: Some(data.path().join(format!("node-{i}"))),
                addr: None,
                cluster_key: Some(cluster_key.clone()),
            };
            let node = TestNode::start_with(setup, run.clone())?;
            let _ = targets[i].set(node.addr());
            nodes.push(node);
        }
        Ok(Cluster {
            nodes,
            cluster_key,
            links,
            client_urls,
            network: Some(network),
            _data: data,
        })
    }

    /// How many nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the cluster has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The secret every node of this cluster requires on its internal routes.
    pub fn cluster_key(&self) -> &ClusterKey {
        &self.cluster_key
    }

    /// Node `i`.
    pub fn node(&self, i: usize) -> &TestNode {
        &self.nodes[i]
    }

    /// Node `i`, to stop, crash or restart it directly.
    pub fn node_mut(&mut self, i: usize) -> &mut TestNode {
        &mut self.nodes[i]
    }

    /// The URL a client uses for node `i`: through the client's link, so
    /// [`Cluster::isolate_client`] works.
    pub fn url(&self, i: usize) -> String {
        self.client_urls[i].clone()
    }

    /// Node `i`'s own address, bypassing every fault.
    pub fn direct_url(&self, i: usize) -> String {
        self.nodes[i].url()
    }

    /// The directed link `from → to`, for fine control (see [`Link::update`]).
    pub fn link(&self, from: Endpoint, to: Endpoint) -> Arc<Link> {
        Arc::clone(&self.links[&(from, to)])
    }

    fn update(&self, from: Endpoint, to: Endpoint, f: impl FnOnce(&mut LinkState)) {
        self.links[&(from, to)].update(f);
    }

    /// Crashes node `i` (see [`TestNode::crash`]).
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].crash();
    }

    /// Restarts node `i` on the same address with the same data directory.
    pub async fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        self.nodes[i].restart().await
    }

    /// Stops every node gracefully.
    pub async fn stop_all(&mut self) -> anyhow::Result<()> {
        for node in &mut self.nodes {
            node.stop().await?;
        }
        Ok(())
    }

    /// Cuts the directed link `a → b`: `a`'s requests to `b`, and `a`'s answers to `b`'s
    /// requests, are lost. (An HTTP call needs both directions, so a one-way cut fails
    /// calls both ways; it still differs from a partition for anything one-way.)
    pub fn cut(&self, a: usize, b: usize) {
        self.update(Endpoint::Node(a), Endpoint::Node(b), |l| l.cut = true);
    }

    /// Heals the directed link `a → b`.
    pub fn heal_link(&self, a: usize, b: usize) {
        self.update(Endpoint::Node(a), Endpoint::Node(b), |l| l.cut = false);
    }

    /// Splits the nodes into groups that cannot reach each other. Heals first, so the
    /// groups are exactly what is asked.
    pub fn partition(&self, groups: &[&[usize]]) {
        self.heal();
        for (g, group) in groups.iter().enumerate() {
            for other in groups.iter().skip(g + 1) {
                for &a in *group {
                    for &b in *other {
                        self.cut(a, b);
                        self.cut(b, a);
                    }
                }
            }
        }
    }

    /// Heals every cut (between nodes and towards clients). Delays and drops stay.
    pub fn heal(&self) {
        for link in self.links.values() {
            if link.state().cut {
                link.update(|l| l.cut = false);
            }
        }
    }

    /// Delays every chunk on the link `a → b`.
    pub fn set_delay(&self, a: usize, b: usize, delay: Duration) {
        self.update(Endpoint::Node(a), Endpoint::Node(b), |l| l.delay = delay);
    }

    /// Drops each new connection on the link `a → b` with probability `p` (seeded).
    pub fn set_drop(&self, a: usize, b: usize, p: f64) {
        self.update(Endpoint::Node(a), Endpoint::Node(b), |l| l.drop = p);
    }

    /// Cuts the client off from node `i` (both ways); the nodes still talk.
    pub fn isolate_client(&self, i: usize) {
        self.update(Endpoint::Client, Endpoint::Node(i), |l| l.cut = true);
        self.update(Endpoint::Node(i), Endpoint::Client, |l| l.cut = true);
    }

    /// Undoes [`Cluster::isolate_client`].
    pub fn reconnect_client(&self, i: usize) {
        self.update(Endpoint::Client, Endpoint::Node(i), |l| l.cut = false);
        self.update(Endpoint::Node(i), Endpoint::Client, |l| l.cut = false);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.crash();
        }
        if let Some(network) = self.network.take() {
            network.shutdown_background();
        }
    }
}
