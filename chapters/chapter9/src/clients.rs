//! Clients as machines: producers that number their batches, and consumer group members
//! of three kinds (at most once, at least once, an exactly-once pipeline). Each has at
//! most one call outstanding: [`Client::next_call`] says what to send (a [`Command`]
//! and the group that must answer it), [`Client::on_answer`] takes the answer. They do
//! no I/O: the tests' simulator delivers their calls to simulated replicas, the loopback
//! test, the demo and the benchmark send them over HTTP ([`crate::client`]); whoever
//! drives them resends a call not answered in time, unchanged.
//!
//! They run one workload's cluster ([`spec`]): an input topic and an output topic of
//! [`PARTITIONS`] partitions each, on [`GROUPS`] groups.

use std::collections::BTreeMap;

use crate::command::Command;
use crate::machine::Applied;
use crate::{
    Appended, Batch, BrokerError, GroupError, Membership, Offset, PartitionId, Read, Record,
    Sequence, coordinator_of, group_of, offset_after, output_batch, partition_for,
    pipeline_producer, resume_at,
};
/// The workload's topics, partitions and groups.
pub const INPUT: &str = "in";
pub const OUTPUT: &str = "out";
pub const PARTITIONS: u32 = 4;
pub const GROUPS: u32 = 2;
/// How many records a member reads at once.
const READ_MAX: usize = 4;
/// How often a member heartbeats, unless told otherwise ([`Member::heartbeat`]).
pub const HEARTBEAT: u64 = 80;

/// The workload's cluster: [`GROUPS`] groups, topics [`INPUT`] and [`OUTPUT`] of
/// [`PARTITIONS`] partitions each, kept for ever; members time out after
/// `session_timeout` ms.
pub fn spec(session_timeout: crate::Millis) -> crate::Spec {
    let topic = |name: &str| crate::Topic {
        name: name.to_string(),
        partitions: PARTITIONS,
        retention: crate::Retention::default(),
    };
    crate::Spec {
        groups: GROUPS,
        topics: vec![topic(INPUT), topic(OUTPUT)],
        session_timeout,
    }
}

/// When a consumer group commits, and so what it promises.
#[allow(clippy::enum_variant_names)] // the names the delivery guarantees go by
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Semantics {
    /// Commit, then process: a crash after the commit loses what was read.
    AtMostOnce,
    /// Process, then commit: a crash before the commit processes it again.
    AtLeastOnce,
    /// Write the output and the input position in one append (9.5).
    ExactlyOnce,
}

impl Semantics {
    pub fn group(self) -> &'static str {
        match self {
            Semantics::AtMostOnce => "at-most-once",
            Semantics::AtLeastOnce => "at-least-once",
            Semantics::ExactlyOnce => "pipeline",
        }
    }
}

/// The pipeline's transform: the same key, the value marked as processed.
pub fn transform(r: &Record) -> Option<(String, String)> {
    Some((r.key.clone(), format!("{}!", r.value)))
}

/// A committed offset a member saw: a commit accepted, or a read of the committed
/// offsets; the call was made at `invoked` and answered at `answered` (the harness's
/// queue checker takes these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub group: String,
    pub partition: String,
    pub offset: u64,
    pub invoked: u64,
    pub answered: u64,
}

/// What clients saw, for the checker.
#[derive(Debug, Default)]
pub struct Seen {
    /// (producer, partition, value, acknowledged offset), in each producer's order.
    pub sends: Vec<(String, String, String, Option<Offset>)>,
    /// Every record a read returned.
    pub reads: Vec<(String, u64, String)>,
    /// Every commit accepted and every committed offset read.
    pub commits: Vec<Committed>,
    /// What each consumer group processed: (partition, value).
    pub processed: BTreeMap<&'static str, Vec<(String, String)>>,
    /// Answers no correct client can get (a bug in the machine or the test).
    pub surprises: Vec<String>,
    /// Every answer a client took, one line each: the run's timeline.
    pub timeline: Vec<String>,
}

#[derive(Debug)]
pub struct Producer {
    pub name: String,
    /// The messages still to send: (key, value).
    pub messages: Vec<(String, String)>,
    pub sent: usize,
    /// Each partition's next sequence number for this producer.
    next: BTreeMap<u32, u64>,
}

#[derive(Debug)]
pub struct Member {
    pub semantics: Semantics,
    pub base: String,
    pub incarnation: u32,
    pub up: bool,
    membership: Option<Membership>,
    /// Where the member reads each of its partitions next (once it asked).
    positions: BTreeMap<u32, Offset>,
    /// Records read, waiting for their commit (at most once) or their append.
    held: Option<(u32, Read)>,
    cursor: usize,
    pub heartbeat_at: u64,
    /// Not before this time (after an empty read).
    pub idle_until: u64,
    /// How long to wait after an empty read.
    pub idle: u64,
    /// How often to heartbeat.
    pub heartbeat: u64,
}

#[derive(Debug)]
pub enum Client {
    Producer(Producer),
    Member(Member),
}

