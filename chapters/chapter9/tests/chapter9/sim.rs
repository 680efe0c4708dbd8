//! A deterministic simulator of the whole system: two groups of three replicas holding
//! four partitions of an input topic and four of an output topic, two producers, and
//! three consumer groups of two members each (at most once, at least once, and an
//! exactly-once pipeline from the input topic to the output). The network delays, loses
//! and duplicates messages; replicas crash and restart from what they persisted, group
//! leaders fail over, replicas are cut off from everyone while alive, members crash and
//! come back as new members, and members are cut off while they go on working (zombies
//! of an old generation once their session runs out). Time is virtual and
//! every choice comes from one seed, so a failing run replays exactly.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use chapter9::command::Command;
use chapter9::machine::{Applied, Machine};
use chapter9::protocol::Message;
use chapter9::{PartitionId, Spec, pipeline_producer};
use harness::queue::{QueueHistory, Sent, Told};

use crate::groups::{Cluster, Out, REPLICAS, ReplicaId};
use chapter9::clients::{
    Client, GROUPS, INPUT, Member, OUTPUT, PARTITIONS, Producer, Seen, Semantics,
};

/// A member silent for longer than this leaves its group (members heartbeat every
/// [`chapter9::clients::HEARTBEAT`]).
pub const SESSION: u64 = 300;
/// A call not answered after this long is sent again.
const RETRY: u64 = 60;
const TICK: u64 = 10;
/// A run that has not finished after this much virtual time never will.
const LIMIT: u64 = 120_000;

/// The faults of one run.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub delay: (u64, u64),
    pub loss: f64,
    pub duplicate: f64,
    /// Replica crashes: (at, replica, down for).
    pub crashes: Vec<(u64, ReplicaId, u64)>,
    /// A group's leader crashes: (at, group, down for).
    pub failovers: Vec<(u64, usize, u64)>,
    /// Member crashes: (at, member, down for); members are numbered 0..6.
    pub member_crashes: Vec<(u64, usize, u64)>,
    /// A replica cut off from everyone (its group's others and every client), alive:
    /// (from, until, replica).
    pub cut_replicas: Vec<(u64, u64, ReplicaId)>,
    /// A member cut off from the cluster, alive and working from what it last heard (a
    /// zombie, once its session runs out): (from, until, member).
    pub cut_members: Vec<(u64, u64, usize)>,
}

/// One run's shape.
pub struct Setup {
    /// Messages each of the two producers sends.
    pub messages: usize,
    pub faults: Faults,
}

/// What a run left.
pub struct Ran {
    pub history: QueueHistory,
    /// The output topic's final logs, for the pipeline's check.
    pub output: QueueHistory,
    pub processed: BTreeMap<&'static str, Vec<(String, String)>>,
    pub surprises: Vec<String>,
    /// Every answer a client took, in order.
    pub timeline: Vec<String>,
    /// Every consumer group reached the end of every partition.
    pub finished: bool,
    pub ended_at: u64,
    /// Where each consumer group stood at the end, for a failure's message.
    pub progress: String,
}

enum Happening {
    Call(ReplicaId, usize, u64, Command),
    Raft(usize, usize, usize, Message),
    Reply(usize, u64, Applied),
    ReplicaTick(ReplicaId),
    ClientTick(usize),
    Crash(ReplicaId, u64),
    Restart(ReplicaId),
    Failover(usize, u64),
    MemberCrash(usize, u64),
    MemberBack(usize),
}

/// A happening in the queue, first by time, then by when it was scheduled.
struct Scheduled(Reverse<(u64, u64)>, Box<Happening>);

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

struct Pending {
    id: u64,
    group: usize,
    command: Command,
    invoked: u64,
    sent_at: u64,
}

struct World<'a> {
    setup: &'a Setup,
    rng: fastrand::Rng,
    now: u64,
    seq: u64,
    /// What happens next: (at, order of scheduling), and what.
    queue: BinaryHeap<Scheduled>,
    cluster: Cluster,
    clients: Vec<Client>,
    pending: Vec<Option<Pending>>,
    calls: u64,
    seen: Seen,
}

/// The cluster the simulator runs: the workload's, with a short session.
pub fn spec() -> Spec {
    chapter9::clients::spec(SESSION)
}

