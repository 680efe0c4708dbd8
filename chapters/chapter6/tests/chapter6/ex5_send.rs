//! Exercise 6.5: a leader sends its snapshot to a follower that needs entries the
//! snapshot replaced, in pieces of bounded size, cut between characters.

use std::time::Duration;

use chapter6::raft::{Message, Raft, Role};

use crate::common::{compaction, restarted, snapshot, time_out, to};

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
    assert_eq!(
        raft.role(),
        Role::Leader,
        "its own vote and node 1's are a majority of three"
    );
    let _ = raft.take_ready();
    raft
}

/// Runs `work`, failing if it does not finish: a loop in `send_snapshot` that never
/// reaches a character boundary would otherwise hang the test.
fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    harness::eventually::finishes(
        Duration::from_secs(10),
        "cutting the snapshot into pieces (exercise 6.5's send_snapshot)",
        work,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Follower 1 says it has nothing that matches: what does the leader send it?
fn refused(raft: &mut Raft) -> Vec<Message> {
    refused_after(raft, 0)
}

/// Follower 1 refuses an append, hinting that its log may match up to `hint`: the
/// leader backs up to `hint + 1` (given code). What does it send then?
fn refused_after(raft: &mut Raft, hint: u64) -> Vec<Message> {
    let term = raft.term();
    raft.step(
        2,
        1,
        Message::AppendReply {
            term,
            success: false,
            match_index: hint,
        },
    );
    to(&raft.take_ready(), 1)
}

/// Follower 1 answers a piece of the snapshot up to 10: it holds `received` bytes of it.
fn holds_bytes(raft: &mut Raft, received: u64) -> Vec<Message> {
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
        assert_eq!(
            last_index, 10,
            "every piece names the snapshot it belongs to, the one up to 10"
        );
        let received = offset + data.len() as u64;
        pieces.push((offset, data, done));
        if done {
            return pieces;
        }
        sent = holds_bytes(raft, received);
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
        ] => assert_eq!(
            data, "the whole state",
            "a snapshot smaller than a piece goes whole, in one piece"
        ),
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
    assert_eq!(
        whole, data,
        "the pieces add up to the snapshot, each byte once, in order: {pieces:?}"
    );
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
    let pieces = bounded(|| all_pieces(&mut leader_with_snapshot(data, 3)));
    let whole: String = pieces.iter().map(|(_, p, _)| p.as_str()).collect();
    assert_eq!(whole, data, "the pieces add up to the snapshot: {pieces:?}");
    assert!(
        pieces.iter().all(|(_, p, _)| !p.is_empty()),
        "no empty piece: {pieces:?}"
    );
    assert!(
        pieces
            .iter()
            .all(|(_, p, _)| p.len() <= 3 || p.chars().count() == 1),
        "a piece ends at the last character boundary within chunk_bytes (3), never past \
         it, unless one character alone is longer: {pieces:?}"
    );
}

#[test]
fn ex5_an_offset_inside_a_character_is_sent_from_that_characters_start() {
    // A peer's answer is input like any other: byte 3 is inside the second 'é'.
    let sent = bounded(|| {
        let mut raft = leader_with_snapshot("ééé", 64);
        refused(&mut raft);
        holds_bytes(&mut raft, 3)
    });
    assert!(
        matches!(
            &sent[..],
            [Message::InstallSnapshot { offset: 2, data, done: true, .. }] if data == "éé"
        ),
        "a follower that says it holds 3 bytes of \"ééé\" is sent the rest from the start \
         of the character byte 3 is in (offset 2), never from inside it or past it; got \
         {sent:?}"
    );
}

#[test]
fn ex5_a_follower_holding_every_byte_gets_an_empty_last_piece() {
    let data = "the whole state";
    let sent = bounded(|| {
        let mut raft = leader_with_snapshot(data, 4);
        refused(&mut raft);
        holds_bytes(&mut raft, data.len() as u64)
    });
    assert!(
        matches!(
            &sent[..],
            [Message::InstallSnapshot { offset, data, done: true, .. }]
                if *offset == 15 && data.is_empty()
        ),
        "a follower that holds all 15 bytes but has not installed them is sent an empty \
         piece at offset 15 marked done, so it installs; got {sent:?}"
    );
}

#[test]
fn ex5_an_answer_to_an_earlier_terms_snapshot_changes_nothing() {
    let mut raft = leader_with_snapshot("the whole state", 64);
    refused(&mut raft);
    let before = raft.progress().get(&1).copied();
    let term = raft.term();
    raft.step(
        3,
        1,
        Message::SnapshotReply {
            term: term - 1,
            last_index: 10,
            received: 15,
            installed: true,
        },
    );
    assert_eq!(
        raft.progress().get(&1).copied(),
        before,
        "an answer from term {} proves nothing about term {term}'s snapshot",
        term - 1
    );
    assert!(
        to(&raft.take_ready(), 1).is_empty(),
        "and nothing is sent for it"
    );
}

#[test]
fn ex5_a_follower_whose_next_entry_is_the_boundary_gets_the_snapshot() {
    // The follower needs entry 10 next: the snapshot's own entry, gone from the log.
    let mut raft = leader_with_snapshot("the whole state", 64);
    let sent = refused_after(&mut raft, 9);
    assert!(
        matches!(
            sent[..],
            [Message::InstallSnapshot {
                last_index: 10,
                offset: 0,
                ..
            }]
        ),
        "entry 10 is the snapshot's boundary, replaced like every entry below it: a follower \
         whose next entry is 10 must be sent the snapshot, got {sent:?}"
    );
}

#[test]
fn ex5_a_follower_whose_next_entry_follows_the_snapshot_gets_entries() {
    // The follower needs entry 11 next: the first entry still in the leader's log.
    let mut raft = leader_with_snapshot("the whole state", 64);
    let sent = refused_after(&mut raft, 10);
    match &sent[..] {
        [
            Message::Append {
                prev_index: 10,
                prev_term: 1,
                entries,
                ..
            },
        ] => assert_eq!(
            entries.first().map(|e| e.index),
            Some(11),
            "the append starts at the first entry after the snapshot"
        ),
        other => panic!(
            "entry 11 is still in the leader's log: a follower that needs it gets entries \
             (matched at the snapshot's boundary, 10), not the snapshot again; got {other:?}"
        ),
    }
}
