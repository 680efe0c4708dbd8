//! A deterministic simulator for sans-IO nodes.
//!
//! Protocol code written as plain state machines (a message in, messages out; a tick
//! in, messages out) can be run here instead of on real sockets and clocks. Time is
//! virtual, every random choice comes from one seed, and the network is a priority queue
//! the simulator controls: it loses, delays (and so reorders) and duplicates messages,
//! partitions nodes, crashes them and restarts them from what they made durable.
//!
//! Because nothing real is involved, a run is a pure function of its seed: a failing
//! schedule is reported with its seed, and running that seed again replays the identical
//! sequence of events (see [`check_seeds`]). And because nothing waits, thousands of
//! schedules of a five-node cluster run in seconds.
//!
//! The contract with a node ([`SimNode`]):
//! - the simulator calls [`SimNode::on_message`] and [`SimNode::on_tick`], passing a
//!   [`Ctx`] through which the node sends messages and reads the time and randomness;
//! - crashes fall between two such calls, so whatever a call changed counts as persisted
//!   *before* the messages of that call leave, the rule real nodes must follow;
//! - a crash takes the node's [`SimNode::durable`] state and discards the rest; a restart
//!   calls [`SimNode::start`] with that state.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::fmt;
use std::ops::Range;

/// A node's index in the simulation, `0..nodes`.
pub type NodeId = usize;

/// A sans-IO node the simulator can drive.
pub trait SimNode: Sized {
    /// What nodes send each other.
    type Message: Clone + fmt::Debug;
    /// What survives a crash (terms, votes, logs...).
    type Durable: Clone + fmt::Debug;

    /// A node starting fresh (`durable: None`) or recovering from what it persisted.
    fn start(
        id: NodeId,
        peers: Vec<NodeId>,
        durable: Option<Self::Durable>,
        ctx: &mut Ctx<Self::Message>,
    ) -> Self;
    /// A message arrived.
    fn on_message(&mut self, from: NodeId, message: Self::Message, ctx: &mut Ctx<Self::Message>);
    /// Time passed: called every `tick_ms` of virtual time.
    fn on_tick(&mut self, ctx: &mut Ctx<Self::Message>);
    /// The state that must survive a crash.
    fn durable(&self) -> Self::Durable;
}

/// What a node can do during a step: send, read the clock, draw random numbers.
#[derive(Debug)]
pub struct Ctx<M> {
    now: u64,
    id: NodeId,
    outbox: Vec<(NodeId, M)>,
    rng: fastrand::Rng,
}

impl<M> Ctx<M> {
    /// Queues `message` to `to`; it leaves when the step ends.
    pub fn send(&mut self, to: NodeId, message: M) {
        self.outbox.push((to, message));
    }
    /// Virtual time in milliseconds.
    pub fn now(&self) -> u64 {
        self.now
    }
    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }
    /// A random number in `range`, from the simulation's seed (e.g. an election timeout).
    pub fn random(&mut self, range: Range<u64>) -> u64 {
        self.rng.u64(range)
    }
}

/// The simulated world's settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Number of nodes.
    pub nodes: usize,
    /// Virtual milliseconds between two ticks of a node.
    pub tick_ms: u64,
    /// Delay of a delivered message, in virtual milliseconds (uniform in the range:
    /// different delays reorder messages).
    pub delay_ms: Range<u64>,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a delivered message is delivered twice.
    pub duplicate: f64,
    /// Record every event as text (for replay comparison and failure reports).
    pub record_trace: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            nodes: 5,
            tick_ms: 10,
            delay_ms: 1..20,
            loss: 0.0,
            duplicate: 0.0,
            record_trace: false,
        }
    }
}

#[derive(Debug)]
enum Event<M> {
    Deliver {
        from: NodeId,
        to: NodeId,
        message: M,
    },
    Tick {
        node: NodeId,
        incarnation: u64,
    },
}

#[derive(Debug)]
struct Queued<M> {
    at: u64,
    seq: u64,
    event: Event<M>,
}

impl<M> PartialEq for Queued<M> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<M> Eq for Queued<M> {}
impl<M> PartialOrd for Queued<M> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<M> Ord for Queued<M> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// One simulated cluster, driven event by event.
pub struct Simulation<N: SimNode> {
    config: SimConfig,
    seed: u64,
    now: u64,
    seq: u64,
    rng: fastrand::Rng,
    queue: BinaryHeap<Reverse<Queued<N::Message>>>,
    nodes: Vec<Option<N>>,
    durable: Vec<Option<N::Durable>>,
    incarnations: Vec<u64>,
    cut: BTreeSet<(NodeId, NodeId)>,
    trace: Vec<String>,
    stats: SimStats,
}