/// Runs `setup` until every consumer group has consumed everything (or the limit).
pub fn run(setup: &Setup, seed: u64) -> Ran {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut clients = Vec::new();
    for semantics in [
        Semantics::AtMostOnce,
        Semantics::AtLeastOnce,
        Semantics::ExactlyOnce,
    ] {
        for m in 0..2 {
            let name = format!("{}-{m}", semantics.group());
            clients.push(Client::Member(Member::new(semantics, &name)));
        }
    }
    for p in 0..2 {
        let messages = (0..setup.messages)
            .map(|i| (format!("k{}", rng.u32(0..12)), format!("p{p}-{i}")))
            .collect();
        clients.push(Client::Producer(Producer::new(
            &format!("producer-{p}"),
            messages,
        )));
    }
    let mut world = World {
        setup,
        cluster: Cluster::new(spec(), 0, &mut fastrand::Rng::with_seed(seed ^ 0x5eed)),
        rng,
        now: 0,
        seq: 0,
        queue: BinaryHeap::new(),
        pending: clients.iter().map(|_| None).collect(),
        clients,
        calls: 0,
        seen: Seen::default(),
    };
    for g in 0..GROUPS as usize {
        for i in 0..REPLICAS {
            world.at(0, Happening::ReplicaTick((g, i)));
        }
    }
    for c in 0..world.clients.len() {
        world.at(0, Happening::ClientTick(c));
    }
    let faults = &setup.faults;
    for &(at, replica, down) in &faults.crashes {
        world.at(at, Happening::Crash(replica, down));
    }
    for &(at, group, down) in &faults.failovers {
        world.at(at, Happening::Failover(group, down));
    }
    for &(at, member, down) in &faults.member_crashes {
        world.at(at, Happening::MemberCrash(member, down));
    }
    let mut finished = false;
    let mut check_at = 0;
    while let Some(Scheduled(Reverse((at, _)), happening)) = world.queue.pop() {
        if at > LIMIT {
            break;
        }
        world.now = at;
        world.happen(*happening);
        if world.now >= check_at {
            check_at = world.now + 100;
            if world.all_consumed() {
                finished = true;
                break;
            }
        }
    }
    world.finish(finished)
}

