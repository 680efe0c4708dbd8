//! The async shell around the [`Raft`] core: timers, disk, network, clients.
//!
//! One task, the **driver**, owns the core, the [`Storage`] and the [`Machine`]. Every
//! input reaches it through one channel: messages from peers (posted to
//! `/internal/raft`), client commands, and its own clock. It works in rounds:
//!
//! 1. take every input waiting (one at a time would mean one fsync each), feed each to
//!    the core, then let the core look at the clock ([`Raft::tick`]);
//! 2. take the core's [`Ready`] and persist its term, vote and new entries, on a
//!    blocking thread, **before anything else**;
//! 3. only then hand its messages to the peer senders (one task and one queue per peer;
//!    a message that cannot be delivered is dropped: Raft expects loss);
//! 4. apply newly committed entries to the [`Machine`] and answer the clients waiting
//!    for them.
//!
//! A command's answer waits for its entry to be applied. If the entry at that index
//! turns out to be another leader's, or this node stops leading first, the client hears
//! `503`: the write's fate is unknown, and a retry with the same request id is safe.
//!
//! If the core panics (an unfinished exercise, or a broken invariant), the driver stops
//! feeding it, records why, and every request is answered with that message.

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
use crate::raft::{Message, NodeId, Raft, Ready, Role, Timing};
use crate::storage::Storage;

/// Another member of the group, as this node reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its id.
    pub id: NodeId,
    /// Its base URL, e.g. `http://127.0.0.1:7001`.
    pub url: String,
}

/// How to run a node.
#[derive(Debug, Clone)]
pub struct Config {
    /// This node's id.
    pub id: NodeId,
    /// The other members.
    pub peers: Vec<Peer>,
    /// Where clients reach this node (sent to peers, who pass it on in `421` answers).
    pub advertise_url: String,
    /// Where the term, vote and log live.
    pub data_dir: PathBuf,
    /// Election timeouts and heartbeat interval.
    pub timing: Timing,
    /// How long a command may wait to be committed and applied before a `504`.
    pub write_timeout: Duration,
    /// The longest any request may take.
    pub request_timeout: Duration,
    /// The seed of the election timeouts (`None`: a random one).
    pub seed: Option<u64>,
    /// The disk (the real one, or a simulated one in tests).
    pub disk: Arc<dyn Disk>,
    /// The cluster's secret: required on `/internal/raft`, sent to peers.
    pub cluster_key: ClusterKey,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            id: 0,
            peers: Vec::new(),
            advertise_url: "http://127.0.0.1:7000".into(),
            data_dir: PathBuf::from("data"),
            timing: Timing::default(),
            write_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
            seed: None,
            disk: Arc::new(RealDisk),
            cluster_key: ClusterKey::none(),
        }
    }
}

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
    urls: HashMap<NodeId, String>,
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

