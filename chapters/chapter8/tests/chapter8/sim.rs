//! A deterministic simulator of a whole job: the coordinator's machine, workers that
//! run real map and reduce tasks, a store for the output files, and a network that
//! delays, loses and duplicates messages; workers crash and restart, one may be ten
//! times slower than the rest, and the coordinator's leader fails over. Time is virtual
//! and every choice comes from one seed, so a failing run replays exactly.
//!
//! What the shell around the machine does here is what a real one does: a worker writes
//! a reduce's output under its attempt's name (whole, or not at all) before it reports,
//! and the job's output file `r` is the one the coordinator committed for reduce `r`.
//! The coordinator is three replicas of a Raft log ([`crate::replicas`]); a failover
//! crashes its leader, which restarts later from what it persisted.

#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use chapter8::machine::Applied;
use chapter8::protocol::Message;
use chapter8::{AttemptId, Coordinator, Input, Job, Spec, TaskId, split};

use crate::replicas::{FromWorker, Out, REPLICAS, Replicas};

#[path = "sim_workers.rs"]
mod workers;
use workers::{State, ToWorker, WorkerSim, node_of};

/// A worker is lost after this much silence; it says it is alive this often.
pub const WORKER_TIMEOUT: u64 = 500;
const HEARTBEAT: u64 = 100;
const TICK: u64 = 10;
const ASK_AGAIN: u64 = 50;
const FETCH_TRIES: u32 = 5;
const FETCH_AGAIN: u64 = 40;
/// A run that has not finished after this much virtual time never will.
const LIMIT: u64 = 600_000;

/// The faults of one run.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub delay: (u64, u64),
    pub loss: f64,
    pub duplicate: f64,
    /// Worker crashes: (at, node, down for).
    pub crashes: Vec<(u64, usize, u64)>,
    /// (node, n, down for): that worker crashes right after it finishes its n-th map.
    pub crash_after_maps: Option<(usize, usize, u64)>,
    /// The node that runs ten times slower than the others.
    pub straggler: Option<usize>,
    /// Coordinator failovers: (at, the crashed leader restarts after).
    pub failovers: Vec<(u64, u64)>,
    /// Two replicas crash at once (the leader and one more: no majority, no leader), and
    /// both restart `down` later: (at, down).
    pub outage: Option<(u64, u64)>,
    /// The leader crashes right after it applied the n-th worker command: (n, restarts
    /// after).
    pub failover_after_command: Option<(usize, u64)>,
}

/// One job to run.
pub struct Setup {
    pub job: Box<dyn Job>,
    pub inputs: Vec<Input>,
    pub split_bytes: usize,
    pub reduces: usize,
    pub workers: usize,
    pub backups: bool,
    /// Virtual milliseconds a map task takes (times ten on the straggler).
    pub map_cost: u64,
    pub reduce_cost: u64,
    pub faults: Faults,
}

/// What a run left: the coordinator's machine and the job's output files.
pub struct Ran {
    pub coordinator: Coordinator,
    /// Output file `r`: what the attempt committed for reduce `r` wrote.
    pub outputs: Vec<Option<String>>,
    /// Virtual time at which the coordinator committed the last reduce.
    pub finished_at: Option<u64>,
    /// Every worker process that exited because it was told the job was done.
    pub exited: usize,
    /// Every worker was alive and had exited when the run ended.
    pub all_exited: bool,
    /// What each worker that had not exited was doing at the end.
    pub not_exited: Vec<String>,
    /// Virtual time at the end of the run.
    pub ended_at: u64,
    pub commands: usize,
}

enum Happening {
    ToReplica(usize, String, FromWorker),
    Raft(usize, usize, Message),
    ReplicaTick(usize),
    ReplicaBack(usize),
    Worker(String, ToWorker),
    WorkerTick(usize, u32),
    Crash(usize, u64),
    Restart(usize),
    LeaderLost(u64),
    Outage(u64),
}