impl World<'_> {
    fn at(&mut self, at: u64, happening: Happening) {
        self.seq += 1;
        self.queue
            .push(Scheduled(Reverse((at, self.seq)), Box::new(happening)));
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

    /// Whether replica `r` is cut off now.
    fn replica_cut(&self, r: ReplicaId) -> bool {
        let now = self.now;
        self.setup
            .faults
            .cut_replicas
            .iter()
            .any(|&(from, until, cut)| cut == r && (from..until).contains(&now))
    }

    /// Whether client `c` is cut off now.
    fn client_cut(&self, c: usize) -> bool {
        let now = self.now;
        self.setup
            .faults
            .cut_members
            .iter()
            .any(|&(from, until, cut)| cut == c && (from..until).contains(&now))
    }

    /// Sends what replica `source` put out; nothing crosses a cut.
    fn deliver(&mut self, source: ReplicaId, out: Vec<Out>) {
        for o in out {
            match o {
                Out::Raft {
                    group,
                    from,
                    to,
                    message,
                } => {
                    if !self.replica_cut((group, from)) && !self.replica_cut((group, to)) {
                        self.send(|| Happening::Raft(group, from, to, message.clone()));
                    }
                }
                Out::Reply {
                    client,
                    call,
                    applied,
                } => {
                    if !self.replica_cut(source) && !self.client_cut(client) {
                        self.send(|| Happening::Reply(client, call, applied.clone()));
                    }
                }
            }
        }
    }

    /// Sends client `c`'s pending call to every replica of its group.
    fn send_call(&mut self, c: usize) {
        let Some(p) = &self.pending[c] else { return };
        let (id, group, command) = (p.id, p.group, p.command.clone());
        if self.client_cut(c) {
            return;
        }
        for i in 0..REPLICAS {
            if !self.replica_cut((group, i)) {
                self.send(|| Happening::Call((group, i), c, id, command.clone()));
            }
        }
    }

    fn happen(&mut self, happening: Happening) {
        let now = self.now;
        match happening {
            Happening::Call(replica, client, call, command) => {
                let out = self.cluster.on_call(replica, client, call, command, now);
                self.deliver(replica, out);
            }
            Happening::Raft(group, from, to, message) => {
                let out = self.cluster.on_raft((group, to), from, message, now);
                self.deliver((group, to), out);
            }
            Happening::ReplicaTick(replica) => {
                let out = self.cluster.tick(replica, now);
                self.deliver(replica, out);
                self.at(now + TICK, Happening::ReplicaTick(replica));
            }
            Happening::Reply(c, call, applied) => {
                let Some(p) = self.pending[c].take_if(|p| p.id == call) else {
                    return; // an answer to a call already answered, or of a crashed life
                };
                let line = format!(
                    "{now:>6} ms  {:<18} {}  ->  {}",
                    self.clients[c].name(),
                    crate::history::short(&format!("{:?}", p.command)),
                    crate::history::short(&format!("{applied:?}"))
                );
                self.seen.timeline.push(line);
                let times = (p.invoked, now);
                self.clients[c].on_answer(&p.command, applied, times, &mut self.seen);
                self.next_call(c);
            }
            Happening::ClientTick(c) => {
                match &self.pending[c] {
                    Some(p) if now >= p.sent_at + RETRY => {
                        if let Some(p) = self.pending[c].as_mut() {
                            p.sent_at = now;
                        }
                        self.send_call(c);
                    }
                    Some(_) => {}
                    None => self.next_call(c),
                }
                self.at(now + TICK, Happening::ClientTick(c));
            }
            Happening::Crash(replica, down) => {
                if self.cluster.is_up(replica) {
                    self.cluster.crash(replica);
                    self.at(now + down, Happening::Restart(replica));
                }
            }
            Happening::Restart(replica) => {
                if !self.cluster.is_up(replica) {
                    let seed = self.rng.u64(..);
                    self.cluster.restart(replica, now, seed);
                }
            }
            Happening::Failover(group, down) => {
                if let Some(leader) = self.cluster.leader(group) {
                    self.cluster.crash((group, leader));
                    self.at(now + down, Happening::Restart((group, leader)));
                }
            }
            Happening::MemberCrash(m, down) => {
                if let Client::Member(member) = &mut self.clients[m]
                    && member.up
                {
                    member.crash();
                    self.pending[m] = None;
                    self.at(now + down, Happening::MemberBack(m));
                }
            }
            Happening::MemberBack(m) => {
                if let Client::Member(member) = &mut self.clients[m] {
                    member.restart();
                }
            }
        }
    }

    fn next_call(&mut self, c: usize) {
        if self.pending[c].is_some() {
            return;
        }
        if let Some((group, command)) = self.clients[c].next_call(self.now) {
            self.calls += 1;
            self.pending[c] = Some(Pending {
                id: self.calls,
                group,
                command,
                invoked: self.now,
                sent_at: self.now,
            });
            self.send_call(c);
        }
    }

    fn machines(&self) -> Vec<std::borrow::Cow<'_, Machine>> {
        (0..self.cluster.groups())
            .map(|g| self.cluster.furthest(g))
            .collect()
    }

    /// Every producer is done, and every consumer group has consumed every partition
    /// to its end, as far as the replicas up know.
    fn all_consumed(&self) -> bool {
        let producers_done = self.clients.iter().all(|c| match c {
            Client::Producer(p) => p.sent == p.messages.len(),
            Client::Member(_) => true,
        });
        producers_done && self.progress().1
    }

    /// Where each consumer group stands, and whether all are at the end.
    fn progress(&self) -> (String, bool) {
        let machines = self.machines();
        let mut text = String::new();
        let mut done = true;
        for semantics in [
            Semantics::AtMostOnce,
            Semantics::AtLeastOnce,
            Semantics::ExactlyOnce,
        ] {
            let group = semantics.group();
            let coordinator = &machines[chapter9::coordinator_of(group, GROUPS) as usize];
            let committed = coordinator.broker().committed(group).unwrap_or_default();
            text.push_str(&format!("{group}:"));
            for p in 0..PARTITIONS {
                let input = PartitionId::new(INPUT, p);
                let holder = &machines[chapter9::group_of(p, GROUPS) as usize];
                let end = holder.broker().partition(&input).map_or(0, |p| p.next);
                let at = if semantics == Semantics::ExactlyOnce {
                    let producer = pipeline_producer(group, &input);
                    holder
                        .broker()
                        .expected(&PartitionId::new(OUTPUT, p), &producer)
                        .unwrap_or(0)
                } else {
                    committed.get(&p).copied().unwrap_or(0)
                };
                done &= at == end;
                text.push_str(&format!(" {p}:{at}/{end}"));
            }
            text.push_str("; ");
        }
        (text, done)
    }

    fn finish(self, finished: bool) -> Ran {
        let machines = self.machines();
        let logs = |topic: &str| -> BTreeMap<String, Vec<(u64, String)>> {
            (0..PARTITIONS)
                .map(|p| {
                    let id = PartitionId::new(topic, p);
                    let holder = &machines[chapter9::group_of(p, GROUPS) as usize];
                    let log = holder
                        .broker()
                        .partition(&id)
                        .map(|part| {
                            part.records
                                .iter()
                                .map(|r| (r.offset, r.value.clone()))
                                .collect()
                        })
                        .unwrap_or_default();
                    (id.to_string(), log)
                })
                .collect()
        };
        let (input, output) = (logs(INPUT), logs(OUTPUT));
        drop(machines);
        let (progress, _) = self.progress();
        let seen = self.seen;
        let mut sends = crate::history::sent(&seen);
        // A producer's message still in flight at the end: its fate is unknown.
        for c in &self.clients {
            if let Client::Producer(p) = c
                && let Some((key, value)) = p.messages.get(p.sent)
            {
                let partition = chapter9::partition_for(key, PARTITIONS);
                sends.push(Sent {
                    producer: p.name.clone(),
                    partition: PartitionId::new(INPUT, partition).to_string(),
                    value: value.clone(),
                    told: Told::Unknown,
                });
            }
        }
        Ran {
            history: QueueHistory {
                sends,
                logs: input,
                reads: seen.reads,
                commits: seen
                    .commits
                    .into_iter()
                    .map(crate::history::observed)
                    .collect(),
            },
            output: QueueHistory {
                logs: output,
                ..QueueHistory::default()
            },
            processed: seen.processed,
            surprises: seen.surprises,
            timeline: seen.timeline,
            finished,
            ended_at: self.now,
            progress,
        }
    }
}
