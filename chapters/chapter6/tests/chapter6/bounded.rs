//! Long runs through a group of three built from the real core, state machine and
//! storage (`chapter6::replicas`, on the simulated disk: in memory, so a run takes a
//! second, not minutes of fsyncs): 100,000 writes with every log bounded, and a follower
//! that missed 10,000 writes brought back by a snapshot.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chapter6::machine::Machine;
use chapter6::raft::Message;
use chapter6::replicas::{GROUP, Group, Replica, put};
use harness::disk::SimDisk;

use crate::common::compaction;

const WRITES: u64 = 100_000;
const KEYS: u64 = 10_000;
const EVERY: u64 = 2_000;
/// What the bound is: the entries since the last snapshot (fewer than `EVERY`), plus
/// the writes of one round not yet applied, plus the leader's no-op.
const MAX_LOG_ENTRIES: u64 = EVERY + 64 + 1;
/// An entry here takes under 100 bytes on disk (frame header, JSON of a short key and
/// value): the log file stays under this.
const MAX_LOG_BYTES: u64 = MAX_LOG_ENTRIES * 100;

fn root() -> &'static Path {
    Path::new("/data")
}

#[test]
fn chapter_100000_writes_keep_every_log_bounded_and_every_value_reads_back() {
    let disk = SimDisk::new(1);
    let settings = compaction(EVERY, 256 * 1024);
    let mut group = Group::elected(Arc::new(disk.mount()), root(), settings)
        .expect("a group starts on an empty disk");
    let mut expected = BTreeMap::new();
    let mut largest = (0, 0);
    for round in 0..WRITES.div_ceil(64) {
        let commands = (round * 64..((round + 1) * 64).min(WRITES))
            .map(|k| {
                let (key, value) = (format!("key{}", k % KEYS), format!("value{k}"));
                expected.insert(key.clone(), value.clone());
                put(key, value)
            })
            .collect();
        group
            .write(commands)
            .unwrap_or_else(|e| panic!("the group runs until quiet: {e}"));
        for (id, r) in group.replicas.iter().flatten().enumerate() {
            let entries = r.raft.log().len() as u64;
            let bytes = r.storage.log_bytes();
            largest = (largest.0.max(entries), largest.1.max(bytes));
            assert!(
                entries <= MAX_LOG_ENTRIES && bytes <= MAX_LOG_BYTES,
                "after {} writes node {id} holds {entries} entries in memory and {bytes} \
                 bytes of log on disk; the bound is {MAX_LOG_ENTRIES} entries, \
                 {MAX_LOG_BYTES} bytes",
                (round + 1) * 64
            );
        }
    }
    // A heartbeat tells the followers the last writes are committed.
    group
        .heartbeat()
        .unwrap_or_else(|e| panic!("the group runs until quiet: {e}"));
    assert!(
        group
            .replicas
            .iter()
            .flatten()
            .all(|r| r.raft.snapshot().index >= WRITES - EVERY),
        "every node snapshotted near the end"
    );
    println!(
        "largest log: {} entries, {} bytes on disk",
        largest.0, largest.1
    );
    let check = |who: &str, machine: &Machine| {
        assert_eq!(machine.len() as u64, KEYS, "{who} holds every key");
        for (key, value) in &expected {
            assert_eq!(
                machine.get(key).map(|(v, _)| v).as_ref(),
                Some(value),
                "{who}: {key} reads back its last value"
            );
        }
    };
    for (id, r) in group.replicas.iter().flatten().enumerate() {
        check(&format!("node {id}"), &r.machine);
    }
    // Restarted from its disk: snapshot plus the log after it, nothing more.
    drop(group);
    for id in 0..GROUP {
        let restarted = Replica::start(id, Arc::new(disk.mount()), root(), settings)
            .unwrap_or_else(|e| panic!("node {id} does not restart: {e}"));
        assert!(
            restarted.raft.log().len() as u64 <= MAX_LOG_ENTRIES,
            "node {id} replays only the tail after its snapshot"
        );
        // Apply the committed tail, as the shell would after hearing the commit index.
        let mut machine = restarted.machine;
        for entry in restarted.raft.log() {
            machine.apply(entry);
        }
        check(&format!("node {id} restarted"), &machine);
    }
}

#[test]
fn chapter_a_follower_down_for_10000_writes_catches_up_through_a_snapshot_not_10000_entries() {
    let disk = SimDisk::new(2);
    let mut group = Group::elected(Arc::new(disk.mount()), root(), compaction(1_000, 64 * 1024))
        .expect("a group starts on an empty disk");
    group.crash(2); // what it made durable stays on the disk
    for round in 0..10_000 / 50 {
        let commands = (round * 50..(round + 1) * 50)
            .map(|k| put(format!("key{k}"), format!("value{k}")))
            .collect();
        group
            .write(commands)
            .unwrap_or_else(|e| panic!("the group runs until quiet: {e}"));
    }
    let snapshot = group.replica(0).raft.snapshot().index;
    assert!(
        snapshot >= 9_000,
        "the leader compacted (snapshot at {snapshot})"
    );
    group.restart(2).expect("node 2 restarts");
    let mut delivered = Vec::new();
    for _ in 0..10 {
        delivered.extend(
            group
                .heartbeat()
                .unwrap_or_else(|e| panic!("the group runs until quiet: {e}")),
        );
    }
    let to_follower = |pick: fn(&Message) -> u64| -> u64 {
        delivered
            .iter()
            .filter(|(_, to, _)| *to == 2)
            .map(|(_, _, m)| pick(m))
            .sum()
    };
    let pieces = to_follower(|m| matches!(m, Message::InstallSnapshot { .. }) as u64);
    let entries = to_follower(|m| match m {
        Message::Append { entries, .. } => entries.len() as u64,
        _ => 0,
    });
    assert!(pieces >= 1, "node 2 was sent the leader's snapshot");
    assert!(
        entries < 1_000,
        "node 2 was sent {entries} entries: only those after the snapshot, not the 10,000 it missed"
    );
    let (leader_last, leader_machine) = {
        let leader = group.replica(0);
        (leader.raft.last_index(), leader.machine.clone())
    };
    let back = group.replica(2);
    assert_eq!(
        back.raft.snapshot().index,
        snapshot,
        "it installed the leader's snapshot"
    );
    assert_eq!(
        back.raft.last_index(),
        leader_last,
        "and has the log after it"
    );
    assert_eq!(
        back.machine, leader_machine,
        "its state machine equals the leader's"
    );
    println!("caught up with {pieces} snapshot pieces and {entries} entries");
}