/// A call: the group that must answer it, and the command.
pub type Call = (usize, Command);

impl Producer {
    pub fn new(name: &str, messages: Vec<(String, String)>) -> Producer {
        Producer {
            name: name.to_string(),
            messages,
            sent: 0,
            next: BTreeMap::new(),
        }
    }

    fn call(&self) -> Option<Call> {
        let (key, value) = self.messages.get(self.sent)?;
        let p = partition_for(key, PARTITIONS);
        let first = self.next.get(&p).copied().unwrap_or(0);
        let batch = Batch {
            sequence: Some(Sequence {
                producer: self.name.clone(),
                first,
                end: first + 1,
            }),
            records: vec![(key.clone(), value.clone())],
        };
        let command = Command::Produce {
            partition: PartitionId::new(INPUT, p),
            batch,
            now: 0,
        };
        Some((group_of(p, GROUPS) as usize, command))
    }

    fn on_answer(&mut self, applied: Applied, seen: &mut Seen) {
        let (key, value) = self.messages[self.sent].clone();
        let p = partition_for(&key, PARTITIONS);
        match applied {
            Applied::Appended(Appended::Appended { base, .. })
            | Applied::Appended(Appended::Duplicate { base, .. }) => {
                seen.sends.push((
                    self.name.clone(),
                    PartitionId::new(INPUT, p).to_string(),
                    value,
                    Some(base),
                ));
                *self.next.entry(p).or_insert(0) += 1;
                self.sent += 1;
            }
            other => seen.surprises.push(format!(
                "{} sending {value:?} was told {other:?}",
                self.name
            )),
        }
    }
}

impl Member {
    pub fn new(semantics: Semantics, base: &str) -> Member {
        Member {
            semantics,
            base: base.to_string(),
            incarnation: 0,
            up: true,
            membership: None,
            positions: BTreeMap::new(),
            held: None,
            cursor: 0,
            heartbeat_at: 0,
            idle_until: 0,
            idle: 20,
            heartbeat: HEARTBEAT,
        }
    }

    /// This incarnation's name: a restarted consumer joins as a new member.
    pub fn name(&self) -> String {
        format!("{}.{}", self.base, self.incarnation)
    }

    /// The member's generation and partitions, as it last heard them.
    pub fn membership(&self) -> Option<&Membership> {
        self.membership.as_ref()
    }

    /// A crash: everything in memory is gone.
    pub fn crash(&mut self) {
        self.up = false;
        self.membership = None;
        self.positions.clear();
        self.held = None;
    }

    pub fn restart(&mut self) {
        self.up = true;
        self.incarnation += 1;
    }

    fn coordinator(&self) -> usize {
        coordinator_of(self.semantics.group(), GROUPS) as usize
    }

    fn call(&mut self, now: u64) -> Option<Call> {
        let group = self.semantics.group().to_string();
        let member = self.name();
        let Some(membership) = &self.membership else {
            let topic = INPUT.to_string();
            let command = Command::Join {
                group,
                topic,
                member,
                now: 0,
            };
            return Some((self.coordinator(), command));
        };
        if now >= self.heartbeat_at {
            return Some((
                self.coordinator(),
                Command::Heartbeat {
                    group,
                    member,
                    now: 0,
                },
            ));
        }
        let mine = membership.partitions.clone();
        if let Some((p, read)) = &self.held {
            return Some(self.finish(*p, read));
        }
        if let Some(&p) = mine.iter().find(|p| !self.positions.contains_key(p)) {
            return Some(match self.semantics {
                Semantics::ExactlyOnce => {
                    let input = PartitionId::new(INPUT, p);
                    let command = Command::Expected {
                        partition: PartitionId::new(OUTPUT, p),
                        producer: pipeline_producer(&group, &input),
                    };
                    (group_of(p, GROUPS) as usize, command)
                }
                _ => (self.coordinator(), Command::Committed { group }),
            });
        }
        if mine.is_empty() || now < self.idle_until {
            return None;
        }
        self.cursor = (self.cursor + 1) % mine.len();
        let p = mine[self.cursor];
        let command = Command::Read {
            partition: PartitionId::new(INPUT, p),
            from: self.positions[&p],
            max: READ_MAX,
        };
        Some((group_of(p, GROUPS) as usize, command))
    }

    /// The call that finishes records read from `p`: their commit, or their output.
    fn finish(&self, p: u32, read: &Read) -> Call {
        let group = self.semantics.group();
        let last = read
            .records
            .last()
            .expect("only reads with records are held");
        if self.semantics == Semantics::ExactlyOnce {
            let input = PartitionId::new(INPUT, p);
            let batch = output_batch(group, &input, self.positions[&p], read, &transform)
                .expect("a read with records has a batch");
            let command = Command::Produce {
                partition: PartitionId::new(OUTPUT, p),
                batch,
                now: 0,
            };
            return (group_of(p, GROUPS) as usize, command);
        }
        let command = Command::Commit {
            group: group.to_string(),
            member: self.name(),
            generation: self.membership.as_ref().map_or(0, |m| m.generation),
            offsets: vec![(p, offset_after(last))],
        };
        (self.coordinator(), command)
    }

