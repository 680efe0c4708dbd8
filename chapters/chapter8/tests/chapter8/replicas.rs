//! The coordinator as the simulator runs it: three replicas of chapter 6's Raft core
//! (carried into this chapter), each applying the committed log to its own
//! [`Machine`]. A worker's message goes to every replica; the leader stamps it with its
//! clock, proposes it, and answers once the entry is applied (the others drop it; the
//! worker sends again until answered). The leader also proposes the passing of time
//! (`Tick`) and, once elected, that it took over (`TookOver`).

use std::collections::BTreeMap;

use chapter8::command::Command;
use chapter8::machine::{Applied, Machine};
use chapter8::protocol::{Compaction, Message, Persisted, Timing};
use chapter8::raft::{Raft, Role};
use chapter8::{Spec, WorkerId};

/// Replicas of the coordinator's log.
pub const REPLICAS: usize = 3;
/// How often the leader proposes a `Tick`.
const TICK_EVERY: u64 = 100;
/// Snapshots every 40 applied entries, sent in pieces of 2 KiB: a restarted replica
/// catches up by snapshot too.
const COMPACTION: Compaction = Compaction {
    every: 40,
    chunk_bytes: 2048,
};

/// What a worker sends the coordinator.
#[derive(Debug, Clone)]
pub enum FromWorker {
    Request,
    Heartbeat,
    Report(chapter8::Report),
}

/// What a replica sends.
#[derive(Debug)]
pub enum Out {
    Raft {
        from: usize,
        to: usize,
        message: Message,
    },
    /// `attempt`: the attempt a report was about (0 for other commands).
    Reply {
        worker: WorkerId,
        attempt: u64,
        applied: Applied,
    },
}

struct Replica {
    raft: Raft,
    machine: Machine,
    /// Index → (term, the worker waiting for it, the attempt a report is about).
    waiting: BTreeMap<u64, (u64, WorkerId, u64)>,
    leading: bool,
    next_tick: u64,
}

/// The three replicas; a crashed one is `None`, its persisted state kept aside.
pub struct Replicas {
    spec: Spec,
    nodes: Vec<Option<Replica>>,
    persisted: Vec<Persisted>,
    /// Commands applied by a leader (the count a test fails the leader after).
    pub applied_by_leaders: usize,
}

impl Replicas {
    pub fn new(spec: Spec, now: u64, rng: &mut fastrand::Rng) -> Replicas {
        let mut replicas = Replicas {
            spec,
            nodes: (0..REPLICAS).map(|_| None).collect(),
            persisted: vec![Persisted::default(); REPLICAS],
            applied_by_leaders: 0,
        };
        for i in 0..REPLICAS {
            replicas.restart(i, now, rng.u64(..));
        }
        replicas
    }

    /// Some replica has applied the last reduce's commit.
    pub fn job_done(&self) -> bool {
        self.nodes
            .iter()
            .flatten()
            .any(|r| r.machine.coordinator().is_done())
    }

    pub fn leader(&self) -> Option<usize> {
        (0..REPLICAS).find(|&i| {
            self.nodes[i]
                .as_ref()
                .is_some_and(|r| r.raft.role() == Role::Leader)
        })
    }

    /// The machine, among the replicas up, that has applied the most entries (the job's
    /// state as far as anyone up knows it).
    pub fn furthest(&self) -> Machine {
        self.nodes
            .iter()
            .flatten()
            .map(|r| r.machine.clone())
            .max_by_key(Machine::applied_index)
            .unwrap_or_else(|| Machine::new(self.spec))
    }

    /// Replica `i` crashes: what it made durable stays, the rest is gone.
    pub fn crash(&mut self, i: usize) {
        if let Some(r) = self.nodes[i].take() {
            let snapshot = r.raft.snapshot();
            self.persisted[i] = Persisted {
                hard_state: r.raft.hard_state(),
                snapshot: (snapshot.index > 0).then(|| snapshot.clone()),
                log: r.raft.log().to_vec(),
            };
        }
    }

    /// Replica `i` starts from what it persisted.
    pub fn restart(&mut self, i: usize, now: u64, seed: u64) {
        let persisted = self.persisted[i].clone();
        let blank = Machine::new(self.spec);
        let machine = match &persisted.snapshot {
            Some(s) => blank
                .restore(&s.data, s.index)
                .unwrap_or_else(|e| panic!("replica {i}'s own snapshot does not restore: {e}")),
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
        self.nodes[i] = Some(Replica {
            raft,
            machine,
            waiting: BTreeMap::new(),
            leading: false,
            next_tick: now,
        });
    }

    pub fn on_worker(&mut self, i: usize, worker: &str, message: FromWorker, now: u64) -> Vec<Out> {
        let Some(r) = self.nodes[i].as_mut() else {
            return Vec::new();
        };
        if r.raft.role() != Role::Leader {
            return Vec::new(); // the worker sends again; the leader will have it
        }
        let worker = worker.to_string();
        let attempt = match &message {
            FromWorker::Report(report) => report.attempt,
            _ => 0,
        };
        let command = match message {
            FromWorker::Request => Command::Request {
                worker: worker.clone(),
                now,
            },
            FromWorker::Heartbeat => Command::Heartbeat {
                worker: worker.clone(),
                now,
            },
            FromWorker::Report(report) => Command::Report {
                worker: worker.clone(),
                now,
                report,
            },
        };
        if let Ok((index, term)) = r.raft.propose(command) {
            r.waiting.insert(index, (term, worker, attempt));
        }
        self.flush(i, now)
    }

    pub fn on_raft(&mut self, i: usize, from: usize, message: Message, now: u64) -> Vec<Out> {
        let Some(r) = self.nodes[i].as_mut() else {
            return Vec::new();
        };
        r.raft.step(now, from as u64, message);
        self.flush(i, now)
    }

    pub fn tick(&mut self, i: usize, now: u64) -> Vec<Out> {
        let Some(r) = self.nodes[i].as_mut() else {
            return Vec::new();
        };
        r.raft.tick(now);
        if r.raft.role() == Role::Leader && now >= r.next_tick {
            r.next_tick = now + TICK_EVERY;
            let _ = r.raft.propose(Command::Tick { now });
        }
        self.flush(i, now)
    }

    /// The shell's order: send, restore from an installed snapshot, apply and answer,
    /// snapshot when due; a replica that has just become leader proposes its takeover.
    fn flush(&mut self, i: usize, now: u64) -> Vec<Out> {
        let mut out = Vec::new();
        let Some(r) = self.nodes[i].as_mut() else {
            return out;
        };
        let leading = r.raft.role() == Role::Leader;
        if leading && !r.leading {
            let _ = r.raft.propose(Command::TookOver { now });
        }
        r.leading = leading;
        let mut ready = r.raft.take_ready();
        loop {
            for (to, message) in ready.messages.drain(..) {
                out.push(Out::Raft {
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
                    .unwrap_or_else(|e| panic!("replica {i}: {e}"));
            }
            for entry in &ready.committed {
                let applied = r.machine.apply(entry);
                if let Some((term, worker, attempt)) = r.waiting.remove(&entry.index)
                    && term == entry.term
                {
                    self.applied_by_leaders += 1;
                    out.push(Out::Reply {
                        worker,
                        attempt,
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
            r.waiting.clear(); // the workers send again
        }
        out
    }
}
