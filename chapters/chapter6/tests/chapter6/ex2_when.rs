//! Exercise 6.2: when a snapshot is due. The core asks (in `Ready::snapshot_due`) once
//! enough applied entries follow the last snapshot, and only for what was handed out to
//! the state machine.

use chapter6::raft::{Raft, Role};

use crate::common::{compaction, put, restarted, snapshot, time_out};

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
    assert_eq!(ready.committed.len(), 1, "the no-op is applied");
    assert_eq!(ready.snapshot_due, None, "one entry applied: not yet");
    for k in 0..3 {
        raft.propose(put(k)).expect("the leader accepts");
    }
    let ready = raft.take_ready();
    assert_eq!(
        ready.committed.last().map(|e| e.index),
        Some(4),
        "a group of one commits and applies each write at once"
    );
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
    // Restarted alone with a snapshot up to 3: it leads again, its no-op is entry 4.
    let mut raft = restarted(
        0,
        1,
        1,
        Some(snapshot(3, 1, "state at 3")),
        Vec::new(),
        compaction(3, 64),
    );
    time_out(&mut raft);
    assert_eq!(raft.role(), Role::Leader, "a group of one elects itself");
    let ready = raft.take_ready();
    assert_eq!(
        ready.committed.last().map(|e| e.index),
        Some(4),
        "the no-op is applied"
    );
    assert_eq!(
        ready.snapshot_due, None,
        "one entry applied since the snapshot at 3: not yet (count from the snapshot, not from 0)"
    );
    raft.propose(put(1)).expect("the leader accepts");
    assert_eq!(
        raft.take_ready().snapshot_due,
        None,
        "two entries since the snapshot at 3: not yet"
    );
    raft.propose(put(2)).expect("the leader accepts");
    assert_eq!(
        raft.take_ready().snapshot_due,
        Some(6),
        "three entries applied since the snapshot at 3: due at the last applied index, 6"
    );
}

#[test]
fn ex2_a_snapshot_is_due_at_what_was_applied_not_at_the_next_multiple() {
    // Seven entries applied at once, with a snapshot every 3: the snapshot covers all
    // seven (what the state machine holds), not the first three.
    let mut raft = alone(3);
    for k in 0..6 {
        raft.propose(put(k)).expect("the leader accepts");
    }
    let ready = raft.take_ready();
    assert_eq!(
        ready.committed.last().map(|e| e.index),
        Some(7),
        "no-op and six writes applied in one ready"
    );
    assert_eq!(
        ready.snapshot_due,
        Some(7),
        "a snapshot is of the state machine as it is now, after entry 7: the index it asks for \
         is the last applied one, not the snapshot's index plus `every`"
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
    assert_eq!(raft.role(), Role::Leader, "two votes of three elect it");
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
