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
use chapter8::{
    Assignment, AttemptId, Coordinator, Input, Job, Kind, Outcome, Pair, Report, Spec, TaskId,
    run_map, run_reduce, split,
};

use crate::replicas::{FromWorker, Out, REPLICAS, Replicas};

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

enum ToWorker {
    Assigned(Assignment),
    Verdict(AttemptId),

    Fetch {
        reply_to: String,
        map: usize,
        reduce: usize,
    },
    Fetched {
        map: usize,
        pairs: Option<Vec<Pair>>,
    },
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

enum State {
    Idle {
        ask_at: u64,
    },
    Mapping {
        task: usize,
        attempt: AttemptId,
        done_at: u64,
    },
    Fetching {
        task: usize,
        attempt: AttemptId,
        sources: Vec<String>,
        got: BTreeMap<usize, Vec<Pair>>,
        /// A map whose worker answered that it does not have the output.
        gone: Option<usize>,
        tries: u32,
        send_at: u64,
    },
    Reducing {
        task: usize,
        attempt: AttemptId,
        done_at: u64,
        input: Vec<Vec<Pair>>,
    },
    Reporting {
        report: Report,
        send_at: u64,
    },
    Exited,
}

impl State {
    fn describe(&self) -> String {
        match self {
            State::Idle { .. } => "idle, asking for work".into(),
            State::Mapping { task, attempt, .. } => format!("running map {task} #{attempt}"),
            State::Fetching { task, attempt, .. } => {
                format!("fetching map outputs for reduce {task} #{attempt}")
            }
            State::Reducing { task, attempt, .. } => format!("running reduce {task} #{attempt}"),
            State::Reporting { report, .. } => format!(
                "reporting {} #{}: {:?}",
                report.task, report.attempt, report.outcome
            ),
            State::Exited => "exited".into(),
        }
    }
}

struct WorkerSim {
    node: usize,
    incarnation: u32,
    alive: bool,
    state: State,
    /// Finished maps' outputs, on this worker's disk (gone with a crash).
    outputs: BTreeMap<usize, Vec<Vec<Pair>>>,
    heartbeat_at: u64,
}

impl WorkerSim {
    fn id(&self) -> String {
        format!("w{}.{}", self.node, self.incarnation)
    }
}

fn node_of(worker: &str) -> Option<(usize, u32)> {
    let (node, incarnation) = worker.strip_prefix('w')?.split_once('.')?;
    Some((node.parse().ok()?, incarnation.parse().ok()?))
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

    fn at_worker(&mut self, node: usize, message: ToWorker) {
        let now = self.now;
        let slow = if self.setup.faults.straggler == Some(node) {
            10
        } else {
            1
        };
        let map_cost = self.setup.map_cost * slow;
        let w = &mut self.workers[node];
        match message {
            ToWorker::Assigned(assignment) => {
                if !matches!(w.state, State::Idle { .. }) {
                    return; // late or twice: it is busy, and will ask again when idle
                }
                w.heartbeat_at = now + HEARTBEAT;
                w.state = match assignment {
                    Assignment::Map { task, attempt } => State::Mapping {
                        task,
                        attempt,
                        done_at: now + map_cost,
                    },
                    Assignment::Reduce {
                        task,
                        attempt,
                        sources,
                    } => State::Fetching {
                        task,
                        attempt,
                        sources,
                        got: BTreeMap::new(),
                        gone: None,
                        tries: 0,
                        send_at: now,
                    },
                    Assignment::Wait => State::Idle {
                        ask_at: now + ASK_AGAIN,
                    },
                    Assignment::Exit => {
                        self.exited += 1;
                        State::Exited
                    }
                };
            }
            ToWorker::Verdict(attempt) => {
                if let State::Reporting { report, .. } = &w.state
                    && report.attempt == attempt
                {
                    w.state = State::Idle { ask_at: now };
                }
            }
            ToWorker::Fetch {
                reply_to,
                map,
                reduce,
            } => {
                let pairs = w.outputs.get(&map).and_then(|b| b.get(reduce).cloned());
                self.send_worker(&reply_to, || ToWorker::Fetched {
                    map,
                    pairs: pairs.clone(),
                });
            }
            ToWorker::Fetched { map, pairs } => {
                if let State::Fetching { got, gone, .. } = &mut w.state {
                    match pairs {
                        Some(pairs) => {
                            got.insert(map, pairs);
                        }
                        // It answered, without the output: it is not coming.
                        None => *gone = Some(map),
                    }
                }
            }
        }
    }

    fn worker_tick(&mut self, node: usize) {
        let now = self.now;
        let slow = if self.setup.faults.straggler == Some(node) {
            10
        } else {
            1
        };
        let id = self.workers[node].id();
        if !matches!(self.workers[node].state, State::Idle { .. } | State::Exited)
            && now >= self.workers[node].heartbeat_at
        {
            self.workers[node].heartbeat_at = now + HEARTBEAT;
            let id = id.clone();
            self.send_coordinator(&id, FromWorker::Heartbeat);
        }
        let state = std::mem::replace(&mut self.workers[node].state, State::Exited);
        let next = match state {
            State::Idle { ask_at } if now >= ask_at => {
                let id = id.clone();
                self.send_coordinator(&id, FromWorker::Request);
                State::Idle {
                    ask_at: now + ASK_AGAIN,
                }
            }
            State::Mapping {
                task,
                attempt,
                done_at,
            } if now >= done_at => {
                let buckets = run_map(
                    self.setup.job.as_ref(),
                    &self.setup.inputs,
                    self.splits[task],
                    self.setup.reduces,
                );
                self.workers[node].outputs.insert(task, buckets);
                if let Some((n, count, down)) = self.setup.faults.crash_after_maps
                    && n == node
                    && self.workers[node].outputs.len() == count
                {
                    self.at(now + 1, Happening::Crash(node, down));
                }
                self.report(TaskId::map(task), attempt, Outcome::Finished)
            }
            State::Fetching {
                task,
                attempt,
                sources,
                got,
                gone,
                tries,
                send_at,
            } => {
                let missing: Vec<usize> = (0..sources.len())
                    .filter(|m| !got.contains_key(m))
                    .collect();
                // A map not done when the reduce was assigned has no source at all.
                let gone =
                    gone.or_else(|| missing.iter().copied().find(|&m| sources[m].is_empty()));
                if missing.is_empty() {
                    let input: Vec<Vec<Pair>> = got.into_values().collect();
                    State::Reducing {
                        task,
                        attempt,
                        done_at: now + self.setup.reduce_cost * slow,
                        input,
                    }
                } else if gone.is_some() || (tries >= FETCH_TRIES && now >= send_at) {
                    let map = gone.unwrap_or(missing[0]);
                    let at = sources[map].clone();
                    self.report(
                        TaskId::reduce(task),
                        attempt,
                        Outcome::OutputMissing { map, at },
                    )
                } else if now >= send_at {
                    for &map in &missing {
                        let reply_to = id.clone();
                        let source = sources[map].clone();
                        self.send_worker(&source, || ToWorker::Fetch {
                            reply_to: reply_to.clone(),
                            map,
                            reduce: task,
                        });
                    }
                    State::Fetching {
                        task,
                        attempt,
                        sources,
                        got,
                        gone,
                        tries: tries + 1,
                        send_at: now + FETCH_AGAIN,
                    }
                } else {
                    State::Fetching {
                        task,
                        attempt,
                        sources,
                        got,
                        gone,
                        tries,
                        send_at,
                    }
                }
            }
            State::Reducing {
                task,
                attempt,
                done_at,
                input,
            } if now >= done_at => {
                // Written whole under the attempt's name before the report leaves.
                let output = run_reduce(self.setup.job.as_ref(), &input);
                self.store.insert((task, attempt), output);
                self.report(TaskId::reduce(task), attempt, Outcome::Finished)
            }
            State::Reporting { report, send_at } if now >= send_at => {
                self.send_coordinator(&id, FromWorker::Report(report.clone()));
                State::Reporting {
                    report,
                    send_at: now + ASK_AGAIN,
                }
            }
            other => other,
        };
        self.workers[node].state = next;
    }

    fn report(&mut self, task: TaskId, attempt: AttemptId, outcome: Outcome) -> State {
        State::Reporting {
            report: Report {
                task,
                attempt,
                outcome,
            },
            send_at: self.now,
        }
    }
}

/// The kinds of task, for messages.
pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Map => "map",
        Kind::Reduce => "reduce",
    }
}
