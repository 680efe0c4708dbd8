//! Chapter 5's rules, carried into chapter 6 as given code, over exercise 6.1's log:
//! heartbeat cadence, batching, back-off, check quorum, what a `Ready` carries; and
//! chapter 6's own, a big append not sent again while it is unanswered. The
//! student writes none of them, but every log lookup they make goes through 6.1's
//! `entry` and `term_at`, so these pass once 6.1 does.

use std::collections::BTreeSet;

use chapter6::api::Command;
use chapter6::raft::{
    Compaction, MAX_APPEND_BYTES, MAX_BATCH, Message, Persisted, RESEND_BYTES, Raft, Ready, Role,
    Timing,
};

use crate::common::{log_with_terms, node, time_out, to};

/// A follower's answer to an append of `term`.
fn reply(term: u64, success: bool, match_index: u64) -> Message {
    Message::AppendReply {
        term,
        success,
        match_index,
    }
}

/// Node 0 of a group of `n`, elected leader of term 2 by the votes of nodes 1 to `n / 2`
/// (with its own, a majority), its first `Ready` taken; returns the time of the election.
fn leader(n: u64) -> (Raft, u64) {
    let mut raft = node(0, n, 1, None, log_with_terms(&[1]));
    let now = time_out(&mut raft);
    for voter in 1..n / 2 + 1 {
        raft.step(
            now,
            voter,
            Message::Vote {
                term: 2,
                granted: true,
            },
        );
    }
    assert_eq!(raft.role(), Role::Leader, "a majority elects node 0");
    raft.take_ready();
    (raft, now)
}

#[test]
fn ex1_a_leader_ignores_an_answer_to_an_earlier_terms_append() {
    let (mut raft, now) = leader(3);
    let commit = raft.commit_index();
    raft.step(now, 1, reply(1, true, 2));
    assert_eq!(
        raft.progress().get(&1).map(|p| p.match_index),
        Some(0),
        "an answer from term 1 proves nothing about term 2's log"
    );
    assert_eq!(raft.commit_index(), commit, "nor commits anything");
}

#[test]
fn ex1_a_heartbeat_to_an_up_to_date_follower_carries_no_entries() {
    let (mut raft, elected) = leader(3);
    let last = raft.last_index();
    for peer in [1, 2] {
        raft.step(elected, peer, reply(2, true, last));
    }
    raft.take_ready();
    raft.tick(elected + raft.timing().heartbeat_ms);
    let ready = raft.take_ready();
    for peer in [1, 2] {
        let heartbeat = to(&ready, peer);
        assert!(
            matches!(
                heartbeat.as_slice(),
                [Message::Append { prev_index, entries, .. }] if *prev_index == last && entries.is_empty()
            ),
            "node {peer} has everything: {heartbeat:?}"
        );
    }
}

#[test]
fn ex1_a_leader_sends_heartbeats_when_due_not_on_every_tick() {
    let (mut raft, elected) = leader(3);
    let heartbeat = raft.timing().heartbeat_ms;
    raft.tick(elected + heartbeat - 1);
    assert!(
        raft.take_ready().messages.is_empty(),
        "no heartbeat before one is due"
    );
    raft.tick(elected + heartbeat);
    let ready = raft.take_ready();
    for peer in [1, 2] {
        assert!(
            to(&ready, peer)
                .iter()
                .any(|m| matches!(m, Message::Append { .. })),
            "a heartbeat to {peer} once due"
        );
    }
    raft.tick(elected + heartbeat + 1);
    assert!(
        raft.take_ready().messages.is_empty(),
        "the next heartbeat is a whole interval later"
    );
}

#[test]
fn ex1_a_leader_that_hears_from_no_majority_for_an_election_timeout_steps_down() {
    let (mut raft, elected) = leader(3);
    let timeout = raft.timing().election_max_ms;
    let answer = |raft: &mut Raft, at: u64| {
        raft.step(at, 1, reply(2, true, 2));
    };
    // First timeout: a new leader counts every follower as heard. Second: only node 1
    // answers, which with the leader is exactly a majority of three.
    raft.tick(elected + timeout);
    answer(&mut raft, elected + timeout + 10);
    raft.tick(elected + 2 * timeout);
    assert_eq!(
        raft.role(),
        Role::Leader,
        "a leader that heard from exactly a majority (itself and node 1) stays"
    );
    // Third: nobody answers.
    raft.tick(elected + 3 * timeout - 1);
    assert_eq!(
        raft.role(),
        Role::Leader,
        "not before a whole timeout has passed"
    );
    raft.tick(elected + 3 * timeout);
    assert_eq!(
        (raft.role(), raft.leader()),
        (Role::Follower, None),
        "a leader cut off from every follower for a timeout steps down (check quorum)"
    );
    assert_eq!(
        raft.term(),
        2,
        "stepping down alone does not start a new term"
    );
}

