//! The network between nodes: one TCP proxy per directed link, so faults can be
//! injected without a line of fault logic in a node.
//!
//! In a [`Cluster`](crate::cluster::Cluster), node `a` does not know node `b`'s real
//! address: its peer list points `b` at the proxy of the link `a → b`. Each proxy
//! forwards bytes both ways and consults two links: the request direction (`a → b`)
//! and the answer direction (`b → a`). A link can be:
//!
//! - **cut**: connections through it are closed, new ones are closed at once (the
//!   sender sees a connection error right away; a real partition would make it wait for
//!   a timeout, which is slower to test and teaches nothing more);
//! - **delayed**: every chunk of bytes waits before it is forwarded;
//! - **lossy**: each new connection is dropped with some probability, from a seeded RNG.
//!
//! Clients get a proxy per node too, so a test can isolate a client from a node.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// One end of a link: a node (by index) or the test's clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// Node `i` of the cluster.
    Node(usize),
    /// The clients of the test.
    Client,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Node(i) => write!(f, "node {i}"),
            Endpoint::Client => write!(f, "the client"),
        }
    }
}

/// The state of one directed link.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LinkState {
    /// Nothing passes.
    pub cut: bool,
    /// Each chunk waits this long before it is forwarded.
    pub delay: Duration,
    /// Probability that a new connection is dropped.
    pub drop: f64,
}

/// A directed link's state and the means to tell its connections that it changed.
#[derive(Debug)]
pub struct Link {
    state: Mutex<LinkState>,
    /// Connections let through in this direction: with clients that open one connection
    /// per request (the chapters' nodes do), requests sent over the link.
    connections: AtomicU64,
    /// Bytes forwarded in this direction.
    bytes: AtomicU64,
    rng: Mutex<fastrand::Rng>,
    changed: watch::Sender<u64>,
}

impl Link {
    /// A healthy link whose drops are drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: Mutex::new(LinkState::default()),
            connections: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            changed: watch::Sender::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The link's current state.
    pub fn state(&self) -> LinkState {
        *self.lock()
    }

    /// Changes the link's state; connections through it re-check at once.
    pub fn update(&self, f: impl FnOnce(&mut LinkState)) {
        f(&mut self.lock());
        self.changed.send_modify(|epoch| *epoch += 1);
    }

    /// Connections let through in this direction so far (what the live cluster's page
    /// shows per second on each link).
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Bytes forwarded in this direction so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    fn should_drop(&self) -> bool {
        let p = self.lock().drop;
        p > 0.0
            && self
                .rng
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .f64()
                < p
    }
}

/// Starts the proxy for the link `forward` (request direction) and `backward` (answer
/// direction) to `target` (set once the node has bound its address; connections before
/// that are closed). Returns the address to connect to. Runs until the runtime
/// it was spawned on shuts down.
pub fn spawn_proxy(
    runtime: &tokio::runtime::Handle,
    target: Arc<OnceLock<SocketAddr>>,
    forward: Arc<Link>,
    backward: Arc<Link>,
) -> anyhow::Result<SocketAddr> {
    // Bound here, synchronously, so the address is known before anything runs.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding a proxy")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    runtime.spawn(async move {
        let Ok(listener) = TcpListener::from_std(listener) else {
            return;
        };
        loop {
            let Ok((inbound, _)) = listener.accept().await else {
                continue;
            };
            let (forward, backward) = (Arc::clone(&forward), Arc::clone(&backward));
            let target = Arc::clone(&target);
            tokio::spawn(async move {
                if forward.state().cut || forward.should_drop() {
                    return; // dropping `inbound` closes it
                }
                let Some(&target) = target.get() else { return };
                let Ok(outbound) = TcpStream::connect(target).await else {
                    return;
                };
                forward.connections.fetch_add(1, Ordering::Relaxed);
                let _ = inbound.set_nodelay(true);
                let _ = outbound.set_nodelay(true);
                let mut changes = (forward.changed.subscribe(), backward.changed.subscribe());
                let (inbound_read, inbound_write) = inbound.into_split();
                let (outbound_read, outbound_write) = outbound.into_split();
                let cut = |link: &Link| link.state().cut;
                tokio::select! {
                    // The connection lives until both directions are done...
                    _ = async {
                        tokio::join!(
                            pump(inbound_read, outbound_write, &forward),
                            pump(outbound_read, inbound_write, &backward)
                        )
                    } => {}
                    // ...or until one of its links is cut.
                    () = async {
                        loop {
                            tokio::select! {
                                r = changes.0.changed() => if r.is_err() { return },
                                r = changes.1.changed() => if r.is_err() { return },
                            }
                            if cut(&forward) || cut(&backward) {
                                return;
                            }
                        }
                    } => {}
                }
                // Leaving the select drops both sockets: the connection is closed.
            });
        }
    });
    Ok(addr)
}

/// Copies bytes from `from` to `to` while the link lets them through.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    link: &Link,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => {
                // Pass the end of the stream on; the other direction may go on.
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => n,
        };
        let LinkState { cut, delay, .. } = link.state();
        if cut {
            return;
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
        link.bytes.fetch_add(n as u64, Ordering::Relaxed);
    }
}
