//! The cluster as the simulator runs it: `G` groups of three replicas of chapter 6's
//! Raft core (carried into this chapter), each replica applying its group's committed
//! log to its own [`Machine`]. A client's call goes to every replica of the group; the
//! leader stamps it with its clock, proposes it, and answers once the entry is applied
//! (the others drop it; the client sends again until answered). The leader also
//! proposes the passing of time (`Tick`).

use std::collections::BTreeMap;

use chapter9::Spec;
use chapter9::command::Command;
use chapter9::machine::{Applied, Machine};
use chapter9::protocol::{Compaction, Message, Persisted, Timing};
use chapter9::raft::{Raft, Role};

/// Replicas per group.
pub const REPLICAS: usize = 3;
/// How often a leader proposes a `Tick`.
const TICK_EVERY: u64 = 50;
/// Snapshots every 60 applied entries, sent in pieces of 4 KiB: a restarted replica
/// catches up by snapshot too.
const COMPACTION: Compaction = Compaction {
    every: 60,
    chunk_bytes: 4096,
};

/// A replica: (group, index in the group).
pub type ReplicaId = (usize, usize);

/// What a replica sends.
#[derive(Debug)]
pub enum Out {
    Raft {
        group: usize,
        from: usize,
        to: usize,
        message: Message,
    },
    /// The answer to a client's call.
    Reply {
        client: usize,
        call: u64,
        applied: Applied,
    },
}

struct Replica {
    raft: Raft,
    machine: Machine,
    /// Index → (term, the client waiting for it, its call).
    waiting: BTreeMap<u64, (u64, usize, u64)>,
    next_tick: u64,
}

/// Every group's replicas; a crashed one is `None`, its persisted state kept aside.
pub struct Cluster {
    spec: Spec,
    nodes: Vec<Vec<Option<Replica>>>,
    persisted: Vec<Vec<Persisted>>,
}

/// The command with the leader's time written into it.
fn stamped(command: Command, at: u64) -> Command {
    match command {
        Command::Produce {
            partition, batch, ..
        } => Command::Produce {
            partition,
            batch,
            now: at,
        },
        Command::Join {
            group,
            topic,
            member,
            ..
        } => Command::Join {
            group,
            topic,
            member,
            now: at,
        },
        Command::Heartbeat { group, member, .. } => Command::Heartbeat {
            group,
            member,
            now: at,
        },
        other => other,
    }
}

impl Cluster {
    pub fn new(spec: Spec, now: u64, rng: &mut fastrand::Rng) -> Cluster {
        let groups = spec.groups as usize;
        let mut cluster = Cluster {
            spec,
            nodes: (0..groups)
                .map(|_| (0..REPLICAS).map(|_| None).collect())
                .collect(),
            persisted: vec![vec![Persisted::default(); REPLICAS]; groups],
        };
        for g in 0..groups {
            for i in 0..REPLICAS {
                cluster.restart((g, i), now, rng.u64(..));
            }
        }
        cluster
    }

    pub fn groups(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_up(&self, (g, i): ReplicaId) -> bool {
        self.nodes[g][i].is_some()
    }

    pub fn leader(&self, g: usize) -> Option<usize> {
        (0..REPLICAS).find(|&i| {
            self.nodes[g][i]
                .as_ref()
                .is_some_and(|r| r.raft.role() == Role::Leader)
        })
    }

    /// The machine, among group `g`'s replicas up, that has applied the most entries
    /// (a group with no replica up: one that has applied nothing).
    pub fn furthest(&self, g: usize) -> std::borrow::Cow<'_, Machine> {
        self.nodes[g]
            .iter()
            .flatten()
            .map(|r| &r.machine)
            .max_by_key(|m| m.applied_index())
            .map_or_else(
                || std::borrow::Cow::Owned(Machine::new(self.spec.clone(), g as u32)),
                std::borrow::Cow::Borrowed,
            )
    }

