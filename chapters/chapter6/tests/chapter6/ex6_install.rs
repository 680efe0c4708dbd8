//! Exercise 6.6: a follower installs a leader's snapshot: pieces in order only, stale
//! leaders and old snapshots refused, a matching suffix of its log kept.

use chapter6::raft::{Compaction, Entry, Message, Raft, Role};

use crate::common::{Net, compaction, entries_from, node, restarted, snapshot, time_out, to};

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

/// Node 1 of 3, a follower in term 2 holding `log`, nothing committed yet.
fn follower(log: Vec<Entry>) -> Raft {
    node(1, 3, 2, None, log)
}

#[test]
fn ex6_pieces_in_order_install_the_snapshot_and_the_state_machine_restarts_from_it() {
    let mut raft = follower(entries_from(1, &[1, 1, 1]));
    raft.step(1, 0, piece(2, 20, 2, 0, "first half,", false));
    assert_eq!(answer(&mut raft), (2, 11, false), "it holds 11 bytes");
    assert_eq!(
        raft.incoming_snapshot(),
        Some(&snapshot(20, 2, "first half,")),
        "the first piece is held as the snapshot arriving, up to 20 of term 2, as far as it came"
    );
    assert_eq!(
        raft.snapshot().index,
        0,
        "nothing is installed before the last piece"
    );
    raft.step(2, 0, piece(2, 20, 2, 11, " second half", true));
    assert!(answer(&mut raft).2, "installed");
    assert_eq!(
        raft.snapshot().index,
        20,
        "the last piece installs the snapshot up to 20"
    );
    assert_eq!(
        raft.snapshot().term,
        2,
        "the installed snapshot keeps its boundary's term, from the leader"
    );
    assert_eq!(
        raft.snapshot().data,
        "first half, second half",
        "the installed data is the pieces joined in order"
    );
    assert_eq!(raft.commit_index(), 20, "a leader's snapshot is committed");
    assert_eq!(
        raft.last_index(),
        20,
        "its old log (1-3) is covered and gone"
    );
    assert!(
        raft.log().is_empty(),
        "entries 1-3 are covered by the snapshot: none stays in the log: {:?}",
        raft.log()
    );
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
    assert_eq!(
        (installed.index, installed.term),
        (3, 2),
        "the Ready carries the installed snapshot, up to 3 of term 2"
    );
    assert_eq!(
        ready.log_from,
        Some(4),
        "the stored log is rewritten from just after the snapshot"
    );
    let kept: Vec<(u64, u64)> = ready.entries.iter().map(|e| (e.index, e.term)).collect();
    assert_eq!(
        kept,
        vec![(4, 2), (5, 2)],
        "entry 3 agrees with the snapshot (term 2): the entries after it are kept"
    );
    assert!(
        matches!(
            to(&ready, 0)[..],
            [Message::SnapshotReply {
                installed: true,
                ..
            }]
        ),
        "the last piece is answered \"installed\", so the leader sends entries after it: {:?}",
        to(&ready, 0)
    );
}

#[test]
fn ex6_a_log_that_disagrees_at_the_boundary_is_dropped_whole() {
    let mut raft = follower(entries_from(1, &[1, 1, 1, 1, 1]));
    raft.step(1, 0, piece(2, 3, 2, 0, "state at 3", true));
    assert!(
        answer(&mut raft).2,
        "the last piece installs the snapshot even where the log disagrees with it"
    );
    assert!(
        raft.log().is_empty(),
        "entry 3 is of term 1 here, 2 in the snapshot: entries 4-5 came from another \
         history and must go"
    );
    assert_eq!(
        raft.last_index(),
        3,
        "the log now ends at the snapshot's boundary, 3"
    );
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
    assert!(
        !installed,
        "a snapshot from a stale leader is not installed"
    );
    assert_eq!(
        raft.snapshot().index,
        0,
        "a stale leader's snapshot changes nothing"
    );
    assert_eq!(raft.last_index(), 1, "and no entry is lost");
}

#[test]
fn ex6_pieces_out_of_order_or_repeated_are_not_stitched_in() {
    let mut raft = follower(Vec::new());
    raft.step(1, 0, piece(2, 9, 2, 0, "abc", false));
    assert_eq!(
        answer(&mut raft),
        (2, 3, false),
        "the first piece is held (3 bytes), not installed before the last"
    );
    // A piece from further on: the follower says where it is.
    raft.step(2, 0, piece(2, 9, 2, 6, "ghi", true));
    assert_eq!(answer(&mut raft), (2, 3, false), "it still holds 3 bytes");
    // The first piece again (a duplicate): starts over, same bytes.
    raft.step(3, 0, piece(2, 9, 2, 0, "abc", false));
    assert_eq!(
        answer(&mut raft),
        (2, 3, false),
        "a piece at offset 0 starts over: the same 3 bytes are held"
    );
    raft.step(4, 0, piece(2, 9, 2, 3, "def", false));
    // The same piece delivered twice: the second must not be appended again.
    raft.step(5, 0, piece(2, 9, 2, 3, "def", false));
    let _ = raft.take_ready();
    raft.step(6, 0, piece(2, 9, 2, 6, "ghi", true));
    assert!(
        answer(&mut raft).2,
        "the last piece, at the offset held (6), installs the snapshot"
    );
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
    assert_eq!(
        raft.commit_index(),
        12,
        "the follower commits up to the leader's commit index, 12"
    );
    // A late copy of a snapshot up to 12: everything it says, this node knows.
    raft.step(2, 0, piece(2, 12, 2, 0, "old news", true));
    let (_, _, installed) = answer(&mut raft);
    assert!(
        installed,
        "the follower already holds everything up to 12: it says so"
    );
    assert_eq!(raft.snapshot().data, "mine", "its own snapshot stays");
    assert_eq!(raft.last_index(), 14, "and no entry is lost");
    assert!(
        raft.take_ready().snapshot.is_none(),
        "a snapshot that changes nothing asks nothing to be persisted"
    );
}

