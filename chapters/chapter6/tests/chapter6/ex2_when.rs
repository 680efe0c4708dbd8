//! Exercise 6.2: when a snapshot is due. The core asks (in `Ready::snapshot_due`) once
//! enough applied entries follow the last snapshot, and only for what was handed out to
//! the state machine.

use chapter6::raft::{Raft, Role};

use crate::common::{compaction, put, restarted, time_out};

/// A group of one, leading, that snapshots every `every` entries.
fn alone(every: u64) -> Raft {
    let mut raft = restarted(0, 1, 0, None, Vec::new(), compaction(every, 64));
    time_out(&mut raft);
    assert_eq!(raft.role(), Role::Leader, "a group of one elects itself");
    raft
}

#[test]
fn ex2_a_snapshot_is_due_once_enough_applied_entries_follow_the_last() {
    let mut raft = alone(5);
    // The leader's no-op is entry 1.
    let ready = raft.take_ready();
    assert_eq!(ready.committed.len(), 1);
    assert_eq!(ready.snapshot_due, None, "one entry applied: not yet");
    for k in 0..3 {
        raft.propose(put(k)).expect("the leader accepts");
    }
    let ready = raft.take_ready();
    assert_eq!(ready.committed.last().map(|e| e.index), Some(4));
    assert_eq!(ready.snapshot_due, None, "four entries applied: not yet");
    raft.propose(put(3)).expect("the leader accepts");
    let ready = raft.take_ready();
    assert_eq!(
        ready.snapshot_due,
        Some(5),
        "five entries applied since the last snapshot (none): due at the last applied index"
    );
}

#[test]
fn ex2_after_a_snapshot_the_count_starts_again_from_it() {
    let mut raft = alone(3);
    for k in 0..2 {
        raft.propose(put(k)).expect("the leader accepts");
    }
    let ready = raft.take_ready();
    assert_eq!(ready.snapshot_due, Some(3));
    assert!(
        raft.compact(3, "state at 3".into()),
        "compacting at the due index works"
    );
    let ready = raft.take_ready();
    assert_eq!(
        ready.snapshot_due, None,
        "nothing applied since the snapshot"
    );
    for k in 2..4 {
        raft.propose(put(k)).expect("the leader accepts");
    }
    assert_eq!(
        raft.take_ready().snapshot_due,
        None,
        "two entries since: not yet"
    );
    raft.propose(put(4)).expect("the leader accepts");
    assert_eq!(
        raft.take_ready().snapshot_due,
        Some(6),
        "three since the snapshot at 3"
    );
}

#[test]
fn ex2_a_snapshot_is_never_due_past_what_was_handed_out() {
    // Three nodes: the leader's entries are not committed until a follower has them.
    let mut raft = restarted(0, 3, 0, None, Vec::new(), compaction(2, 64));
    time_out(&mut raft);
    for voter in [1, 2] {
        raft.step(
            1,
            voter,
            chapter6::raft::Message::Vote {
                term: raft.term(),
                granted: true,
            },
        );
    }
    assert_eq!(raft.role(), Role::Leader);
    for k in 0..10 {
        raft.propose(put(k)).expect("the leader accepts");
    }
    let ready = raft.take_ready();
    assert!(ready.committed.is_empty(), "nothing is committed yet");
    assert_eq!(
        ready.snapshot_due, None,
        "eleven entries in the log but none applied: a snapshot may only hold applied state"
    );
}
