//! Exercise 6.4: appends whose `prev_index` falls inside the follower's snapshot. The
//! leader does not know what its follower compacted; the follower skips what its
//! snapshot covers and checks the rest as usual.

use chapter6::raft::{Compaction, Entry, Message, Raft};

use crate::common::{entries_from, restarted, snapshot, to};

/// A follower in term 3 with a snapshot up to 10 (term 2) and entries 11-12 (term 2).
fn follower() -> Raft {
    restarted(
        1,
        3,
        3,
        Some(snapshot(10, 2, "s")),
        entries_from(11, &[2, 2]),
        Compaction::NEVER,
    )
}

fn append(prev_index: u64, prev_term: u64, entries: Vec<Entry>, commit: u64) -> Message {
    Message::Append {
        term: 3,
        prev_index,
        prev_term,
        entries,
        commit,
    }
}

fn reply(raft: &mut Raft) -> (bool, u64) {
    let ready = raft.take_ready();
    match to(&ready, 0)[..] {
        [
            Message::AppendReply {
                success,
                match_index,
                ..
            },
        ] => (success, match_index),
        ref other => panic!("expected one append reply to the leader, got {other:?}"),
    }
}

#[test]
fn ex4_an_append_starting_inside_the_snapshot_skips_what_it_covers() {
    let mut raft = follower();
    // The leader resends from 6: entries 6-12 (terms 1, 1, 2, 2, 2, 2, 2) and a new 13.
    let entries = entries_from(6, &[1, 1, 2, 2, 2, 2, 2, 3]);
    raft.step(1, 0, append(5, 1, entries, 13));
    assert_eq!(
        reply(&mut raft),
        (true, 13),
        "the entries up to the snapshot match by definition (they are committed); 11-12 \
         match; 13 is new"
    );
    assert_eq!(
        raft.last_index(),
        13,
        "the new entry 13 is appended after 11-12"
    );
    assert_eq!(
        raft.term_at(13),
        Some(3),
        "entry 13 is the leader's, of term 3"
    );
    assert_eq!(raft.snapshot().index, 10, "the snapshot is untouched");
    assert_eq!(
        raft.log().first().map(|e| e.index),
        Some(11),
        "the log still begins just after the snapshot: the covered entries 6-10 are not added to it"
    );
    assert_eq!(
        raft.commit_index(),
        13,
        "the follower commits up to the leader's commit index, now that it holds entry 13"
    );
}

#[test]
fn ex4_an_append_entirely_inside_the_snapshot_succeeds_and_changes_nothing() {
    let mut raft = follower();
    // A late copy of an old append: entries 3-8, all covered.
    raft.step(1, 0, append(2, 1, entries_from(3, &[1, 1, 1, 1, 1, 1]), 8));
    let (success, match_index) = reply(&mut raft);
    assert!(success, "what the snapshot covers agrees with every leader");
    assert!(
        (8..=10).contains(&match_index),
        "the follower holds at least up to 8 (answered {match_index})"
    );
    assert_eq!(raft.last_index(), 12, "nothing was removed");
    assert_eq!(
        raft.log().len(),
        2,
        "the log keeps 11-12 and gains none of the covered entries 3-8"
    );
}

#[test]
fn ex4_a_conflict_after_the_snapshot_is_still_found_and_repaired() {
    let mut raft = follower();
    // The leader's entry 12 is of term 3: entry 12 here (term 2) must be replaced.
    raft.step(1, 0, append(7, 1, entries_from(8, &[2, 2, 2, 2, 3]), 10));
    assert_eq!(
        reply(&mut raft),
        (true, 12),
        "an append clipped to the snapshot is matched at the snapshot's boundary with the \
         snapshot's term, (10, 2), not with the leader's prev_term (1, for entry 7): there it \
         matches, and entries 11-12 follow"
    );
    assert_eq!(
        raft.term_at(11),
        Some(2),
        "entry 11 agrees with the leader's and stays"
    );
    assert_eq!(
        raft.term_at(12),
        Some(3),
        "the conflicting entry was replaced"
    );
}

#[test]
fn ex4_an_append_that_does_not_meet_the_log_after_the_snapshot_is_refused() {
    let mut raft = follower();
    // prev (12, 3) does not match this node's (12, 2).
    raft.step(1, 0, append(12, 3, entries_from(13, &[3]), 13));
    let (success, hint) = reply(&mut raft);
    assert!(!success, "log matching still applies after the snapshot");
    assert!(
        (10..12).contains(&hint),
        "the hint points just before the mismatch, never below the snapshot ({hint})"
    );
}