#[test]
fn ex1_a_ready_carries_the_entries_to_persist_and_those_to_apply_each_once() {
    let (mut raft, now) = leader(3);
    let (index, _) = raft
        .propose(crate::common::put(7))
        .expect("a leader accepts");
    let ready = raft.take_ready();
    assert_eq!(
        ready.log_from,
        Some(index),
        "the stored log is written from the new entry on: the entries before it are stored already"
    );
    let written: Vec<u64> = ready.entries.iter().map(|e| e.index).collect();
    assert_eq!(written, vec![index], "the new entry, to persist");
    assert!(
        ready.committed.is_empty(),
        "nothing is committed before a follower stores it"
    );
    raft.step(now, 1, reply(2, true, index));
    let applied: Vec<u64> = raft
        .take_ready()
        .committed
        .iter()
        .map(|e| e.index)
        .collect();
    assert_eq!(
        applied,
        (1..=index).collect::<Vec<_>>(),
        "everything up to the commit index, in order, to apply"
    );
    assert!(
        raft.take_ready().committed.is_empty(),
        "each committed entry is handed out once"
    );
}

#[test]
fn ex1_a_refused_append_backs_off_to_just_after_the_followers_hint() {
    // Node 0 wins term 2 with ten entries: it starts every follower after its no-op.
    let mut raft = node(0, 3, 1, None, log_with_terms(&[1; 10]));
    let now = time_out(&mut raft);
    raft.step(
        now,
        1,
        Message::Vote {
            term: 2,
            granted: true,
        },
    );
    assert_eq!(
        raft.role(),
        Role::Leader,
        "its own vote and node 1's are a majority of three"
    );
    raft.take_ready();
    // Node 1 says its log may match up to index 5 only.
    raft.step(now, 1, reply(2, false, 5));
    assert_eq!(
        raft.progress().get(&1).map(|p| p.next_index),
        Some(6),
        "a refusal hinting 5 moves next_index to just after the hint"
    );
    let resent: Vec<u64> = to(&raft.take_ready(), 1)
        .iter()
        .filter_map(|m| match m {
            Message::Append { prev_index, .. } => Some(*prev_index),
            _ => None,
        })
        .collect();
    assert_eq!(resent, vec![5], "resent at once, after index 5");
    // A refusal whose hint is not below next_index is stale: it changes nothing.
    raft.step(now, 1, reply(2, false, 6));
    assert_eq!(
        raft.progress().get(&1).map(|p| p.next_index),
        Some(6),
        "a stale refusal (its hint is not below next_index) leaves next_index at 6"
    );
    assert!(raft.take_ready().messages.is_empty(), "and sends nothing");
    // Node 1 catches up; then a refusal it sent long ago arrives.
    let last = raft.last_index();
    raft.step(now, 1, reply(2, true, last));
    raft.take_ready();
    raft.step(now, 1, reply(2, false, 3));
    assert_eq!(
        raft.progress().get(&1).map(|p| p.next_index),
        Some(last + 1),
        "a late refusal never moves next_index back to or below what the follower has \
         acknowledged ({last})"
    );
}

#[test]
fn ex1_a_ready_is_empty_only_with_nothing_to_persist_or_send() {
    assert!(
        Ready::default().is_empty(),
        "a Ready with nothing to persist or send is empty"
    );
    let (mut raft, now) = leader(3);
    assert!(
        raft.take_ready().is_empty(),
        "nothing happened since the last take"
    );
    raft.propose(Command::Noop).expect("a leader accepts");
    let ready = raft.take_ready();
    assert!(
        ready.log_from.is_some() && !ready.is_empty(),
        "a new entry to persist"
    );
    raft.step(
        now,
        1,
        Message::Vote {
            term: 9,
            granted: false,
        },
    );
    let ready = raft.take_ready();
    assert!(
        ready.hard_state.is_some() && ready.messages.is_empty() && !ready.is_empty(),
        "a new term to persist, nothing to send"
    );
}

#[test]
fn ex1_in_a_group_of_four_a_majority_is_three() {
    let mut raft = node(0, 4, 1, None, log_with_terms(&[1]));
    assert_eq!(raft.quorum(), 3, "a majority of four is three");
    let now = time_out(&mut raft);
    raft.step(
        now,
        1,
        Message::Vote {
            term: 2,
            granted: true,
        },
    );
    assert_eq!(
        raft.role(),
        Role::Candidate,
        "2 of 4 is half, not a majority"
    );
    raft.step(
        now,
        2,
        Message::Vote {
            term: 2,
            granted: true,
        },
    );
    assert_eq!(
        raft.role(),
        Role::Leader,
        "a third vote (its own and two more) is a majority of four"
    );
}