struct Driver {
    raft: Raft,
    storage: Option<Storage>,
    machine: Machine,
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
        let recovered = Storage::recover(Arc::clone(&config.disk), &config.data_dir)?;
        let seed = config
            .seed
            .unwrap_or_else(|| fastrand::u64(..))
            .wrapping_add(config.id.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let members: Vec<NodeId> = config.peers.iter().map(|p| p.id).collect();
        let raft = Raft::new(
            config.id,
            members.clone(),
            config.timing,
            recovered.hard_state,
            recovered.log,
            0,
            seed,
        );
        tracing::info!(
            term = raft.term(),
            last_index = raft.last_index(),
            "recovered"
        );
        let http = plumbing::cluster_key::peer_client(
            Duration::from_millis(config.timing.election_min_ms.max(100)),
            &config.cluster_key,
        )?;
        let mut outboxes = HashMap::new();
        for peer in &config.peers {
            let (tx, rx) = mpsc::channel(MAX_QUEUED_MESSAGES);
            outboxes.insert(peer.id, tx);
            tokio::spawn(send_to_peer(http.clone(), peer.clone(), rx));
        }
        let shared = Arc::new(Mutex::new(Shared {
            status: status_of(&raft, &Machine::new(), 0, Duration::ZERO),
            fault: None,
            urls: config
                .peers
                .iter()
                .map(|p| (p.id, p.url.clone()))
                .chain([(config.id, config.advertise_url.clone())])
                .collect(),
        }));
        let (events, inbox) = mpsc::channel(MAX_QUEUED_EVENTS);
        let driver = Driver {
            raft,
            storage: Some(recovered.storage),
            machine: Machine::new(),
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
        self.lock().urls.get(&id).cloned()
    }

    // ANCHOR: receive
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
        let urls: Vec<(NodeId, String)> = envelopes
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
        self.lock().urls.extend(urls);
        answer
            .await
            .unwrap_or_else(|_| Err(Refused::Stopped("the node is shutting down".into())))
    }
    // ANCHOR_END: receive

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

impl Driver {
    async fn run(mut self, mut inbox: mpsc::Receiver<Event>, tick: Duration) {
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let mut events = Vec::new();
            tokio::select! {
                event = inbox.recv() => match event {
                    Some(event) => events.push(event),
                    None => return, // the node is gone
                },
                _ = ticker.tick() => {}
            }
            while events.len() < 1024 {
                match inbox.try_recv() {
                    Ok(event) => events.push(event),
                    Err(_) => break,
                }
            }
            self.round(events).await;
        }
    }

    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    // ANCHOR: driver_round
    /// One round: feed, persist, send, apply.
    async fn round(&mut self, events: Vec<Event>) {
        if let Some(fault) = self.fault() {
            for event in events {
                match event {
                    Event::Command { reply, .. } => {
                        let _ = reply.send(Err(fault.clone()));
                    }
                    Event::Messages { reply, .. } => {
                        let _ = reply.send(Err(Refused::Stopped(fault.to_string())));
                    }
                }
            }
            return;
        }
        let now = self.now();
        let term_before = self.raft.term();
        let fed = std::panic::catch_unwind(AssertUnwindSafe(|| {
            for event in events {
                self.feed(now, event);
            }
            let candidate_before = self.raft.role() == Role::Candidate;
            let term = self.raft.term();
            self.raft.tick(now);
            if self.raft.role() == Role::Candidate && (!candidate_before || self.raft.term() > term)
            {
                self.elections += 1;
            }
            self.raft.take_ready()
        }));
        let ready = match fed {
            Ok(ready) => ready,
            Err(panic) => {
                let message = plumbing::unfinished::payload_message(panic.as_ref())
                    .trim_start_matches("not yet implemented: ")
                    .to_string();
                tracing::error!(%message, "the Raft core panicked; this node stops");
                self.stop(CommandError::Fault(message));
                return;
            }
        };
        if self.raft.term() > term_before {
            tracing::info!(term = self.raft.term(), role = %self.raft.role(), "new term");
        }
        if let Err(e) = self.persist(&ready).await {
            tracing::error!(error = %e, "cannot persist; this node stops");
            self.stop(CommandError::Disk(e.to_string()));
            return;
        }
        self.send(ready);
        self.apply();
        self.publish();
    }
    // ANCHOR_END: driver_round

    fn feed(&mut self, now: u64, event: Event) {
        match event {
            Event::Messages { envelopes, reply } => {
                let count = envelopes.len();
                let mut refused = Vec::new();
                for envelope in envelopes {
                    match check_against(&self.raft, envelope.from, &envelope.message) {
                        Ok(()) => self.raft.step(now, envelope.from, envelope.message),
                        Err(reason) => {
                            tracing::warn!(from = envelope.from, %reason, "refused a peer's message");
                            refused.push(reason);
                        }
                    }
                }
                let answer = match refused.first() {
                    None => Ok(count),
                    Some(first) => Err(Refused::Invalid(format!(
                        "{} of {count} messages refused, the first because: {first}",
                        refused.len()
                    ))),
                };
                let _ = reply.send(answer);
            }
            Event::Command { command, reply } => match self.raft.propose(command) {
                Ok((index, term)) => {
                    self.waiting.insert(index, (term, reply));
                }
                Err(not_leader) => {
                    let leader = not_leader.leader.and_then(|id| {
                        let shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
                        shared.urls.get(&id).cloned()
                    });
                    let _ = reply.send(Err(CommandError::NotLeader { leader }));
                }
            },
        }
    }

