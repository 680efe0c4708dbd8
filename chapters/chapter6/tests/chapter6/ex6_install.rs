//! Exercise 6.6: a follower installs a leader's snapshot: pieces in order only, stale
//! leaders and old snapshots refused, a matching suffix of its log kept.

use chapter6::raft::{Compaction, Entry, Message, Raft};

use crate::common::{entries_from, node, restarted, snapshot, to};

fn piece(
    term: u64,
    last_index: u64,
    last_term: u64,
    offset: u64,
    data: &str,
    done: bool,
) -> Message {
    Message::InstallSnapshot {
        term,
        last_index,
        last_term,
        offset,
        data: data.into(),
        done,
    }
}

/// The follower's one answer to the leader (node 0): `(term, received, installed)`.
fn answer(raft: &mut Raft) -> (u64, u64, bool) {
    let ready = raft.take_ready();
    match to(&ready, 0)[..] {
        [
            Message::SnapshotReply {
                term,
                received,
                installed,
                ..
            },
        ] => (term, received, installed),
        ref other => panic!("expected one snapshot reply to the leader, got {other:?}"),
    }
}

/// A follower of term 2 with entries 1-5 of term 1, 1 of them committed.
fn follower(log: Vec<Entry>) -> Raft {
    node(1, 3, 2, None, log)
}

#[test]
fn ex6_pieces_in_order_install_the_snapshot_and_the_state_machine_restarts_from_it() {
    let mut raft = follower(entries_from(1, &[1, 1, 1]));
    raft.step(1, 0, piece(2, 20, 2, 0, "first half,", false));
    assert_eq!(answer(&mut raft), (2, 11, false), "it holds 11 bytes");
    assert_eq!(
        raft.snapshot().index,
        0,
        "nothing is installed before the last piece"
    );
    raft.step(2, 0, piece(2, 20, 2, 11, " second half", true));
    assert!(answer(&mut raft).2, "installed");
    assert_eq!(raft.snapshot().index, 20);
    assert_eq!(raft.snapshot().term, 2);
    assert_eq!(raft.snapshot().data, "first half, second half");
    assert_eq!(raft.commit_index(), 20, "a leader's snapshot is committed");
    assert_eq!(
        raft.last_index(),
        20,
        "its old log (1-3) is covered and gone"
    );
    assert!(raft.log().is_empty());
    let ready = raft.take_ready();
    assert!(
        ready.snapshot.is_none(),
        "already taken with the answer's Ready"
    );
    assert!(
        ready.committed.is_empty(),
        "entries up to 20 are never handed out one by one"
    );
}

#[test]
fn ex6_the_ready_hands_the_snapshot_to_the_shell_with_the_log_to_keep() {
    let mut raft = follower(entries_from(1, &[1, 1, 2, 2, 2]));
    raft.step(1, 0, piece(2, 3, 2, 0, "state at 3", true));
    let ready = raft.take_ready();
    let installed = ready
        .snapshot
        .as_ref()
        .expect("the shell must persist the snapshot");
    assert_eq!((installed.index, installed.term), (3, 2));
    assert_eq!(ready.log_from, Some(4));
    let kept: Vec<(u64, u64)> = ready.entries.iter().map(|e| (e.index, e.term)).collect();
    assert_eq!(
        kept,
        vec![(4, 2), (5, 2)],
        "entry 3 agrees with the snapshot (term 2): the entries after it are kept"
    );
    assert!(matches!(
        to(&ready, 0)[..],
        [Message::SnapshotReply {
            installed: true,
            ..
        }]
    ));
}

#[test]
fn ex6_a_log_that_disagrees_at_the_boundary_is_dropped_whole() {
    let mut raft = follower(entries_from(1, &[1, 1, 1, 1, 1]));
    raft.step(1, 0, piece(2, 3, 2, 0, "state at 3", true));
    assert!(answer(&mut raft).2);
    assert!(
        raft.log().is_empty(),
        "entry 3 is of term 1 here, 2 in the snapshot: entries 4-5 came from another \
         history and must go"
    );
    assert_eq!(raft.last_index(), 3);
}

#[test]
fn ex6_a_stale_leaders_snapshot_is_refused() {
    let mut raft = follower(entries_from(1, &[1]));
    raft.step(1, 0, piece(1, 20, 1, 0, "old", true));
    let (term, _, installed) = answer(&mut raft);
    assert_eq!(
        term, 2,
        "the answer carries the newer term, so the old leader steps down"
    );
    assert!(!installed);
    assert_eq!(raft.snapshot().index, 0);
    assert_eq!(raft.last_index(), 1);
}

#[test]
fn ex6_pieces_out_of_order_or_repeated_are_not_stitched_in() {
    let mut raft = follower(Vec::new());
    raft.step(1, 0, piece(2, 9, 2, 0, "abc", false));
    assert_eq!(answer(&mut raft), (2, 3, false));
    // A piece from further on: the follower says where it is.
    raft.step(2, 0, piece(2, 9, 2, 6, "ghi", true));
    assert_eq!(answer(&mut raft), (2, 3, false), "it still holds 3 bytes");
    // The first piece again (a duplicate): starts over, same bytes.
    raft.step(3, 0, piece(2, 9, 2, 0, "abc", false));
    assert_eq!(answer(&mut raft), (2, 3, false));
    raft.step(4, 0, piece(2, 9, 2, 3, "def", false));
    // The same piece delivered twice: the second must not be appended again.
    raft.step(5, 0, piece(2, 9, 2, 3, "def", false));
    let _ = raft.take_ready();
    raft.step(6, 0, piece(2, 9, 2, 6, "ghi", true));
    assert!(answer(&mut raft).2);
    assert_eq!(
        raft.snapshot().data,
        "abcdefghi",
        "each byte exactly once, in order"
    );
}

#[test]
fn ex6_a_snapshot_no_newer_than_the_commit_index_changes_nothing() {
    // Snapshot up to 10, entries 11-14 of term 2, committed up to 12.
    let mut raft = restarted(
        1,
        3,
        2,
        Some(snapshot(10, 1, "mine")),
        entries_from(11, &[2, 2, 2, 2]),
        Compaction::NEVER,
    );
    raft.step(
        1,
        0,
        Message::Append {
            term: 2,
            prev_index: 14,
            prev_term: 2,
            entries: Vec::new(),
            commit: 12,
        },
    );
    let _ = raft.take_ready();
    assert_eq!(raft.commit_index(), 12);
    // A late copy of a snapshot up to 12: everything it says, this node knows.
    raft.step(2, 0, piece(2, 12, 2, 0, "old news", true));
    let (_, _, installed) = answer(&mut raft);
    assert!(
        installed,
        "the follower already holds everything up to 12: it says so"
    );
    assert_eq!(raft.snapshot().data, "mine", "its own snapshot stays");
    assert_eq!(raft.last_index(), 14, "and no entry is lost");
    assert!(raft.take_ready().snapshot.is_none());
}