struct World<'a> {
    setup: &'a Setup,
    rng: fastrand::Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    happenings: BTreeMap<u64, Happening>,
    replicas: Replicas,
    failed_over_after_command: bool,
    workers: Vec<WorkerSim>,
    splits: Vec<chapter8::Split>,
    /// The job's store: output files by (reduce, attempt), each written whole.
    store: BTreeMap<(usize, AttemptId), String>,
    finished_at: Option<u64>,
    exited: usize,
}

/// Runs `setup`'s job to its end (or to the time limit).
pub fn run(setup: &Setup, seed: u64) -> Ran {
    let splits = split(&setup.inputs, setup.split_bytes);
    let spec = Spec {
        maps: splits.len(),
        reduces: setup.reduces,
        worker_timeout: WORKER_TIMEOUT,
        backups: setup.backups,
    };
    let mut world = World {
        setup,
        rng: fastrand::Rng::with_seed(seed),
        now: 0,
        seq: 0,
        queue: BinaryHeap::new(),
        happenings: BTreeMap::new(),
        replicas: Replicas::new(spec, 0, &mut fastrand::Rng::with_seed(seed ^ 0x5eed)),
        failed_over_after_command: false,
        workers: (0..setup.workers)
            .map(|node| WorkerSim {
                node,
                incarnation: 0,
                alive: true,
                state: State::Idle { ask_at: 0 },
                outputs: BTreeMap::new(),
                heartbeat_at: 0,
            })
            .collect(),
        splits,
        store: BTreeMap::new(),
        finished_at: None,
        exited: 0,
    };
    for node in 0..setup.workers {
        world.at(0, Happening::WorkerTick(node, 0));
    }
    for i in 0..REPLICAS {
        world.at(0, Happening::ReplicaTick(i));
    }
    for &(at, node, down) in &setup.faults.crashes {
        world.at(at, Happening::Crash(node, down));
    }
    for &(at, down) in &setup.faults.failovers {
        world.at(at, Happening::LeaderLost(down));
    }
    if let Some((at, down)) = setup.faults.outage {
        world.at(at, Happening::Outage(down));
    }
    while let Some(Reverse((at, seq))) = world.queue.pop() {
        if at > LIMIT || world.all_exited() {
            break;
        }
        world.now = at;
        let happening = world.happenings.remove(&seq).expect("queued");
        world.happen(happening);
    }
    let coordinator = world.replicas.furthest().coordinator().clone();
    let outputs = (0..setup.reduces)
        .map(|r| {
            let done = coordinator.task(TaskId::reduce(r))?.done.as_ref()?;
            world.store.get(&(r, done.attempt)).cloned()
        })
        .collect();
    Ran {
        all_exited: world.all_exited(),
        not_exited: world
            .workers
            .iter()
            .filter(|w| !w.alive || !matches!(w.state, State::Exited))
            .map(|w| {
                format!(
                    "{}: {}",
                    w.id(),
                    if w.alive {
                        w.state.describe()
                    } else {
                        "crashed".into()
                    }
                )
            })
            .collect(),
        ended_at: world.now,
        coordinator,
        outputs,
        finished_at: world.finished_at,
        exited: world.exited,
        commands: world.replicas.applied_by_leaders,
    }
}