#[test]
fn ex1_a_leader_counts_its_own_copy_toward_a_majority() {
    let (mut raft, now) = leader(3);
    let (index, _) = raft.propose(Command::Noop).expect("a leader accepts");
    raft.step(now, 1, reply(2, true, index));
    assert_eq!(
        raft.commit_index(),
        index,
        "the leader's copy and one follower's are two of three, a majority: the entry \
         of the leader's own term commits"
    );
}

#[test]
fn ex1_an_append_carries_up_to_max_batch_entries_and_max_append_bytes() {
    let (mut raft, now) = leader(3);
    // Small entries: a follower far behind gets MAX_BATCH of them in one append.
    for _ in 0..MAX_BATCH + 10 {
        raft.propose(put_bytes(1024)).expect("a leader accepts");
    }
    raft.take_ready();
    raft.step(now, 1, reply(2, false, 0));
    let sent: Vec<usize> = to(&raft.take_ready(), 1)
        .iter()
        .filter_map(|m| match m {
            Message::Append { entries, .. } => Some(entries.len()),
            _ => None,
        })
        .collect();
    assert_eq!(sent, vec![MAX_BATCH], "one full batch of small entries");

    // Large entries: no more than MAX_APPEND_BYTES past the first.
    let (mut raft, now) = leader(3);
    let big = MAX_APPEND_BYTES / 2 + 1;
    for _ in 0..4 {
        raft.propose(put_bytes(big)).expect("a leader accepts");
    }
    raft.take_ready();
    raft.step(now, 1, reply(2, false, 0));
    let mut appends = 0;
    for message in to(&raft.take_ready(), 1) {
        if let Message::Append { entries, .. } = message {
            appends += 1;
            let past_first: usize = entries
                .iter()
                .skip(1)
                .map(|e| match &e.command {
                    Command::Put { value, .. } => value.len(),
                    _ => 0,
                })
                .sum();
            assert!(
                past_first <= MAX_APPEND_BYTES,
                "{} entries, {past_first} bytes past the first",
                entries.len()
            );
        }
    }
    assert_eq!(appends, 1, "the follower is sent one append");

    // Payloads that add up to exactly MAX_APPEND_BYTES: the limit is inclusive.
    let (mut raft, now) = leader(3);
    let before = raft.last_index();
    for _ in 0..2 {
        // A one-byte key and its value: half the limit each.
        raft.propose(put_bytes(MAX_APPEND_BYTES / 2 - 1))
            .expect("a leader accepts");
    }
    let last = raft.last_index();
    raft.take_ready();
    // Node 1 answers, an election timeout later, that it has everything before them
    // (sooner, a success short of a big unanswered append waits for that one's answer).
    let later = now + raft.timing().election_min_ms;
    raft.step(later, 1, reply(2, true, before));
    let ends: Vec<u64> = to(&raft.take_ready(), 1)
        .iter()
        .filter_map(|m| match m {
            Message::Append { entries, .. } => entries.last().map(|e| e.index),
            _ => None,
        })
        .collect();
    assert_eq!(
        ends,
        vec![last],
        "entries whose payloads add up to exactly MAX_APPEND_BYTES go in one append"
    );
}

#[test]
fn ex1_the_cores_accessors_show_its_state() {
    let mut raft = node(2, 5, 1, None, log_with_terms(&[1]));
    assert_eq!(raft.peers(), &[0, 1, 3, 4], "the others, not itself");
    assert_eq!(
        raft.timing(),
        Timing::FAST,
        "the core keeps the timing it was built with"
    );
    let slow = Raft::new(
        2,
        (0..5).collect(),
        (Timing::SLOW, Compaction::NEVER),
        Persisted::default(),
        0,
        3,
    );
    assert_eq!(
        slow.timing(),
        Timing::SLOW,
        "the core keeps the timing it was built with, not the default one"
    );
    assert_eq!(
        raft.compaction(),
        Compaction::NEVER,
        "the core keeps the compaction settings it was built with"
    );
    assert_eq!(raft.quorum(), 3, "a majority of five is three");
    let now = time_out(&mut raft);
    assert_eq!(raft.votes(), &BTreeSet::from([2]), "a candidate's own vote");
    assert_eq!(
        raft.voted_for(),
        Some(2),
        "a candidate has voted for itself in its new term, and says so"
    );
    for voter in [0, 1] {
        raft.step(
            now,
            voter,
            Message::Vote {
                term: 2,
                granted: true,
            },
        );
    }
    assert_eq!(
        raft.role(),
        Role::Leader,
        "its own vote and two more are a majority of five"
    );
    let next: Vec<(u64, u64, u64)> = raft
        .progress()
        .iter()
        .map(|(&id, p)| (id, p.next_index, p.match_index))
        .collect();
    assert_eq!(
        next,
        vec![(0, 2, 0), (1, 2, 0), (3, 2, 0), (4, 2, 0)],
        "a new leader starts each follower at its no-op (index 2) and knows nothing stored yet"
    );
}

