//! A group of replicas in one thread, with no network: the real core, state machine and
//! storage, wired by a queue. Each replica follows the shell's order (persist, send,
//! restore, apply, snapshot when due) without its tasks and timers, so long runs are
//! deterministic and fast. The benchmark runs it on the real disk; the tests on the
//! simulated one. A replica that is down is `None`: what is sent to it is lost.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plumbing::disk::Disk;

use crate::api::Command;
use crate::machine::Machine;
use crate::protocol::check_snapshot_taken;
use crate::raft::{Compaction, Message, Raft, Ready, Timing};
use crate::storage::Storage;

/// Replicas in a group.
pub const GROUP: u64 = 3;

/// A message in flight: from, to, what.
pub type Sent = (u64, u64, Message);

/// One node: the core, its state machine and its files.
#[derive(Debug)]
pub struct Replica {
    /// The core.
    pub raft: Raft,
    /// The state machine.
    pub machine: Machine,
    /// Its files.
    pub storage: Storage,
}

/// Where replica `id` keeps its files under `root`.
pub fn data_dir(root: &Path, id: u64) -> PathBuf {
    root.join(id.to_string())
}

impl Replica {
    /// Starts (or restarts) replica `id` from what `disk` holds under `root`.
    pub fn start(
        id: u64,
        disk: Arc<dyn Disk>,
        root: &Path,
        compaction: Compaction,
    ) -> anyhow::Result<Replica> {
        let recovered = Storage::recover(disk, &data_dir(root, id))?;
        let machine = match &recovered.persisted.snapshot {
            Some(s) => Machine::new()
                .restore(&s.data, s.index)
                .map_err(anyhow::Error::msg)?,
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
        Ok(Replica {
            raft,
            machine,
            storage: recovered.storage,
        })
    }

    /// Persists, queues the messages, restores, applies, snapshots when due.
    pub fn flush(&mut self, out: &mut VecDeque<Sent>) -> std::io::Result<()> {
        let mut ready: Ready = self.raft.take_ready();
        loop {
            self.storage.persist(ready.hard_state, &[])?;
            match &ready.snapshot {
                Some(snapshot) => self.storage.save_snapshot(snapshot, &ready.entries)?,
                None => self.storage.persist(None, &ready.entries)?,
            }
            let id = self.raft.id();
            for (to, message) in ready.messages.drain(..) {
                out.push_back((id, to, message));
            }
            if let Some(s) = &ready.snapshot
                && s.index > self.machine.applied_index()
            {
                self.machine = self
                    .machine
                    .restore(&s.data, s.index)
                    .map_err(std::io::Error::other)?;
            }
            for entry in &ready.committed {
                self.machine.apply(entry);
            }
            match ready.snapshot_due {
                Some(index) if index == self.machine.applied_index() => {
                    let before = self.raft.snapshot().index;
                    self.raft.compact(index, self.machine.snapshot());
                    check_snapshot_taken(index, before, self.raft.snapshot().index)
                        .map_err(|e| std::io::Error::other(format!("node {id}: {e}")))?;
                    ready = self.raft.take_ready();
                }
                _ => return Ok(()),
            }
        }
    }
}

/// A group of [`GROUP`] replicas.
#[derive(Debug)]
pub struct Group {
    /// The replicas; `None` while down.
    pub replicas: Vec<Option<Replica>>,
    /// The time the group's cores are told (ms).
    pub now: u64,
    disk: Arc<dyn Disk>,
    root: PathBuf,
    compaction: Compaction,
}

impl Group {
    /// Starts a group on `disk` under `root`, and elects replica 0.
    pub fn elected(
        disk: Arc<dyn Disk>,
        root: &Path,
        compaction: Compaction,
    ) -> anyhow::Result<Group> {
        let replicas = (0..GROUP)
            .map(|id| Replica::start(id, Arc::clone(&disk), root, compaction).map(Some))
            .collect::<anyhow::Result<_>>()?;
        let mut group = Group {
            replicas,
            now: 0,
            disk,
            root: root.to_path_buf(),
            compaction,
        };
        let leader = group.replica(0);
        let now = leader.raft.election_deadline();
        leader.raft.tick(now);
        group.now = now;
        let mut queue = VecDeque::new();
        group.replica(0).flush(&mut queue)?;
        group.deliver(queue)?;
        anyhow::ensure!(
            group.replica(0).raft.role() == crate::raft::Role::Leader,
            "replica 0 timed out first but did not win its election"
        );
        Ok(group)
    }

    /// Replica `id` (panics if it is down: a bug in the caller).
    pub fn replica(&mut self, id: usize) -> &mut Replica {
        self.replicas[id]
            .as_mut()
            .unwrap_or_else(|| panic!("replica {id} is down"))
    }

    /// Crashes replica `id`: what it made durable stays.
    pub fn crash(&mut self, id: usize) {
        self.replicas[id] = None;
    }

    /// Restarts replica `id` from its files.
    pub fn restart(&mut self, id: usize) -> anyhow::Result<()> {
        let replica = Replica::start(
            id as u64,
            Arc::clone(&self.disk),
            &self.root,
            self.compaction,
        )?;
        self.replicas[id] = Some(replica);
        Ok(())
    }

    /// Delivers every queued message (and those they cause), and returns them; messages
    /// to a replica that is down are lost. A group that is still talking after
    /// [`MAX_DELIVERIES`] messages is in a loop: that is an error, not a hang.
    pub fn deliver(&mut self, mut queue: VecDeque<Sent>) -> std::io::Result<Vec<Sent>> {
        let mut delivered = Vec::new();
        while let Some((from, to, message)) = queue.pop_front() {
            if delivered.len() == MAX_DELIVERIES {
                return Err(std::io::Error::other(format!(
                    "the messages never stopped after {MAX_DELIVERIES} deliveries in one \
                     round: the nodes answer each other forever (the last from {from} to {to}; \
                     a snapshot sent again and again?)"
                )));
            }
            let Some(replica) = self.replicas[to as usize].as_mut() else {
                continue;
            };
            delivered.push((from, to, message.clone()));
            replica.raft.step(self.now, from, message);
            replica.flush(&mut queue)?;
        }
        Ok(delivered)
    }

    /// Replica 0, the leader, proposes `commands`; the group runs until quiet.
    pub fn write(&mut self, commands: Vec<Command>) -> std::io::Result<Vec<Sent>> {
        self.now += 1;
        let leader = self.replica(0);
        for command in commands {
            leader
                .raft
                .propose(command)
                .map_err(|_| std::io::Error::other("replica 0 lost its leadership"))?;
        }
        let mut queue = VecDeque::new();
        leader.flush(&mut queue)?;
        self.deliver(queue)
    }

    /// Replica 0 sends a heartbeat; the group runs until quiet.
    pub fn heartbeat(&mut self) -> std::io::Result<Vec<Sent>> {
        self.now += Timing::FAST.heartbeat_ms;
        let now = self.now;
        let leader = self.replica(0);
        leader.raft.tick(now);
        let mut queue = VecDeque::new();
        leader.flush(&mut queue)?;
        self.deliver(queue)
    }
}

/// The most messages one round ([`Group::write`], [`Group::heartbeat`]) delivers: a
/// follower catching up on 100,000 entries takes about 3,200.
pub const MAX_DELIVERIES: usize = 50_000;

/// A write of `key`.
pub fn put(key: String, value: String) -> Command {
    Command::Put {
        key,
        value,
        if_version: None,
        request: None,
    }
}