impl World<'_> {
    fn at(&mut self, at: u64, happening: Happening) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq)));
        self.happenings.insert(self.seq, happening);
    }

    fn all_exited(&self) -> bool {
        self.workers
            .iter()
            .all(|w| w.alive && matches!(w.state, State::Exited))
    }

    /// Sends over the network: delayed, maybe lost, maybe twice.
    fn send(&mut self, make: impl Fn() -> Happening) {
        let faults = &self.setup.faults;
        if self.rng.f64() < faults.loss {
            return;
        }
        let copies = if self.rng.f64() < faults.duplicate {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = self.rng.u64(faults.delay.0..=faults.delay.1);
            self.at(self.now + delay, make());
        }
    }

    fn send_worker(&mut self, worker: &str, message: impl Fn() -> ToWorker) {
        let worker = worker.to_string();
        self.send(|| Happening::Worker(worker.clone(), message()));
    }

    fn happen(&mut self, happening: Happening) {
        match happening {
            Happening::ToReplica(i, worker, message) => {
                let out = self.replicas.on_worker(i, &worker, message, self.now);
                self.route(out);
            }
            Happening::Raft(from, to, message) => {
                let out = self.replicas.on_raft(to, from, message, self.now);
                self.route(out);
            }
            Happening::ReplicaTick(i) => {
                let out = self.replicas.tick(i, self.now);
                self.route(out);
                self.at(self.now + TICK, Happening::ReplicaTick(i));
            }
            Happening::ReplicaBack(i) => {
                let seed = self.rng.u64(..);
                self.replicas.restart(i, self.now, seed);
            }
            Happening::Worker(id, message) => {
                if let Some((node, incarnation)) = node_of(&id)
                    && let Some(w) = self.workers.get(node)
                    && w.alive
                    && w.incarnation == incarnation
                {
                    self.at_worker(node, message);
                }
            }
            Happening::WorkerTick(node, incarnation) => {
                let w = &self.workers[node];
                if w.alive && w.incarnation == incarnation && !matches!(w.state, State::Exited) {
                    self.worker_tick(node);
                    self.at(self.now + TICK, Happening::WorkerTick(node, incarnation));
                }
            }
            Happening::Crash(node, down) => {
                let w = &mut self.workers[node];
                if w.alive && !matches!(w.state, State::Exited) {
                    w.alive = false;
                    w.outputs.clear();
                    self.at(self.now + down, Happening::Restart(node));
                }
            }
            Happening::Restart(node) => {
                let w = &mut self.workers[node];
                w.alive = true;
                w.incarnation += 1;
                w.state = State::Idle { ask_at: self.now };
                let incarnation = w.incarnation;
                self.at(self.now, Happening::WorkerTick(node, incarnation));
            }
            Happening::LeaderLost(down) => self.fail_over(down),
            Happening::Outage(down) => {
                let leader = self.replicas.leader().unwrap_or(0);
                for i in [leader, (leader + 1) % REPLICAS] {
                    self.replicas.crash(i);
                    self.at(self.now + down, Happening::ReplicaBack(i));
                }
            }
        }
    }

    /// The coordinator's leader crashes; it restarts `down` later.
    fn fail_over(&mut self, down: u64) {
        if let Some(leader) = self.replicas.leader() {
            self.replicas.crash(leader);
            self.at(self.now + down, Happening::ReplicaBack(leader));
        }
    }

    /// Sends what the replicas produced: Raft messages to each other, answers to workers.
    fn route(&mut self, out: Vec<Out>) {
        for out in out {
            match out {
                Out::Raft { from, to, message } => {
                    self.send(|| Happening::Raft(from, to, message.clone()));
                }
                Out::Reply {
                    worker,
                    attempt,
                    applied,
                } => match applied {
                    Applied::Assignment(assignment) => {
                        self.send_worker(&worker, || ToWorker::Assigned(assignment.clone()));
                    }
                    Applied::Verdict(_) => self.send_worker(&worker, || ToWorker::Verdict(attempt)),
                    Applied::Nothing | Applied::Job(_) => {}
                },
            }
        }
        if self.finished_at.is_none() && self.replicas.job_done() {
            self.finished_at = Some(self.now);
        }
        if let Some((n, down)) = self.setup.faults.failover_after_command
            && !self.failed_over_after_command
            && self.replicas.applied_by_leaders >= n
        {
            self.failed_over_after_command = true;
            self.fail_over(down);
        }
    }

    /// Sends `message` from `worker` to every replica of the coordinator.
    fn send_coordinator(&mut self, worker: &str, message: FromWorker) {
        for i in 0..REPLICAS {
            let (worker, message) = (worker.to_string(), message.clone());
            self.send(|| Happening::ToReplica(i, worker.clone(), message.clone()));
        }
    }
}