    async fn persist(&mut self, ready: &Ready) -> std::io::Result<()> {
        let entries = match ready.log_from {
            Some(from) => self.raft.log()[from as usize - 1..].to_vec(),
            None => Vec::new(),
        };
        if ready.hard_state.is_none() && entries.is_empty() {
            return Ok(());
        }
        let Some(mut storage) = self.storage.take() else {
            return Err(std::io::Error::other("storage lost after a failed write"));
        };
        let hard_state = ready.hard_state;
        let (storage, result) = tokio::task::spawn_blocking(move || {
            let result = storage.persist(hard_state, &entries);
            (storage, result)
        })
        .await
        .map_err(std::io::Error::other)?;
        self.storage = Some(storage);
        result
    }

    fn send(&mut self, ready: Ready) {
        for (to, message) in ready.messages {
            if let Some(outbox) = self.outboxes.get(&to) {
                // A full queue drops the message: the peer has been slow or away, and
                // the leader resends whatever it did not acknowledge.
                let _ = outbox.try_send(Envelope {
                    from: self.raft.id(),
                    from_url: self.advertise_url.clone(),
                    to,
                    message,
                });
            }
        }
    }

    fn apply(&mut self) {
        while self.machine.applied_index() < self.raft.commit_index() {
            let index = self.machine.applied_index() + 1;
            let Some(entry) = self.raft.entry(index).cloned() else {
                break;
            };
            let result = self.machine.apply(&entry);
            if let Some((term, reply)) = self.waiting.remove(&index) {
                let answer = if term == entry.term {
                    Ok(result)
                } else {
                    Err(CommandError::LostLeadership)
                };
                let _ = reply.send(answer);
            }
        }
        // A node that no longer leads cannot promise anything about what it appended.
        if self.raft.role() != Role::Leader {
            for (_, (_, reply)) in std::mem::take(&mut self.waiting) {
                let _ = reply.send(Err(CommandError::LostLeadership));
            }
        }
        // Clients that gave up (timed out) left their senders behind.
        self.waiting.retain(|_, (_, reply)| !reply.is_closed());
    }

    fn publish(&self) {
        let status = status_of(
            &self.raft,
            &self.machine,
            self.elections,
            self.started.elapsed(),
        );
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        let fault = shared.fault.as_ref().map(ToString::to_string);
        let leader = status
            .leader_id
            .and_then(|id| shared.urls.get(&id).cloned());
        shared.status = Status {
            leader,
            fault,
            ..status
        };
    }

    /// Why the node stopped acting, if it did.
    fn fault(&self) -> Option<CommandError> {
        let shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        shared.fault.clone()
    }

    fn stop(&mut self, fault: CommandError) {
        for (_, (_, reply)) in std::mem::take(&mut self.waiting) {
            let _ = reply.send(Err(fault.clone()));
        }
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fault = Some(fault);
        self.publish();
    }
}

/// The largest term a message may carry: far beyond any real group's (a term per
/// millisecond for a hundred million years), and far from overflowing.
pub const MAX_TERM: u64 = 1 << 62;

/// Refuses a message no correct node sends: an absurd term, or entries that are not
/// numbered `prev_index + 1, prev_index + 2, ...` (the core trusts that numbering).
fn check_message(message: &Message) -> Result<(), String> {
    if message.term() > MAX_TERM {
        return Err(format!(
            "term {} is implausibly large (the limit is {MAX_TERM})",
            message.term()
        ));
    }
    if let Message::Append {
        prev_index,
        entries,
        ..
    } = message
    {
        if entries.len() > crate::raft::MAX_BATCH {
            return Err(format!(
                "{} entries in one append; the limit is {}",
                entries.len(),
                crate::raft::MAX_BATCH
            ));
        }
        for (i, entry) in entries.iter().enumerate() {
            let Some(expected) = prev_index.checked_add(1 + i as u64) else {
                return Err(format!("append entry {i} would be past the last index"));
            };
            if entry.index != expected || entry.term > message.term() {
                return Err(format!(
                    "append entry {i} has index {} and term {}; expected index {expected} and \
                     a term no higher than the append's {}",
                    entry.index,
                    entry.term,
                    message.term()
                ));
            }
        }
    }
    Ok(())
}

