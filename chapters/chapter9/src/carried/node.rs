//! Carried from `chapters/chapter6/src/node.rs` by `cargo xtask exercises`:
//! chapter 6's node shell. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs of this chapter's own: `machine::{Applied, Machine}`, `server::MAX_INTERNAL_BODY_BYTES`.
//!
//! The async shell around the [`Raft`] core: timers, disk, network, clients.
//!
//! One task, the **driver**, owns the core, the [`Storage`] and the [`Machine`]. Every
//! input reaches it through one channel: messages from peers (posted to
//! `/internal/raft`), client commands, and its own clock. It works in rounds:
//!
//! 1. take every input waiting (one at a time would mean one fsync each), feed each to
//!    the core, then let the core look at the clock ([`Raft::tick`]);
//! 2. take the core's [`Ready`] and persist its term, vote, snapshot and new entries, on
//!    a blocking thread, **before anything else**;
//! 3. only then hand its messages to the peer senders (one task and one queue per peer;
//!    a message that cannot be delivered is dropped: Raft expects loss);
//! 4. restore the [`Machine`] from a snapshot the leader sent, apply newly committed
//!    entries and answer the clients waiting for them;
//! 5. if the core says a snapshot is due, snapshot the machine, hand it to the core
//!    ([`Raft::compact`]) and persist what that changed (the snapshot, then the shorter
//!    log) before the round ends.
//!
//! A command's answer waits for its entry to be applied. If the entry at that index
//! turns out to be another leader's, or this node stops leading first, the client hears
//! `503`: the write's fate is unknown, and a retry with the same request id is safe.
//!
//! If the core or the state machine panics (an unfinished exercise, or a broken
//! invariant), the driver stops feeding it, records why, and every request is answered
//! with that message.

use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use plumbing::cluster_key::ClusterKey;
use plumbing::disk::{Disk, RealDisk};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument as _;

use crate::api::{Command, Envelope, Status};
use crate::machine::{Applied, Machine};
use crate::raft::{Compaction, Message, NodeId, Raft, Ready, Role, Timing};
use crate::storage::Storage;

// Chapter 5's address book and peer senders, carried unchanged (see `src/carried/`).
#[path = "node/addresses.rs"]
mod addresses;
#[path = "node/checks.rs"]
mod checks;
#[path = "node/config.rs"]
mod config;
#[path = "node/driver.rs"]
mod driver;
#[path = "node/peers.rs"]
mod peers;

use addresses::AddressBook;
use checks::check_message;
pub use checks::{MAX_TERM, check_against};
pub use config::{Config, Peer};
use driver::status_of;
use peers::send_to_peer;

/// Why a command got no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// This node is not the leader; here is the leader's address, if known.
    #[error("not the leader")]
    NotLeader {
        /// The leader's address.
        leader: Option<String>,
    },
    /// The node lost its leadership (or the entry was replaced) before the command was
    /// applied: it may or may not take effect.
    #[error(
        "this node stopped being the leader before the command was committed; it may or may not take effect: retry (with the same x-request-id, a write is applied once)"
    )]
    LostLeadership,
    /// Not applied in time: it may or may not take effect.
    #[error(
        "the command was not committed within {0:?} (no majority reachable?); it may or may not take effect"
    )]
    Timeout(Duration),
    /// The node's core stopped (it panicked: an unfinished exercise, or a bug).
    #[error("{0}")]
    Fault(String),
    /// The node cannot write to its disk, so it acts on nothing any more.
    #[error("the node cannot write to its disk, so it acts on nothing: {0}")]
    Disk(String),
    /// The node is stopping.
    #[error("the node is shutting down")]
    ShuttingDown,
    /// The driver's queue is full: the node is overloaded; nothing was done.
    #[error("this node has more work queued than it allows; nothing was done: retry")]
    Overloaded,
}

/// Why a batch of peer messages was not (entirely) taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// A message no correct peer sends: malformed, or one that would break an invariant
    /// of this node. The other messages of the batch were taken.
    #[error("{0}")]
    Invalid(String),
    /// The driver's queue is full: nothing was taken; the sender's next batch will do.
    #[error("this node has more work queued than it allows; the messages were dropped")]
    Overloaded,
    /// The node's core stopped, or the node is stopping.
    #[error("this node acts on nothing: {0}")]
    Stopped(String),
}

