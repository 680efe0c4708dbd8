//! The core in the deterministic simulator, snapshots on: five servers built from `Raft`
//! and `Machine` alone, each snapshotting every few entries and sending its snapshot in
//! small pieces, and three clients, over a network that loses, delays, reorders and
//! duplicates messages, with crashes and partitions chosen by the seed. A server follows
//! the shell's rules: persist (here: what the core holds), send, restore from an
//! installed snapshot, apply, snapshot when due; a restart begins from the snapshot.
//!
//! Checked after every event: at most one leader per term (election safety). Checked every
//! 10 ms of virtual time: no two nodes disagree on a committed entry, no node's commit
//! index goes back while it runs, and every leader of a later term holds every entry
//! known committed (leader completeness). At the end: the clients' history is linearizable.

use std::collections::BTreeMap;
use std::time::Duration;

use chapter6::api::{Command, RequestId};
use chapter6::machine::{Applied, Machine};
use chapter6::raft::{Compaction, Message, Persisted, Raft, Role, Timing};
use harness::history::{KvOp, KvOutput, Operation, from_virtual_ms};
use harness::linearizability::{Verdict, check};
use harness::sim::{Ctx, NodeId, SimConfig, SimNode, Simulation, check_seeds};

use crate::safety::{Observed, election_safety, log_safety};

pub const SERVERS: usize = 5;
const CLIENTS: usize = 3;
const KEYS: [&str; 2] = ["a", "b"];

#[derive(Debug, Clone)]
pub enum Msg {
    Raft(Message),
    Request {
        seq: u64,
        command: Command,
    },
    Reply {
        seq: u64,
        result: Result<Applied, Option<u64>>,
    },
}

/// Snapshots every 6 applied entries, sent in pieces of 200 bytes (a snapshot of this
/// workload's machine is a few hundred bytes to a few kilobytes: several pieces).
pub const COMPACTION: Compaction = Compaction {
    every: 6,
    chunk_bytes: 200,
};

#[derive(Debug, Clone)]
pub enum Durable {
    Server(Persisted),
    Client,
}

#[derive(Debug)]
pub struct Server {
    pub raft: Raft,
    pub machine: Machine,
    waiting: BTreeMap<u64, (u64, NodeId, u64)>,
    pub snapshots_installed: u64,
}

#[derive(Debug)]
struct Pending {
    op: KvOp,
    command: Command,
    seq: u64,
    invoke: u64,
    resend_at: u64,
}