    /// Replica `id` crashes: what it made durable stays, the rest is gone.
    pub fn crash(&mut self, (g, i): ReplicaId) {
        if let Some(r) = self.nodes[g][i].take() {
            let snapshot = r.raft.snapshot();
            self.persisted[g][i] = Persisted {
                hard_state: r.raft.hard_state(),
                snapshot: (snapshot.index > 0).then(|| snapshot.clone()),
                log: r.raft.log().to_vec(),
            };
        }
    }

    /// Replica `id` starts from what it persisted.
    pub fn restart(&mut self, (g, i): ReplicaId, now: u64, seed: u64) {
        let persisted = self.persisted[g][i].clone();
        let blank = Machine::new(self.spec.clone(), g as u32);
        let machine = match &persisted.snapshot {
            Some(s) => blank.restore(&s.data, s.index).unwrap_or_else(|e| {
                panic!("group {g} replica {i}'s own snapshot does not restore: {e}")
            }),
            None => blank,
        };
        let peers = (0..REPLICAS as u64).collect();
        let raft = Raft::new(
            i as u64,
            peers,
            (Timing::FAST, COMPACTION),
            persisted,
            now,
            seed,
        );
        self.nodes[g][i] = Some(Replica {
            raft,
            machine,
            waiting: BTreeMap::new(),
            next_tick: now,
        });
    }

    /// A client's call reaches replica `id`: a leader proposes it.
    pub fn on_call(
        &mut self,
        id: ReplicaId,
        client: usize,
        call: u64,
        command: Command,
        now: u64,
    ) -> Vec<Out> {
        let Some(r) = self.nodes[id.0][id.1].as_mut() else {
            return Vec::new();
        };
        if r.raft.role() != Role::Leader {
            return Vec::new(); // the client sends again; the leader will have it
        }
        if let Ok((index, term)) = r.raft.propose(stamped(command, now)) {
            r.waiting.insert(index, (term, client, call));
        }
        self.flush(id, now)
    }

    pub fn on_raft(&mut self, id: ReplicaId, from: usize, message: Message, now: u64) -> Vec<Out> {
        let Some(r) = self.nodes[id.0][id.1].as_mut() else {
            return Vec::new();
        };
        r.raft.step(now, from as u64, message);
        self.flush(id, now)
    }

    pub fn tick(&mut self, id: ReplicaId, now: u64) -> Vec<Out> {
        let Some(r) = self.nodes[id.0][id.1].as_mut() else {
            return Vec::new();
        };
        r.raft.tick(now);
        if r.raft.role() == Role::Leader && now >= r.next_tick {
            r.next_tick = now + TICK_EVERY;
            let _ = r.raft.propose(Command::Tick { now });
        }
        self.flush(id, now)
    }

    /// The shell's order: send, restore from an installed snapshot, apply and answer,
    /// snapshot when due.
    fn flush(&mut self, (g, i): ReplicaId, _now: u64) -> Vec<Out> {
        let mut out = Vec::new();
        let Some(r) = self.nodes[g][i].as_mut() else {
            return out;
        };
        let mut ready = r.raft.take_ready();
        loop {
            for (to, message) in ready.messages.drain(..) {
                out.push(Out::Raft {
                    group: g,
                    from: i,
                    to: to as usize,
                    message,
                });
            }
            if let Some(snapshot) = &ready.snapshot
                && snapshot.index > r.machine.applied_index()
            {
                r.machine = r
                    .machine
                    .restore(&snapshot.data, snapshot.index)
                    .unwrap_or_else(|e| panic!("group {g} replica {i}: {e}"));
            }
            for entry in &ready.committed {
                let applied = r.machine.apply(entry);
                if let Some((term, client, call)) = r.waiting.remove(&entry.index)
                    && term == entry.term
                {
                    out.push(Out::Reply {
                        client,
                        call,
                        applied,
                    });
                }
            }
            match ready.snapshot_due {
                Some(index) if index == r.machine.applied_index() => {
                    let data = r.machine.snapshot();
                    r.raft.compact(index, data);
                    ready = r.raft.take_ready();
                }
                _ => break,
            }
        }
        if r.raft.role() != Role::Leader {
            r.waiting.clear(); // the clients send again
        }
        out
    }
}