/// How many inputs (peer batches, client commands) may wait for the driver.
pub const MAX_QUEUED_EVENTS: usize = 1024;
/// How many messages may wait for one peer's sender; more are dropped (Raft expects
/// loss, and a leader resends what was not acknowledged).
pub const MAX_QUEUED_MESSAGES: usize = 1024;
/// The most envelopes one `/internal/raft` request may carry.
pub const MAX_ENVELOPES: usize = 1024;
/// The most bytes a sender puts in one `/internal/raft` request (well under the
/// receiver's body limit, [`crate::server::MAX_INTERNAL_BODY_BYTES`]).
pub const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;

enum Event {
    Messages {
        envelopes: Vec<Envelope>,
        reply: oneshot::Sender<Result<usize, Refused>>,
    },
    Command {
        command: Command,
        reply: oneshot::Sender<Result<Applied, CommandError>>,
    },
}

/// What handlers read without asking the driver.
#[derive(Debug, Clone)]
struct Shared {
    status: Status,
    /// Why the node stopped acting, if it did: every command is answered with it.
    fault: Option<CommandError>,
    /// Where every member is: the one address book.
    addresses: AddressBook,
}

/// A running node: the handle the HTTP handlers use.
#[derive(Debug)]
pub struct Node {
    id: NodeId,
    write_timeout: Duration,
    members: Vec<NodeId>,
    events: mpsc::Sender<Event>,
    shared: Arc<Mutex<Shared>>,
}

/// What a node counts about its snapshots and log, for `/status`.
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    snapshots_taken: u64,
    snapshots_installed: u64,
    entries_received: u64,
    log_bytes: u64,
}

struct Driver {
    raft: Raft,
    storage: Option<Storage>,
    machine: Machine,
    counters: Counters,
    waiting: BTreeMap<u64, (u64, oneshot::Sender<Result<Applied, CommandError>>)>,
    outboxes: HashMap<NodeId, mpsc::Sender<Envelope>>,
    shared: Arc<Mutex<Shared>>,
    advertise_url: String,
    started: Instant,
    elections: u64,
}