// ANCHOR: check_against
/// Refuses a message that would make this node break one of its own invariants. No
/// correct peer sends one (Raft's safety argument says so), so it is forged, or a peer
/// has a bug: either way this node keeps serving and says so in its log, instead of
/// letting its core reach an assertion (which would stop it for good).
///
/// Today one rule: an append that matches this node's log at `prev_index` may not
/// replace a committed entry (the core would have to truncate below its commit index).
pub fn check_against(raft: &Raft, from: NodeId, message: &Message) -> Result<(), String> {
    let Message::Append {
        term,
        prev_index,
        prev_term,
        entries,
        ..
    } = message
    else {
        return Ok(());
    };
    if *term < raft.term() || raft.term_at(*prev_index) != Some(*prev_term) {
        return Ok(()); // the core refuses it by the protocol's own rules
    }
    for entry in entries {
        if entry.index > raft.commit_index() {
            break;
        }
        if raft.term_at(entry.index) != Some(entry.term) {
            return Err(format!(
                "node {from}'s append of term {term} would replace committed entry {} \
                 (term {:?} here) with one of term {}: committed entries never change",
                entry.index,
                raft.term_at(entry.index),
                entry.term
            ));
        }
    }
    Ok(())
}
// ANCHOR_END: check_against

fn status_of(raft: &Raft, machine: &Machine, elections: u64, uptime: Duration) -> Status {
    Status {
        id: raft.id(),
        role: raft.role().to_string(),
        term: raft.term(),
        voted_for: raft.voted_for(),
        leader_id: raft.leader(),
        leader: None,
        keys: machine.len(),
        last_index: raft.last_index(),
        last_term: raft.last_term(),
        commit_index: raft.commit_index(),
        applied_index: machine.applied_index(),
        elections,
        timing: raft.timing(),
        uptime_ms: uptime.as_millis() as u64,
        fault: None,
    }
}

/// Delivers one peer's messages, in order, in batches of at most [`MAX_ENVELOPES`]
/// envelopes and [`MAX_REQUEST_BYTES`] bytes; drops what cannot be delivered.
async fn send_to_peer(http: reqwest::Client, peer: Peer, mut outbox: mpsc::Receiver<Envelope>) {
    let url = format!("{}/internal/raft", peer.url.trim_end_matches('/'));
    let mut next: Option<Vec<u8>> = None;
    loop {
        let first = match next.take() {
            Some(bytes) => bytes,
            None => match outbox.recv().await {
                Some(envelope) => match encode(&envelope) {
                    Some(bytes) => bytes,
                    None => continue,
                },
                None => return, // the node is gone
            },
        };
        let mut body = Vec::with_capacity(first.len() + BATCH_OPEN.len() + BATCH_CLOSE.len());
        body.extend_from_slice(BATCH_OPEN);
        body.extend_from_slice(&first);
        let mut count = 1;
        while count < MAX_ENVELOPES {
            let Ok(envelope) = outbox.try_recv() else {
                break;
            };
            let Some(bytes) = encode(&envelope) else {
                continue;
            };
            if body.len() + bytes.len() + 1 + BATCH_CLOSE.len() > MAX_REQUEST_BYTES {
                next = Some(bytes); // the first of the next request
                break;
            }
            body.push(b',');
            body.extend_from_slice(&bytes);
            count += 1;
        }
        body.extend_from_slice(BATCH_CLOSE);
        let request = http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        match request.send().await {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => {
                tracing::debug!(peer = peer.id, status = %response.status(), "a peer refused messages")
            }
            Err(e) => tracing::trace!(peer = peer.id, error = %e, "a peer is unreachable"),
        }
    }
}

/// A request's body is a [`crate::api::Batch`]: `{"envelopes": [` envelopes `]}`.
const BATCH_OPEN: &[u8] = br#"{"envelopes":["#;
const BATCH_CLOSE: &[u8] = b"]}";

/// One envelope as JSON, or `None` (logged) if it cannot be encoded or could never fit
/// in a request: a message is sent whole or not at all, never empty.
fn encode(envelope: &Envelope) -> Option<Vec<u8>> {
    match serde_json::to_vec(envelope) {
        Ok(bytes) if bytes.len() + BATCH_OPEN.len() + BATCH_CLOSE.len() <= MAX_REQUEST_BYTES => {
            Some(bytes)
        }
        Ok(bytes) => {
            tracing::error!(
                to = envelope.to,
                bytes = bytes.len(),
                "a message larger than a request may be was dropped"
            );
            None
        }
        Err(e) => {
            tracing::error!(to = envelope.to, error = %e, "a message could not be encoded; dropped");
            None
        }
    }
}
