//! A group of replicas built from the real core, state machine and storage (on a
//! simulated disk, in memory, so long runs take a second, not minutes of fsyncs), wired
//! by a queue in the test. Each replica follows the shell's order: persist, send,
//! restore, apply, snapshot when due. A replica that is down is `None`: what is sent to
//! it is lost.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use chapter6::api::Command;
use chapter6::machine::Machine;
use chapter6::raft::{Compaction, Message, Raft, Ready, Timing};
use chapter6::storage::Storage;
use harness::disk::SimDisk;

/// One node: the core, its state machine and its files.
pub struct Replica {
    pub raft: Raft,
    pub machine: Machine,
    pub storage: Storage,
}

pub const GROUP: u64 = 3;

fn dir(id: u64) -> PathBuf {
    PathBuf::from(format!("/data/{id}"))
}

impl Replica {
    /// Starts (or restarts) node `id` from what `disk` holds.
    pub fn start(id: u64, disk: &SimDisk, compaction: Compaction) -> Replica {
        let recovered = Storage::recover(Arc::new(disk.mount()), &dir(id))
            .unwrap_or_else(|e| panic!("node {id} does not recover: {e}"));
        let machine = match &recovered.persisted.snapshot {
            Some(s) => Machine::restore(&s.data, s.index).expect("its own snapshot restores"),
            None => Machine::new(),
        };
        let raft = Raft::new(
            id,
            (0..GROUP).collect(),
            (Timing::FAST, compaction),
            recovered.persisted,
            0,
            id,
        );
        Replica {
            raft,
            machine,
            storage: recovered.storage,
        }
    }

    /// Persists, queues the messages, restores, applies, snapshots when due.
    pub fn flush(&mut self, out: &mut VecDeque<(u64, u64, Message)>) {
        let mut ready: Ready = self.raft.take_ready();
        loop {
            self.storage
                .persist(ready.hard_state, &[])
                .expect("the simulated disk works");
            match &ready.snapshot {
                Some(snapshot) => self.storage.save_snapshot(snapshot, &ready.entries),
                None => self.storage.persist(None, &ready.entries),
            }
            .expect("the simulated disk works");
            let id = self.raft.id();
            for (to, message) in ready.messages.drain(..) {
                out.push_back((id, to, message));
            }
            if let Some(s) = &ready.snapshot
                && s.index > self.machine.applied_index()
            {
                self.machine = Machine::restore(&s.data, s.index).expect("a leader's snapshot");
            }
            for entry in &ready.committed {
                self.machine.apply(entry);
            }
            match ready.snapshot_due {
                Some(index) if index == self.machine.applied_index() => {
                    assert!(self.raft.compact(index, self.machine.snapshot()));
                    ready = self.raft.take_ready();
                }
                _ => return,
            }
        }
    }
}

/// Delivers every queued message (and those they cause), and returns them; messages to a
/// replica that is down are lost.
pub fn deliver(
    replicas: &mut [Option<Replica>],
    queue: &mut VecDeque<(u64, u64, Message)>,
    now: u64,
) -> Vec<(u64, u64, Message)> {
    let mut delivered = Vec::new();
    while let Some((from, to, message)) = queue.pop_front() {
        let Some(replica) = replicas[to as usize].as_mut() else {
            continue;
        };
        delivered.push((from, to, message.clone()));
        replica.raft.step(now, from, message);
        replica.flush(queue);
    }
    delivered
}

/// The leader `leader` proposes `commands` and the group runs until quiet; returns what
/// was delivered.
pub fn write(
    replicas: &mut [Option<Replica>],
    leader: usize,
    commands: Vec<Command>,
    now: u64,
) -> Vec<(u64, u64, Message)> {
    let mut queue = VecDeque::new();
    let replica = replicas[leader].as_mut().expect("the leader is up");
    for command in commands {
        replica
            .raft
            .propose(command)
            .expect("the leader leads throughout");
    }
    replica.flush(&mut queue);
    deliver(replicas, &mut queue, now)
}

/// The leader `leader` sends a heartbeat at `now` and the group runs until quiet.
pub fn heartbeat(
    replicas: &mut [Option<Replica>],
    leader: usize,
    now: u64,
) -> Vec<(u64, u64, Message)> {
    let mut queue = VecDeque::new();
    let replica = replicas[leader].as_mut().expect("the leader is up");
    replica.raft.tick(now);
    replica.flush(&mut queue);
    deliver(replicas, &mut queue, now)
}

/// Starts a group of [`GROUP`] on `disk`, and elects node 0; returns the time.
pub fn elected(disk: &SimDisk, compaction: Compaction) -> (Vec<Option<Replica>>, u64) {
    let mut replicas: Vec<Option<Replica>> = (0..GROUP)
        .map(|id| Some(Replica::start(id, disk, compaction)))
        .collect();
    let mut queue = VecDeque::new();
    let leader = replicas[0].as_mut().expect("up");
    let now = leader.raft.election_deadline();
    leader.raft.tick(now);
    leader.flush(&mut queue);
    deliver(&mut replicas, &mut queue, now);
    (replicas, now)
}

/// A write of `key`.
pub fn put(key: String, value: String) -> Command {
    Command::Put {
        key,
        value,
        if_version: None,
        request: None,
    }
}