impl Node {
    /// Recovers the node's state from `config.data_dir` and starts its driver and peer
    /// senders on the current runtime.
    pub fn start(config: Config) -> anyhow::Result<Arc<Node>> {
        config
            .timing
            .validate()
            .map_err(|e| anyhow::anyhow!("bad timing: {e}"))?;
        config
            .compaction
            .validate()
            .map_err(|e| anyhow::anyhow!("bad compaction settings: {e}"))?;
        let recovered = Storage::recover(Arc::clone(&config.disk), &config.data_dir)?;
        let machine = match &recovered.persisted.snapshot {
            Some(snapshot) => config
                .machine
                .restore(&snapshot.data, snapshot.index)
                .map_err(|e| {
                    anyhow::anyhow!(
                        "the snapshot in {} is not this node's: {e}; refusing to start",
                        config.data_dir.display()
                    )
                })?,
            None => config.machine.clone(),
        };
        let counters = Counters {
            log_bytes: recovered.storage.log_bytes(),
            ..Counters::default()
        };
        let seed = config
            .seed
            .unwrap_or_else(|| fastrand::u64(..))
            .wrapping_add(config.id.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let members: Vec<NodeId> = config.peers.iter().map(|p| p.id).collect();
        let raft = Raft::new(
            config.id,
            members.clone(),
            (config.timing, config.compaction),
            recovered.persisted,
            0,
            seed,
        );
        tracing::info!(
            term = raft.term(),
            snapshot_index = raft.snapshot().index,
            last_index = raft.last_index(),
            "recovered"
        );
        let http = plumbing::cluster_key::peer_client(
            Duration::from_millis(config.timing.election_min_ms.max(100)),
            &config.cluster_key,
        )?;
        let addresses = AddressBook::new(&config);
        let mut outboxes = HashMap::new();
        for &peer in &members {
            let Some(link) = addresses.link(peer) else {
                continue;
            };
            let (tx, rx) = mpsc::channel(MAX_QUEUED_MESSAGES);
            outboxes.insert(peer, tx);
            tokio::spawn(send_to_peer(http.clone(), peer, link.to_string(), rx));
        }
        let shared = Arc::new(Mutex::new(Shared {
            status: status_of(&raft, &machine, Counters::default(), 0, Duration::ZERO),
            fault: None,
            addresses,
        }));
        let (events, inbox) = mpsc::channel(MAX_QUEUED_EVENTS);
        let driver = Driver {
            raft,
            storage: Some(recovered.storage),
            machine,
            counters,
            waiting: BTreeMap::new(),
            outboxes,
            shared: Arc::clone(&shared),
            advertise_url: config.advertise_url.clone(),
            started: Instant::now(),
            elections: 0,
        };
        let tick = Duration::from_millis((config.timing.heartbeat_ms / 5).clamp(1, 10));
        // The driver logs inside the node's span, so every line names the node.
        tokio::spawn(driver.run(inbox, tick).instrument(tracing::Span::current()));
        Ok(Arc::new(Node {
            id: config.id,
            write_timeout: config.write_timeout,
            members,
            events,
            shared,
        }))
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The node's state as `/status` shows it.
    pub fn status(&self) -> Status {
        self.lock().status.clone()
    }

    /// The address of the node `id`, as it advertised itself (or as configured).
    pub fn url_of(&self, id: NodeId) -> Option<String> {
        self.lock().addresses.public(id)
    }

    /// Messages from a peer. A batch with a malformed envelope (for another node, from a
    /// non-member, misnumbered entries, an absurd term) is refused whole; otherwise the
    /// driver takes it and refuses, one by one, messages that would break one of this
    /// node's invariants (see [`check_against`]). Answers how many were taken.
    pub async fn receive(&self, envelopes: Vec<Envelope>) -> Result<usize, Refused> {
        if envelopes.len() > MAX_ENVELOPES {
            return Err(Refused::Invalid(format!(
                "{} envelopes in one request; the limit is {MAX_ENVELOPES}",
                envelopes.len()
            )));
        }
        for envelope in &envelopes {
            self.check_envelope(envelope).map_err(|reason| {
                tracing::warn!(from = envelope.from, %reason, "refused a peer's batch");
                Refused::Invalid(reason)
            })?;
        }
        if let Some(fault) = self.lock().fault.clone() {
            return Err(Refused::Stopped(fault.to_string()));
        }
        let said: Vec<(NodeId, String)> = envelopes
            .iter()
            .map(|e| (e.from, e.from_url.clone()))
            .collect();
        let (reply, answer) = oneshot::channel();
        match self.events.try_send(Event::Messages { envelopes, reply }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => return Err(Refused::Overloaded),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                return Err(Refused::Stopped("the node is shutting down".into()));
            }
        }
        {
            let mut shared = self.lock();
            for (id, url) in &said {
                shared.addresses.learn(*id, url);
            }
        }
        answer
            .await
            .unwrap_or_else(|_| Err(Refused::Stopped("the node is shutting down".into())))
    }

    /// What can be refused without looking at the node's state.
    fn check_envelope(&self, envelope: &Envelope) -> Result<(), String> {
        if envelope.to != self.id {
            return Err(format!(
                "a message for node {} reached node {}",
                envelope.to, self.id
            ));
        }
        if !self.members.contains(&envelope.from) {
            return Err(format!(
                "node {} is not a member of this group (members: {:?})",
                envelope.from, self.members
            ));
        }
        let url = &envelope.from_url;
        if url.len() > 256 || !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!("from_url {url:?} is not an http(s) URL"));
        }
        check_message(&envelope.message)
    }

    /// Runs `command` through the log: the leader appends it, and answers once it is
    /// committed and applied.
    pub async fn execute(&self, command: Command) -> Result<Applied, CommandError> {
        if let Some(fault) = self.lock().fault.clone() {
            return Err(fault);
        }
        let (reply, answer) = oneshot::channel();
        match self.events.try_send(Event::Command { command, reply }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => return Err(CommandError::Overloaded),
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(CommandError::ShuttingDown),
        }
        match tokio::time::timeout(self.write_timeout, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(CommandError::ShuttingDown),
            Err(_) => Err(CommandError::Timeout(self.write_timeout)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