#[derive(Debug)]
pub struct SimClient {
    id: usize,
    ops_left: u32,
    seq: u64,
    target: NodeId,
    pending: Option<Pending>,
    /// The version this client last saw of each key, for its conditional writes.
    seen: std::collections::HashMap<String, u64>,
    pub history: Vec<Operation>,
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // five servers and three clients: size does not matter
pub enum Peer {
    Server(Server),
    Client(SimClient),
}

impl Peer {
    pub fn server(&self) -> Option<&Server> {
        match self {
            Peer::Server(s) => Some(s),
            Peer::Client(_) => None,
        }
    }
}

/// Wall-clock ms in the simulation are virtual: the client's retry timeout.
const CLIENT_TIMEOUT_MS: u64 = 300;

impl Server {
    fn flush(&mut self, ctx: &mut Ctx<Msg>) {
        let mut ready = self.raft.take_ready();
        loop {
            for (to, message) in ready.messages.drain(..) {
                ctx.send(to as NodeId, Msg::Raft(message));
            }
            if let Some(snapshot) = &ready.snapshot
                && snapshot.index > self.machine.applied_index()
            {
                self.machine = self
                    .machine
                    .restore(&snapshot.data, snapshot.index)
                    .unwrap_or_else(|e| panic!("node {}: {e}", self.raft.id()));
                self.snapshots_installed += 1;
            }
            for entry in &ready.committed {
                let result = self.machine.apply(entry);
                if let Some((term, client, seq)) = self.waiting.remove(&entry.index)
                    && term == entry.term
                {
                    ctx.send(
                        client,
                        Msg::Reply {
                            seq,
                            result: Ok(result),
                        },
                    );
                }
            }
            match ready.snapshot_due {
                Some(index) if index == self.machine.applied_index() => {
                    self.raft.compact(index, self.machine.snapshot());
                    ready = self.raft.take_ready();
                }
                _ => break,
            }
        }
        if self.raft.role() != Role::Leader {
            self.waiting.clear(); // the clients time out and retry
        }
    }
}

impl SimClient {
    fn tick(&mut self, ctx: &mut Ctx<Msg>) {
        let now = ctx.now();
        if self.pending.is_none() && self.ops_left > 0 && ctx.random(0..3) == 0 {
            self.ops_left -= 1;
            self.seq += 1;
            let key = KEYS[ctx.random(0..KEYS.len() as u64) as usize].to_string();
            let request = Some(RequestId {
                client: format!("sim{}", self.id),
                seq: self.seq,
            });
            let (op, command) = match ctx.random(0..6) {
                0 | 1 => (KvOp::Get { key: key.clone() }, Command::Get { key }),
                2 => (
                    KvOp::Delete { key: key.clone() },
                    Command::Delete { key, request },
                ),
                kind => {
                    let value = format!("c{}-{}", self.id, self.seq);
                    // Half the writes are conditional, on a version this client saw
                    // (or made up: a small one, which may or may not match).
                    let if_version = (kind == 5).then(|| {
                        self.seen
                            .get(&key)
                            .copied()
                            .unwrap_or_else(|| ctx.random(0..4))
                    });
                    (
                        KvOp::Put {
                            key: key.clone(),
                            value: value.clone(),
                            if_version,
                        },
                        Command::Put {
                            key,
                            value,
                            if_version,
                            request,
                        },
                    )
                }
            };
            self.pending = Some(Pending {
                op,
                command,
                seq: self.seq,
                invoke: from_virtual_ms(now),
                resend_at: now,
            });
        }
        if let Some(pending) = &mut self.pending
            && now >= pending.resend_at
        {
            pending.resend_at = now + CLIENT_TIMEOUT_MS;
            ctx.send(
                self.target,
                Msg::Request {
                    seq: pending.seq,
                    command: pending.command.clone(),
                },
            );
            // If this one does not answer, the next attempt goes elsewhere.
            self.target = (self.target + 1) % SERVERS;
        }
    }

    fn on_reply(&mut self, from: NodeId, seq: u64, result: Result<Applied, Option<u64>>, now: u64) {
        let Some(pending) = &mut self.pending else {
            return;
        };
        if pending.seq != seq {
            return; // an answer to an earlier attempt of an earlier request
        }
        match result {
            Err(Some(leader)) => {
                self.target = leader as NodeId;
                pending.resend_at = now; // at the next tick
            }
            Err(None) => {
                self.target = (from + 1) % SERVERS;
                pending.resend_at = now + 20;
            }
            Ok(applied) => {
                let (output, version) = match applied {
                    Applied::Value(v) => {
                        let version = v.as_ref().map_or(0, |(_, version)| *version);
                        (KvOutput::Value(v), version)
                    }
                    Applied::Written { version } => (KvOutput::Written { version }, version),
                    Applied::Deleted { version } => (KvOutput::Deleted { version }, 0),
                    Applied::NotFound => (KvOutput::NotFound, 0),
                    Applied::Mismatch { current } => (KvOutput::Mismatch { current }, current),
                    other => panic!("client {}: unexpected result {other:?}", self.id),
                };
                self.seen.insert(pending.op.key().to_string(), version);
                self.target = from;
                self.history.push(Operation {
                    client: self.id,
                    op: pending.op.clone(),
                    invoke: pending.invoke,
                    ret: Some(from_virtual_ms(now)),
                    output: Some(output),
                    failed: false,
                });
                self.pending = None;
            }
        }
    }