#[test]
fn ex1_a_higher_term_resets_a_deposed_leaders_timer_but_not_a_followers() {
    // A follower with a longer log hears a candidate of a higher term whose log is
    // behind: it adopts the term and refuses the vote, and its election timer runs on,
    // so a candidate that cannot win does not keep the group from electing one that can.
    let mut raft = node(1, 3, 1, None, log_with_terms(&[1, 1]));
    let deadline = raft.election_deadline();
    raft.step(
        deadline - 1,
        2,
        Message::RequestVote {
            term: 5,
            last_log_index: 1,
            last_log_term: 1,
        },
    );
    assert_eq!(
        (raft.term(), raft.voted_for()),
        (5, None),
        "the follower adopts the higher term and refuses a candidate whose log is behind"
    );
    assert_eq!(
        raft.election_deadline(),
        deadline,
        "a higher term alone resets no follower's election timer: only a vote granted or \
         news from a leader does"
    );
    // A leader deposed by a higher term waits a whole timeout from then: its old
    // deadline was its check-quorum time, not an election timeout.
    let (mut raft, _) = leader(3);
    let now = raft.election_deadline();
    raft.step(
        now,
        1,
        Message::AppendReply {
            term: 9,
            success: false,
            match_index: 0,
        },
    );
    assert_eq!(
        raft.role(),
        Role::Follower,
        "a higher term deposes the leader"
    );
    assert!(
        raft.election_deadline() >= now + raft.timing().election_min_ms,
        "a deposed leader starts a fresh election timeout when it steps down (deadline {} at \
         time {now})",
        raft.election_deadline()
    );
}

/// A write of one key whose value is `bytes` long.
fn put_bytes(bytes: usize) -> Command {
    Command::Put {
        key: "k".into(),
        value: "v".repeat(bytes),
        if_version: None,
        request: None,
    }
}

/// The indexes of the entries of each append `ready` sends to `peer`.
fn appended(ready: &Ready, peer: u64) -> Vec<Vec<u64>> {
    to(ready, peer)
        .iter()
        .filter_map(|m| match m {
            Message::Append { entries, .. } => Some(entries.iter().map(|e| e.index).collect()),
            _ => None,
        })
        .collect()
}

#[test]
fn ex1_a_big_unanswered_append_is_not_sent_again_with_each_proposal() {
    let (mut raft, now) = leader(3);
    // The leader's no-op (unacknowledged), then a big entry.
    let noop = raft.last_index();
    raft.propose(put_bytes(RESEND_BYTES + 1))
        .expect("a leader accepts");
    let big = raft.last_index();
    assert_eq!(
        appended(&raft.take_ready(), 1),
        vec![vec![noop, big]],
        "a big entry goes to a follower at once"
    );
    raft.propose(put_bytes(10)).expect("a leader accepts");
    let small = raft.last_index();
    let meanwhile = appended(&raft.take_ready(), 1);
    assert!(
        meanwhile.iter().all(Vec::is_empty),
        "while a follower has not answered an append of more than RESEND_BYTES, a new \
         proposal sends it a heartbeat without entries, not the big entry again: sent {meanwhile:?}"
    );
    raft.step(now, 1, reply(2, true, noop));
    let early = appended(&raft.take_ready(), 1);
    assert!(
        early.iter().all(Vec::is_empty),
        "an answer that acknowledges less than the big append (up to {noop}, an earlier \
         append's) does not send the big entry again: sent {early:?}"
    );
    raft.step(now, 1, reply(2, true, big));
    assert_eq!(
        appended(&raft.take_ready(), 1),
        vec![vec![small]],
        "once the follower acknowledges the big append, the entries after it go at once"
    );
    // Node 2 never answered: after an election timeout, the big append may have been lost.
    raft.tick(now + raft.timing().election_min_ms);
    let again = appended(&raft.take_ready(), 2);
    assert!(
        again.iter().any(|entries| entries.contains(&big)),
        "an append unanswered for an election timeout is sent again (it may have been \
         lost): node 2 was sent {again:?}"
    );
}
