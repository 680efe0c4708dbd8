//! Exercise 6.5: a leader sends its snapshot to a follower that needs entries the
//! snapshot replaced, in pieces of bounded size, cut between characters.

use chapter6::raft::{Message, Raft, Role};

use crate::common::{Net, compaction, restarted, snapshot, time_out, to};

/// A leader of a group of three whose log begins with a snapshot up to 10 holding `data`,
/// sending pieces of at most `chunk` bytes.
fn leader_with_snapshot(data: &str, chunk: usize) -> Raft {
    let mut raft = restarted(
        0,
        3,
        1,
        Some(snapshot(10, 1, data)),
        Vec::new(),
        compaction(u64::MAX, chunk),
    );
    time_out(&mut raft);
    let term = raft.term();
    raft.step(
        1,
        1,
        Message::Vote {
            term,
            granted: true,
        },
    );
    assert_eq!(raft.role(), Role::Leader);
    let _ = raft.take_ready();
    raft
}

/// Follower 1 says it has nothing that matches: what does the leader send it?
fn refused(raft: &mut Raft) -> Vec<Message> {
    let term = raft.term();
    raft.step(
        2,
        1,
        Message::AppendReply {
            term,
            success: false,
            match_index: 0,
        },
    );
    to(&raft.take_ready(), 1)
}

/// Every piece the leader sends follower 1, acknowledging each, until the last.
fn all_pieces(raft: &mut Raft) -> Vec<(u64, String, bool)> {
    let mut pieces = Vec::new();
    let mut sent = refused(raft);
    for _ in 0..100 {
        let Some(Message::InstallSnapshot {
            offset,
            data,
            done,
            last_index,
            ..
        }) = sent.pop()
        else {
            panic!("expected a piece of the snapshot, got {sent:?}");
        };
        assert_eq!(last_index, 10);
        let received = offset + data.len() as u64;
        pieces.push((offset, data, done));
        if done {
            return pieces;
        }
        let term = raft.term();
        raft.step(
            3,
            1,
            Message::SnapshotReply {
                term,
                last_index: 10,
                received,
                installed: false,
            },
        );
        sent = to(&raft.take_ready(), 1);
    }
    panic!("the snapshot never ended: {pieces:?}");
}

#[test]
fn ex5_a_follower_that_needs_compacted_entries_gets_the_snapshot_not_entries() {
    let mut raft = leader_with_snapshot("the whole state", 64);
    match &refused(&mut raft)[..] {
        [
            Message::InstallSnapshot {
                last_index: 10,
                last_term: 1,
                offset: 0,
                data,
                done: true,
                ..
            },
        ] => assert_eq!(data, "the whole state"),
        other => panic!(
            "entries 1-10 are gone from the leader's log: it must send its snapshot (in one \
             piece here), got {other:?}"
        ),
    }
}

#[test]
fn ex5_the_snapshot_goes_in_pieces_of_at_most_chunk_bytes_that_add_up_to_it() {
    let data = "abcdefghijklmnopqrstuvwxyz0123456789";
    let mut raft = leader_with_snapshot(data, 8);
    let pieces = all_pieces(&mut raft);
    assert_eq!(pieces.len(), 5, "36 bytes in pieces of 8: {pieces:?}");
    let mut expected_offset = 0;
    for (offset, piece, _) in &pieces {
        assert_eq!(
            *offset, expected_offset,
            "pieces follow each other: {pieces:?}"
        );
        assert!(piece.len() <= 8, "a piece of {} bytes", piece.len());
        expected_offset += piece.len() as u64;
    }
    let whole: String = pieces.iter().map(|(_, p, _)| p.as_str()).collect();
    assert_eq!(whole, data);
    assert!(
        pieces.iter().rev().skip(1).all(|(_, _, done)| !done),
        "only the last is done"
    );
}

#[test]
fn ex5_pieces_are_cut_between_characters() {
    // Two-byte characters in pieces of at most 3 bytes, and one four-byte character,
    // longer than a piece: it goes whole.
    let data = "ééé𝄞é";
    let mut raft = leader_with_snapshot(data, 3);
    let pieces = all_pieces(&mut raft);
    let whole: String = pieces.iter().map(|(_, p, _)| p.as_str()).collect();
    assert_eq!(whole, data, "the pieces add up to the snapshot: {pieces:?}");
    assert!(
        pieces.iter().all(|(_, p, _)| !p.is_empty()),
        "no empty piece: {pieces:?}"
    );
}

#[test]
fn ex5_a_follower_back_after_many_writes_receives_a_snapshot_and_catches_up() {
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
    assert!(net.node(2).snapshot().index >= leader_snapshot);
    let commit = net.node(0).commit_index();
    assert_eq!(net.applied[2], commit, "and applied everything");
}