/// Counts of what happened in a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Messages delivered (duplicates included).
    pub delivered: u64,
    /// Messages lost (to loss, partitions or crashed receivers).
    pub dropped: u64,
    /// Ticks run.
    pub ticks: u64,
    /// Crashes.
    pub crashes: u64,
}

impl<N: SimNode> fmt::Debug for Simulation<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulation")
            .field("seed", &self.seed)
            .field("now", &self.now)
            .field("stats", &self.stats)
            .finish()
    }
}

impl<N: SimNode> Simulation<N> {
    /// A cluster of `config.nodes` fresh nodes; every random choice derives from `seed`.
    pub fn new(config: SimConfig, seed: u64) -> Self {
        crate::logs::init();
        let n = config.nodes;
        let mut sim = Simulation {
            rng: fastrand::Rng::with_seed(seed),
            config,
            seed,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            nodes: (0..n).map(|_| None).collect(),
            durable: vec![None; n],
            incarnations: vec![0; n],
            cut: BTreeSet::new(),
            trace: Vec::new(),
            stats: SimStats::default(),
        };
        for id in 0..n {
            sim.boot(id);
        }
        sim
    }

    /// The seed this run derives from.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Virtual time in milliseconds.
    pub fn now(&self) -> u64 {
        self.now
    }
    /// The running nodes (`None` for a crashed one).
    pub fn nodes(&self) -> &[Option<N>] {
        &self.nodes
    }
    /// Node `id`, if it is running.
    pub fn node(&self, id: NodeId) -> Option<&N> {
        self.nodes.get(id).and_then(Option::as_ref)
    }
    /// Node `id` to change between events, if it runs: how a test hands a node its work
    /// (a list of changes to make, the keys to use) after the simulation started it.
    pub fn node_mut(&mut self, id: NodeId) -> Option<&mut N> {
        self.nodes.get_mut(id).and_then(Option::as_mut)
    }
    /// What happened so far.
    pub fn stats(&self) -> SimStats {
        self.stats
    }
    /// The recorded events (empty unless `record_trace`).
    pub fn trace(&self) -> &[String] {
        &self.trace
    }

    fn note(&mut self, what: impl FnOnce() -> String) {
        if self.config.record_trace {
            let line = format!("t={} {}", self.now, what());
            self.trace.push(line);
        }
    }

    fn push(&mut self, at: u64, event: Event<N::Message>) {
        self.seq += 1;
        self.queue.push(Reverse(Queued {
            at,
            seq: self.seq,
            event,
        }));
    }

    fn ctx(&mut self, id: NodeId) -> Ctx<N::Message> {
        Ctx {
            now: self.now,
            id,
            outbox: Vec::new(),
            rng: fastrand::Rng::with_seed(self.rng.u64(..)),
        }
    }

    fn boot(&mut self, id: NodeId) {
        self.incarnations[id] += 1;
        let peers = (0..self.config.nodes).filter(|&p| p != id).collect();
        let mut ctx = self.ctx(id);
        let node = N::start(id, peers, self.durable[id].take(), &mut ctx);
        self.nodes[id] = Some(node);
        self.send_all(id, ctx.outbox);
        // Stagger the first tick so nodes do not tick in lockstep.
        let first = self.now + 1 + self.rng.u64(0..self.config.tick_ms.max(1));
        let incarnation = self.incarnations[id];
        self.push(
            first,
            Event::Tick {
                node: id,
                incarnation,
            },
        );
    }

    fn send_all(&mut self, from: NodeId, outbox: Vec<(NodeId, N::Message)>) {
        for (to, message) in outbox {
            if to >= self.config.nodes
                || self.cut.contains(&(from, to))
                || self.rng.f64() < self.config.loss
            {
                self.stats.dropped += 1;
                self.note(|| format!("drop {from}->{to} {message:?}"));
                continue;
            }
            let copies = if self.rng.f64() < self.config.duplicate {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let delay = self.rng.u64(self.config.delay_ms.clone());
                self.push(
                    self.now + delay.max(1),
                    Event::Deliver {
                        from,
                        to,
                        message: message.clone(),
                    },
                );
            }
        }
    }