    /// The history, with the call still waiting recorded as unknown.
    fn finished_history(&self) -> Vec<Operation> {
        let mut history = self.history.clone();
        if let Some(pending) = &self.pending {
            history.push(Operation {
                client: self.id,
                op: pending.op.clone(),
                invoke: pending.invoke,
                ret: None,
                output: None,
                failed: false,
            });
        }
        history
    }
}

impl SimNode for Peer {
    type Message = Msg;
    type Durable = Durable;

    fn start(id: NodeId, _: Vec<NodeId>, durable: Option<Durable>, ctx: &mut Ctx<Msg>) -> Self {
        if id >= SERVERS {
            return Peer::Client(SimClient {
                id,
                ops_left: 40,
                seq: 0,
                target: ctx.random(0..SERVERS as u64) as NodeId,
                pending: None,
                seen: std::collections::HashMap::new(),
                history: Vec::new(),
            });
        }
        let persisted = match durable {
            Some(Durable::Server(persisted)) => persisted,
            _ => Persisted::default(),
        };
        let machine = match &persisted.snapshot {
            Some(s) => Machine::new()
                .restore(&s.data, s.index)
                .unwrap_or_else(|e| panic!("node {id}'s own snapshot does not restore: {e}")),
            None => Machine::new(),
        };
        let peers = (0..SERVERS as u64).collect();
        let seed = ctx.random(0..u64::MAX);
        let timing = (Timing::FAST, COMPACTION);
        Peer::Server(Server {
            raft: Raft::new(id as u64, peers, timing, persisted, ctx.now(), seed),
            machine,
            waiting: BTreeMap::new(),
            snapshots_installed: 0,
        })
    }

    fn on_message(&mut self, from: NodeId, message: Msg, ctx: &mut Ctx<Msg>) {
        let now = ctx.now();
        match (self, message) {
            (Peer::Server(server), Msg::Raft(message)) => {
                server.raft.step(now, from as u64, message);
                server.flush(ctx);
            }
            (Peer::Server(server), Msg::Request { seq, command }) => {
                match server.raft.propose(command) {
                    Ok((index, term)) => {
                        server.waiting.insert(index, (term, from, seq));
                    }
                    Err(not_leader) => ctx.send(
                        from,
                        Msg::Reply {
                            seq,
                            result: Err(not_leader.leader),
                        },
                    ),
                }
                server.flush(ctx);
            }
            (Peer::Client(client), Msg::Reply { seq, result }) => {
                client.on_reply(from, seq, result, now);
            }
            (peer, message) => panic!("{peer:?} cannot handle {message:?}"),
        }
    }

    fn on_tick(&mut self, ctx: &mut Ctx<Msg>) {
        match self {
            Peer::Server(server) => {
                server.raft.tick(ctx.now());
                server.flush(ctx);
            }
            Peer::Client(client) => client.tick(ctx),
        }
    }

