//! The simulated sharded system: who is who, what they send, and the replicas.
//!
//! Four replicated logs of three replicas each, every replica running chapter 6's Raft
//! core (carried into this chapter) with snapshots on: log 0 is the configuration
//! service, logs 1 to 3 are groups 1 to 3. Two controllers race to make their lists of
//! changes (`sim_actors.rs`), three clients read and write. A controller or client sends a
//! request to every replica of a log; the leader proposes it, and answers once the entry
//! is applied (the others drop it; the sender resends until answered).

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use chapter7::command::Command;
use chapter7::machine::{Applied, Kind, Machine};
use chapter7::raft::{Compaction, Message, Persisted, Raft, Role, Timing};
use chapter7::stack::core_panicked;
use chapter7::{Group, Service};
use harness::sim::{Ctx, NodeId, SimNode};

use crate::common::SHARDS;
use crate::core_rules::log_name;
use crate::sim_actors::{Controller, SimClient};

/// Replicas per log.
pub const REPLICAS: usize = 3;
/// Logs: the service's (0) and the groups' (1 to 3).
pub const LOGS: usize = 4;
/// The replicas are nodes `0..SERVERS`: log `l`'s are `3l`, `3l + 1`, `3l + 2`.
pub const SERVERS: usize = LOGS * REPLICAS;
pub const GROUPS: [u64; 3] = [1, 2, 3];
pub const CONTROLLERS: [NodeId; 2] = [12, 13];
pub const CLIENTS: [NodeId; 3] = [14, 15, 16];
pub const NODES: usize = 17;

/// Snapshots every 20 applied entries, sent in pieces of 512 bytes: a moved shard's data
/// and the configurations travel by snapshot too.
const COMPACTION: Compaction = Compaction {
    every: 20,
    chunk_bytes: 512,
};

/// The log replica `node` belongs to.
pub fn log_of(node: NodeId) -> usize {
    node / REPLICAS
}

/// The replicas of `log`.
pub fn replicas(log: usize) -> std::ops::Range<NodeId> {
    log * REPLICAS..(log + 1) * REPLICAS
}

/// Runs `f`, a call into replica `id`'s chapter 6 core: a panic there is the core's, and
/// the test's failure says so (whose core, which log, which call).
fn in_core<T>(id: NodeId, call: &str, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => value,
        Err(payload) => {
            let message = plumbing::unfinished::payload_message(payload.as_ref());
            let place = format!(
                "{}, replica {}, in {call}",
                log_name(log_of(id)),
                id % REPLICAS
            );
            panic!("{}", core_panicked(&place, &message))
        }
    }
}

/// Sends `command` to every replica of `log`.
pub fn propose(ctx: &mut Ctx<Msg>, log: usize, seq: u64, command: &Command) {
    for node in replicas(log) {
        ctx.send(
            node,
            Msg::Request {
                seq,
                command: command.clone(),
            },
        );
    }
}

#[derive(Debug, Clone)]
pub enum Msg {
    /// Between the replicas of one log.
    Raft(Message),
    /// To a replica: propose this (if leading).
    Request { seq: u64, command: Command },
    /// From the replica that proposed request `seq`: what applying it produced.
    Reply { seq: u64, applied: Applied },
}

#[derive(Debug, Clone)]
pub enum Durable {
    Server(Persisted),
    /// How many of its changes a controller has had accepted.
    Controller(usize),
    Client,
}

/// One replica: the core, the machine, and who waits for which entry.
#[derive(Debug)]
pub struct Server {
    pub raft: Raft,
    pub machine: Machine,
    /// Index → (term, who sent it, their seq).
    waiting: BTreeMap<u64, (u64, NodeId, u64)>,
    /// Snapshots sent by a leader and installed here (since this replica last started).
    pub snapshots_installed: u64,
}

impl Server {
    fn start(id: NodeId, persisted: Persisted, ctx: &mut Ctx<Msg>) -> Server {
        let log = log_of(id);
        let blank = if log == 0 {
            Machine::new(Kind::Service(Service::new(SHARDS)))
        } else {
            Machine::new(Kind::Group(Group::new(log as u64, SHARDS)))
        };
        let machine = match &persisted.snapshot {
            Some(s) => blank
                .restore(&s.data, s.index)
                .unwrap_or_else(|e| panic!("replica {id}'s own snapshot does not restore: {e}")),
            None => blank,
        };
        let peers = (0..REPLICAS as u64).collect();
        let seed = ctx.random(0..u64::MAX);
        let now = ctx.now();
        let raft = in_core(id, "Raft::new", || {
            Raft::new(
                (id % REPLICAS) as u64,
                peers,
                (Timing::FAST, COMPACTION),
                persisted,
                now,
                seed,
            )
        });
        Server {
            raft,
            machine,
            waiting: BTreeMap::new(),
            snapshots_installed: 0,
        }
    }