    /// Runs the next event; returns `false` if there is none.
    pub fn step(&mut self) -> bool {
        let Some(Reverse(Queued { at, event, .. })) = self.queue.pop() else {
            return false;
        };
        self.now = at;
        match event {
            Event::Deliver { from, to, message } => {
                // A partition made after sending still stops a message in flight.
                if self.cut.contains(&(from, to)) || self.nodes[to].is_none() {
                    self.stats.dropped += 1;
                    self.note(|| format!("lost {from}->{to} {message:?}"));
                    return true;
                }
                self.note(|| format!("deliver {from}->{to} {message:?}"));
                self.stats.delivered += 1;
                let mut ctx = self.ctx(to);
                if let Some(node) = self.nodes[to].as_mut() {
                    node.on_message(from, message, &mut ctx);
                }
                self.send_all(to, ctx.outbox);
            }
            Event::Tick { node, incarnation } => {
                if incarnation != self.incarnations[node] || self.nodes[node].is_none() {
                    return true;
                }
                self.stats.ticks += 1;
                let mut ctx = self.ctx(node);
                if let Some(n) = self.nodes[node].as_mut() {
                    n.on_tick(&mut ctx);
                }
                self.send_all(node, ctx.outbox);
                let next = self.now + self.config.tick_ms;
                self.push(next, Event::Tick { node, incarnation });
            }
        }
        true
    }

    /// Runs events until virtual time `until` (ms), checking `invariant` after each.
    pub fn run_until(
        &mut self,
        until: u64,
        mut invariant: impl FnMut(&Self) -> Result<(), String>,
    ) -> Result<(), String> {
        while self.queue.peek().is_some_and(|Reverse(q)| q.at <= until) {
            self.step();
            invariant(self).map_err(|e| format!("at t={}ms: {e}", self.now))?;
        }
        self.now = self.now.max(until);
        Ok(())
    }

    /// Crashes node `id`: it stops at once; what it made durable stays.
    pub fn crash(&mut self, id: NodeId) {
        if let Some(node) = self.nodes[id].take() {
            // Taken here, not after every step: the same state, without copying a
            // node's whole log thousands of times a run.
            self.durable[id] = Some(node.durable());
            self.stats.crashes += 1;
            self.note(|| format!("crash {id}"));
        }
    }

    /// Restarts a crashed node from its durable state (does nothing if it runs).
    pub fn restart(&mut self, id: NodeId) {
        if self.nodes[id].is_none() {
            self.note(|| format!("restart {id}"));
            self.boot(id);
        }
    }

    /// Cuts the directed link `from → to`.
    pub fn cut(&mut self, from: NodeId, to: NodeId) {
        self.cut.insert((from, to));
    }

    /// Splits the nodes into groups that cannot reach each other (both directions).
    pub fn partition(&mut self, groups: &[&[NodeId]]) {
        self.heal();
        for (i, a) in groups.iter().enumerate() {
            for b in groups.iter().skip(i + 1) {
                for &x in *a {
                    for &y in *b {
                        self.cut.insert((x, y));
                        self.cut.insert((y, x));
                    }
                }
            }
        }
        self.note(|| format!("partition {groups:?}"));
    }

    /// Heals every cut link.
    pub fn heal(&mut self) {
        if !self.cut.is_empty() {
            self.cut.clear();
            self.note(|| "heal".to_string());
        }
    }

    /// One random fault or repair, chosen by the seed: crash a running node, restart a
    /// crashed one, partition the cluster in two, or heal. Keeps a majority running.
    pub fn random_fault(&mut self) {
        let n = self.config.nodes;
        let running: Vec<NodeId> = (0..n).filter(|&i| self.nodes[i].is_some()).collect();
        match self.rng.u8(0..4) {
            0 if running.len() > n / 2 + 1 => {
                let victim = running[self.rng.usize(0..running.len())];
                self.crash(victim);
            }
            1 => {
                let down: Vec<NodeId> = (0..n).filter(|&i| self.nodes[i].is_none()).collect();
                if !down.is_empty() {
                    let id = down[self.rng.usize(0..down.len())];
                    self.restart(id);
                }
            }
            2 => {
                let mut ids: Vec<NodeId> = (0..n).collect();
                self.rng.shuffle(&mut ids);
                let split = self.rng.usize(1..n.max(2));
                let (a, b) = ids.split_at(split.min(n));
                self.partition(&[a, b]);
            }
            _ => self.heal(),
        }
    }
}

pub use crate::runs::{check_seeds, check_seeds_within};