    fn durable(&self) -> Durable {
        match self {
            Peer::Server(server) => {
                let snapshot = server.raft.snapshot();
                Durable::Server(Persisted {
                    hard_state: server.raft.hard_state(),
                    snapshot: (snapshot.index > 0).then(|| snapshot.clone()),
                    log: server.raft.log().to_vec(),
                })
            }
            Peer::Client(_) => Durable::Client,
        }
    }
}

/// A seed's faults: every 150 ms, one of crash, restart, partition or heal.
fn inject_fault(sim: &mut Simulation<Peer>, rng: &mut fastrand::Rng) {
    let running: Vec<NodeId> = (0..SERVERS).filter(|&i| sim.node(i).is_some()).collect();
    match rng.u8(0..5) {
        0 if running.len() > 2 => sim.crash(running[rng.usize(0..running.len())]),
        1 => {
            for id in 0..SERVERS {
                sim.restart(id);
            }
        }
        2 | 3 => {
            let mut servers: Vec<NodeId> = (0..SERVERS).collect();
            rng.shuffle(&mut servers);
            let split = rng.usize(1..SERVERS);
            let (mut a, mut b) = (servers[..split].to_vec(), servers[split..].to_vec());
            for client in SERVERS..SERVERS + CLIENTS {
                if rng.bool() {
                    a.push(client)
                } else {
                    b.push(client)
                }
            }
            sim.partition(&[&a, &b]);
        }
        _ => sim.heal(),
    }
}

fn config(loss: f64) -> SimConfig {
    SimConfig {
        nodes: SERVERS + CLIENTS,
        tick_ms: 10,
        delay_ms: 1..25,
        loss,
        duplicate: 0.05,
        record_trace: false,
    }
}

/// Runs one seed: faults for `chaos_ms`, then healed for `calm_ms`.
fn run(seed: u64, chaos_ms: u64, calm_ms: u64) -> Result<(Simulation<Peer>, Observed), String> {
    schedule(seed, chaos_ms, calm_ms).map_err(|e| format!("{e}{}", chapter6::stack::note()))
}

/// [`run`]'s schedule.
fn schedule(
    seed: u64,
    chaos_ms: u64,
    calm_ms: u64,
) -> Result<(Simulation<Peer>, Observed), String> {
    let mut sim: Simulation<Peer> = Simulation::new(config(0.05), seed);
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5EED);
    let mut seen = Observed::default();
    let mut t = 0;
    while t < chaos_ms + calm_ms {
        t += 10;
        sim.run_until(t, |sim| election_safety(sim, &mut seen))?;
        log_safety(&sim, &mut seen).map_err(|e| format!("at t={t}ms: {e}"))?;
        if t < chaos_ms && t.is_multiple_of(150) {
            inject_fault(&mut sim, &mut rng);
        }
        if t == chaos_ms {
            sim.heal();
            for id in 0..SERVERS {
                sim.restart(id);
            }
        }
    }
    Ok((sim, seen))
}

#[test]
fn chapter_at_most_one_leader_per_term_over_2000_schedules_with_crashes_partitions_and_loss() {
    let runs: Vec<(u64, u64)> = check_seeds(0..2000, |seed| {
        let (_, seen) = run(seed, 1500, 500)?;
        Ok((seen.elections, seen.snapshots))
    });
    // Not a vacuous pass: the faults did force many elections, and logs were compacted.
    let elections: u64 = runs.iter().map(|r| r.0).sum();
    let snapshots: u64 = runs.iter().map(|r| r.1).sum();
    assert!(
        elections > 2 * runs.len() as u64,
        "only {elections} leaders were elected over {} schedules",
        runs.len()
    );
    assert!(
        snapshots > runs.len() as u64,
        "only {snapshots} snapshots over {} schedules: compaction barely ran",
        runs.len()
    );
}

#[test]
fn chapter_client_histories_are_linearizable_over_1000_schedules() {
    let runs: Vec<(usize, u64)> = check_seeds(1_000_000..1_001_000, |seed| {
        let (sim, _) = run(seed, 2000, 2500)?;
        let mut history = Vec::new();
        let (mut completed, mut installed) = (0, 0);
        for peer in sim.nodes().iter().flatten() {
            match peer {
                Peer::Client(client) => {
                    completed += client.history.len();
                    history.extend(client.finished_history());
                }
                Peer::Server(server) => installed += server.snapshots_installed,
            }
        }
        match check(&history, Duration::from_secs(10)) {
            Verdict::Linearizable => Ok((completed, installed)),
            verdict => {
                let lines: Vec<String> = history.iter().map(|o| format!("  {o}")).collect();
                Err(format!(
                    "{verdict}\nhistory (virtual time):\n{}",
                    lines.join("\n")
                ))
            }
        }
    });
    // Not a vacuous pass: most of the clients' 120 calls a schedule completed, and
    // followers did catch up through snapshots sent in pieces.
    let total: usize = runs.iter().map(|r| r.0).sum();
    let installed: u64 = runs.iter().map(|r| r.1).sum();
    assert!(
        total > 60 * runs.len(),
        "only {total} client calls completed over {} schedules: the clients barely ran",
        runs.len()
    );
    assert!(
        installed > runs.len() as u64 / 4,
        "only {installed} snapshots were installed over {} schedules (by running servers)",
        runs.len()
    );
}
