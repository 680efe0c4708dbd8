//! Exercise 6.1: a log that begins at a snapshot. Indexes keep counting from 1, the
//! boundary keeps its term, and a restarted node starts from its snapshot.

use chapter6::raft::{Compaction, Message, Role};

use crate::common::{entries_from, restarted, snapshot, time_out, to};

#[test]
fn ex1_indexes_and_terms_count_the_entries_a_snapshot_replaced() {
    // Snapshot up to 10 (its entry was of term 3), then entries 11-13.
    let raft = restarted(
        0,
        3,
        4,
        Some(snapshot(10, 3, "s")),
        entries_from(11, &[3, 4, 4]),
        Compaction::NEVER,
    );
    assert_eq!(raft.last_index(), 13, "10 snapshotted + 3 entries");
    assert_eq!(raft.last_term(), 4, "the last term is the last entry's");
    assert_eq!(
        raft.entry(11).map(|e| e.index),
        Some(11),
        "the first entry kept"
    );
    assert_eq!(
        raft.entry(13).map(|e| e.index),
        Some(13),
        "entry 13 is at position 2 of a log that begins after the snapshot at 10"
    );
    assert_eq!(raft.entry(14), None, "past the end");
    assert!(
        raft.entry(10).is_none() && raft.entry(1).is_none(),
        "snapshotted entries are gone"
    );
    assert_eq!(
        raft.term_at(10),
        Some(3),
        "the boundary answers with the snapshot's term: log matching at prev_index 10 needs it"
    );
    assert_eq!(
        raft.term_at(9),
        None,
        "below the boundary nothing is known any more"
    );
    assert_eq!(
        raft.term_at(12),
        Some(4),
        "after the boundary, the term is the entry's"
    );
}

#[test]
fn ex1_an_empty_log_after_a_snapshot_ends_at_the_snapshot() {
    let raft = restarted(
        0,
        3,
        4,
        Some(snapshot(10, 3, "s")),
        Vec::new(),
        Compaction::NEVER,
    );
    assert_eq!(raft.last_index(), 10, "the last index is the snapshot's");
    assert_eq!(raft.last_term(), 3, "and so is the last term");
    assert_eq!(
        raft.term_at(10),
        Some(3),
        "with no entry after it, the boundary still answers with the snapshot's term"
    );
}

#[test]
fn ex1_the_vote_rule_compares_the_snapshots_term_when_no_entry_follows_it() {
    let mut raft = restarted(
        0,
        3,
        4,
        Some(snapshot(10, 3, "s")),
        Vec::new(),
        Compaction::NEVER,
    );
    // A candidate whose log ends at (10, 2) is behind a snapshot that ends at (10, 3).
    let ask = |candidate_term, last_log_index, last_log_term| Message::RequestVote {
        term: candidate_term,
        last_log_index,
        last_log_term,
    };
    raft.step(1, 1, ask(5, 10, 2));
    let ready = raft.take_ready();
    assert!(
        matches!(to(&ready, 1)[..], [Message::Vote { granted: false, .. }]),
        "a candidate with an older last term must be refused: {:?}",
        ready.messages
    );
    raft.step(2, 2, ask(6, 10, 3));
    let ready = raft.take_ready();
    assert!(
        matches!(to(&ready, 2)[..], [Message::Vote { granted: true, .. }]),
        "a candidate as up to date as the snapshot gets the vote: {:?}",
        ready.messages
    );
}

#[test]
fn ex1_a_restarted_node_is_committed_and_applied_up_to_its_snapshot() {
    // A group of one, restarted with a snapshot up to 10 and entries 11-12 after it.
    let mut raft = restarted(
        0,
        1,
        4,
        Some(snapshot(10, 3, "s")),
        entries_from(11, &[4, 4]),
        Compaction::NEVER,
    );
    assert_eq!(
        raft.commit_index(),
        10,
        "a snapshot holds only committed entries: the commit index starts there"
    );
    assert_eq!(raft.role(), Role::Follower, "a node restarts as a follower");
    let ready = raft.take_ready();
    assert!(
        ready.committed.is_empty(),
        "the state machine starts from the snapshot: entries up to 10 are not handed out again"
    );
    // Alone, it elects itself and commits its no-op at 13, and with it 11 and 12.
    time_out(&mut raft);
    assert_eq!(
        raft.role(),
        Role::Leader,
        "a group of one elects itself (its last entry is found after the snapshot)"
    );
    let committed: Vec<u64> = raft
        .take_ready()
        .committed
        .iter()
        .map(|e| e.index)
        .collect();
    assert_eq!(
        committed,
        vec![11, 12, 13],
        "entries after the snapshot are handed out, each once: the log's position 0 is entry 11"
    );
}