    fn process(&self, p: u32, read: &Read, seen: &mut Seen) {
        let partition = PartitionId::new(INPUT, p).to_string();
        let processed = seen.processed.entry(self.semantics.group()).or_default();
        for r in &read.records {
            processed.push((partition.clone(), r.value.clone()));
        }
    }

    /// Starts over from the group's committed state: a new membership, or none.
    fn reset(&mut self, membership: Option<Membership>) {
        self.membership = membership;
        self.positions.clear();
        self.held = None;
    }

    /// A committed offset this member saw, for the checker.
    fn observed(&self, p: u32, offset: Offset, invoked: u64, answered: u64) -> Committed {
        Committed {
            group: self.semantics.group().into(),
            partition: PartitionId::new(INPUT, p).to_string(),
            offset,
            invoked,
            answered,
        }
    }

    fn on_answer(
        &mut self,
        command: &Command,
        applied: Applied,
        (invoked, now): (u64, u64),
        seen: &mut Seen,
    ) {
        let name = self.name();
        match (command, applied) {
            (Command::Join { .. }, Applied::Membership(m)) => {
                self.reset(Some(m));
                self.heartbeat_at = now + self.heartbeat;
            }
            (Command::Heartbeat { .. }, Applied::Membership(m)) => {
                self.heartbeat_at = now + self.heartbeat;
                if self.membership.as_ref() != Some(&m) {
                    self.reset(Some(m));
                }
            }
            (Command::Committed { .. }, Applied::Offsets(committed)) => {
                for p in self.membership.iter().flat_map(|m| m.partitions.clone()) {
                    self.positions
                        .insert(p, resume_at(committed.get(&p).copied()));
                }
                for (p, offset) in committed {
                    seen.commits.push(self.observed(p, offset, invoked, now));
                }
            }
            (Command::Expected { partition, .. }, Applied::Expected(next)) => {
                self.positions.insert(partition.index, next);
            }
            (Command::Read { partition, .. }, Applied::Read(read)) => {
                let p = partition.index;
                for r in &read.records {
                    seen.reads
                        .push((partition.to_string(), r.offset, r.value.clone()));
                }
                if read.records.is_empty() {
                    self.idle_until = now + self.idle;
                    return;
                }
                if self.semantics == Semantics::AtLeastOnce {
                    self.process(p, &read, seen);
                }
                self.held = Some((p, read));
            }
            (Command::Commit { offsets, .. }, Applied::Committed) => {
                let Some((p, read)) = self.held.take() else {
                    return;
                };
                if self.semantics == Semantics::AtMostOnce {
                    self.process(p, &read, seen);
                }
                for &(p, offset) in offsets {
                    seen.commits.push(self.observed(p, offset, invoked, now));
                    self.positions.insert(p, offset);
                }
            }
            (Command::Produce { batch, .. }, Applied::Appended(appended)) => {
                let Some((p, _)) = self.held.take() else {
                    return;
                };
                let end = batch.sequence.as_ref().map_or(0, |s| s.end);
                match appended {
                    Appended::Appended { .. } | Appended::Duplicate { .. } => {
                        self.positions.insert(p, end);
                    }
                    // Another member of the pipeline (an older owner) got further: ask
                    // the output where the input stands.
                    Appended::Stale | Appended::OutOfSequence { .. } => {
                        self.positions.remove(&p);
                    }
                }
            }
            (_, Applied::Refused(BrokerError::Group(GroupError::UnknownMember { .. }))) => {
                self.reset(None); // timed out: join again
            }
            (_, Applied::Refused(BrokerError::Group(_))) => {
                // An older generation: drop what is held, hear the new one.
                self.held = None;
                self.positions.clear();
                self.heartbeat_at = now;
            }
            (command, other) => seen
                .surprises
                .push(format!("{name}'s {command:?} was answered {other:?}")),
        }
    }
}

impl Client {
    /// The client's name (a member's current incarnation's).
    pub fn name(&self) -> String {
        match self {
            Client::Producer(p) => p.name.clone(),
            Client::Member(m) => m.name(),
        }
    }

    /// What this client sends next at `now`, if anything.
    pub fn next_call(&mut self, now: u64) -> Option<Call> {
        match self {
            Client::Producer(p) => p.call(),
            Client::Member(m) if m.up => m.call(now),
            Client::Member(_) => None,
        }
    }

    /// The answer to `command`, made at `invoked`, arrives at `now`.
    pub fn on_answer(
        &mut self,
        command: &Command,
        applied: Applied,
        (invoked, now): (u64, u64),
        seen: &mut Seen,
    ) {
        match self {
            Client::Producer(p) => p.on_answer(applied, seen),
            Client::Member(m) => m.on_answer(command, applied, (invoked, now), seen),
        }
    }
}