    /// The shell's order: send, restore from an installed snapshot, apply and answer,
    /// snapshot when due.
    fn flush(&mut self, ctx: &mut Ctx<Msg>) {
        // The log's first replica: raft ids 0 to 2 are nodes `base` to `base + 2`.
        let (id, base) = (ctx.id(), ctx.id() - ctx.id() % REPLICAS);
        let mut ready = in_core(id, "take_ready", || self.raft.take_ready());
        loop {
            for (to, message) in ready.messages.drain(..) {
                ctx.send(base + to as NodeId, Msg::Raft(message));
            }
            if let Some(snapshot) = &ready.snapshot
                && snapshot.index > self.machine.applied_index()
            {
                self.machine = self
                    .machine
                    .restore(&snapshot.data, snapshot.index)
                    .unwrap_or_else(|e| panic!("replica {base}+{}: {e}", self.raft.id()));
                self.snapshots_installed += 1;
            }
            for entry in &ready.committed {
                let applied = self.machine.apply(entry);
                if let Some((term, from, seq)) = self.waiting.remove(&entry.index)
                    && term == entry.term
                {
                    ctx.send(from, Msg::Reply { seq, applied });
                }
            }
            match ready.snapshot_due {
                Some(index) if index == self.machine.applied_index() => {
                    let data = self.machine.snapshot();
                    in_core(id, "compact", || self.raft.compact(index, data));
                    ready = in_core(id, "take_ready", || self.raft.take_ready());
                }
                _ => break,
            }
        }
        if self.raft.role() != Role::Leader {
            self.waiting.clear(); // the senders resend
        }
    }
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // seventeen nodes: size does not matter
pub enum Node {
    Server(Server),
    Controller(Controller),
    Client(SimClient),
}

impl SimNode for Node {
    type Message = Msg;
    type Durable = Durable;

    fn start(id: NodeId, _: Vec<NodeId>, durable: Option<Durable>, ctx: &mut Ctx<Msg>) -> Self {
        if id < SERVERS {
            let persisted = match durable {
                Some(Durable::Server(p)) => p,
                _ => Persisted::default(),
            };
            return Node::Server(Server::start(id, persisted, ctx));
        }
        if CONTROLLERS.contains(&id) {
            let next = match durable {
                Some(Durable::Controller(next)) => next,
                _ => 0,
            };
            return Node::Controller(Controller::start(next, ctx));
        }
        Node::Client(SimClient::start(id))
    }

    fn on_message(&mut self, from: NodeId, message: Msg, ctx: &mut Ctx<Msg>) {
        let now = ctx.now();
        match (self, message) {
            (Node::Server(server), Msg::Raft(message)) => {
                let raft = &mut server.raft;
                in_core(ctx.id(), "step", || {
                    raft.step(now, (from % REPLICAS) as u64, message)
                });
                server.flush(ctx);
            }
            (Node::Server(server), Msg::Request { seq, command }) => {
                let proposed = in_core(ctx.id(), "propose", || server.raft.propose(command));
                if let Ok((index, term)) = proposed {
                    server.waiting.insert(index, (term, from, seq));
                }
                server.flush(ctx);
            }
            (Node::Controller(c), Msg::Reply { applied, .. }) => c.on_reply(from, applied, ctx),
            (Node::Client(c), Msg::Reply { seq, applied }) => c.on_reply(seq, applied, ctx),
            (node, message) => panic!("{node:?} cannot handle {message:?}"),
        }
    }

    fn on_tick(&mut self, ctx: &mut Ctx<Msg>) {
        let now = ctx.now();
        match self {
            Node::Server(server) => {
                let raft = &mut server.raft;
                in_core(ctx.id(), "tick", || raft.tick(now));
                server.flush(ctx);
            }
            Node::Controller(c) => c.tick(ctx),
            Node::Client(c) => c.tick(ctx),
        }
    }

    fn durable(&self) -> Durable {
        match self {
            Node::Server(server) => {
                let snapshot = server.raft.snapshot();
                Durable::Server(Persisted {
                    hard_state: server.raft.hard_state(),
                    snapshot: (snapshot.index > 0).then(|| snapshot.clone()),
                    log: server.raft.log().to_vec(),
                })
            }
            Node::Controller(c) => Durable::Controller(c.next()),
            Node::Client(_) => Durable::Client,
        }
    }
}