#[test]
fn ex6_a_piece_from_the_leader_is_news_from_the_leader() {
    // A follower near its election deadline hears a piece from the leader of its term.
    let mut raft = follower(Vec::new());
    let now = raft.election_deadline() - 1;
    raft.step(now, 0, piece(2, 9, 2, 0, "abc", false));
    assert_eq!(
        raft.leader(),
        Some(0),
        "a piece of a snapshot comes from the leader of the term: the follower knows whom \
         to send clients to"
    );
    assert!(
        raft.election_deadline() >= now + raft.timing().election_min_ms,
        "a piece from the current leader resets the election timer, like an append: \
         otherwise a follower busy receiving a long snapshot starts an election \
         (deadline {} at time {now})",
        raft.election_deadline()
    );
    // A candidate of term 3 hears a piece from the leader that won term 3.
    let mut raft = follower(Vec::new());
    time_out(&mut raft);
    assert_eq!(raft.role(), Role::Candidate, "it timed out");
    let term = raft.term();
    let _ = raft.take_ready();
    raft.step(1, 0, piece(term, 9, 2, 0, "abc", false));
    assert_eq!(
        (raft.role(), raft.leader()),
        (Role::Follower, Some(0)),
        "a candidate that hears from the leader of its own term follows it"
    );
}

#[test]
fn ex6_pieces_of_another_snapshot_are_not_stitched_on() {
    let mut raft = follower(Vec::new());
    raft.step(1, 0, piece(2, 9, 2, 0, "abc", false));
    assert_eq!(
        answer(&mut raft),
        (2, 3, false),
        "the first piece of the snapshot up to 9"
    );
    // The next offset, but of the leader's newer snapshot (up to 12): a different state.
    raft.step(2, 0, piece(2, 12, 2, 3, "XYZ", true));
    let (_, received, installed) = answer(&mut raft);
    assert!(
        !installed && raft.snapshot().index == 0,
        "bytes 3.. of the snapshot up to 12 do not continue bytes 0..3 of the one up to 9: \
         a piece is stitched on only if its (last_index, last_term) is the snapshot's being \
         received (installed {:?})",
        raft.snapshot()
    );
    assert_eq!(
        received, 0,
        "the follower holds nothing of the snapshot up to 12: it asks for it from offset 0"
    );
    // The same index but another term: another history's snapshot.
    let mut raft = follower(Vec::new());
    raft.step(1, 0, piece(2, 9, 2, 0, "abc", false));
    let _ = raft.take_ready();
    raft.step(2, 0, piece(2, 9, 1, 3, "XYZ", true));
    assert!(
        !answer(&mut raft).2 && raft.snapshot().index == 0,
        "a piece of a snapshot up to 9 of term 1 does not continue one of term 2"
    );
}

#[test]
fn ex6_a_follower_back_after_many_writes_receives_a_snapshot_and_catches_up() {
    let mut net = Net::with_compaction(3, compaction(4, 8));
    net.elect(0);
    net.crash(2);
    net.write(0, 20);
    let leader_snapshot = net.node(0).snapshot().index;
    assert!(
        leader_snapshot >= 16,
        "the leader compacted (snapshot at {leader_snapshot})"
    );
    net.restart(2);
    net.delivered.clear();
    net.write(0, 1);
    let pieces: Vec<&Message> = net
        .delivered
        .iter()
        .filter(|(_, to, m)| *to == 2 && matches!(m, Message::InstallSnapshot { .. }))
        .map(|(_, _, m)| m)
        .collect();
    assert!(!pieces.is_empty(), "node 2 was sent the snapshot");
    let oldest_entry_sent = net
        .delivered
        .iter()
        .filter(|(_, to, _)| *to == 2)
        .filter_map(|(_, _, m)| match m {
            Message::Append { entries, .. } => entries.first().map(|e| e.index),
            _ => None,
        })
        .min();
    assert!(
        oldest_entry_sent.is_none_or(|i| i > leader_snapshot),
        "no entry the snapshot covers was sent (oldest sent: {oldest_entry_sent:?})"
    );
    let leader_last = net.node(0).last_index();
    assert_eq!(net.node(2).last_index(), leader_last, "node 2 caught up");
    assert!(
        net.node(2).snapshot().index >= leader_snapshot,
        "node 2 holds the leader's snapshot (node 2's snapshot at {}, the leader's at \
         {leader_snapshot})",
        net.node(2).snapshot().index
    );
    let commit = net.node(0).commit_index();
    assert_eq!(net.applied[2], commit, "and applied everything");
}
