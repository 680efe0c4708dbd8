//! Exercise 5.2: granting votes.
//!
//! Each voter here has already heard of the candidate's term (its hard state holds it,
//! with no vote cast): adopting a newer term when a message brings one is exercise 5.6,
//! tested there, so these tests need only 5.1 and 5.2.

use chapter5::raft::{HardState, Message};

use crate::common::{log_with_terms, node, to};

fn ask(term: u64, last_log_index: u64, last_log_term: u64) -> Message {
    Message::RequestVote {
        term,
        last_log_index,
        last_log_term,
    }
}

/// The vote a node answers with.
fn said(term: u64, granted: bool) -> Vec<Message> {
    vec![Message::Vote { term, granted }]
}

fn answer(raft: &mut chapter5::Raft, candidate: u64) -> (Option<HardState>, Vec<Message>) {
    let ready = raft.take_ready();
    (ready.hard_state, to(&ready, candidate))
}

#[test]
fn ex2_a_vote_is_granted_once_per_term_and_persisted_before_the_answer() {
    let mut raft = node(0, 5, 2, None, log_with_terms(&[1]));
    raft.step(10, 1, ask(2, 1, 1));
    let (hard, replies) = answer(&mut raft, 1);
    assert_eq!(
        replies,
        said(2, true),
        "a candidate with a log as up to date as ours, in our term, gets our one vote of the term"
    );
    assert_eq!(
        hard,
        Some(HardState {
            term: 2,
            voted_for: Some(1)
        }),
        "the vote is persisted: after a crash this node must not vote again in term 2"
    );
    raft.step(11, 2, ask(2, 1, 1));
    let (_, replies) = answer(&mut raft, 2);
    assert_eq!(
        replies,
        said(2, false),
        "a second candidate of the same term is refused"
    );
    raft.step(12, 1, ask(2, 1, 1));
    let (_, replies) = answer(&mut raft, 1);
    assert_eq!(
        replies,
        said(2, true),
        "the same candidate asking again (a lost answer) gets the same yes"
    );
}

#[test]
fn ex2_a_restarted_node_remembers_its_vote() {
    // Voted for 1 in term 2, crashed, restarted from its hard state.
    let mut raft = node(0, 5, 2, Some(1), log_with_terms(&[1]));
    raft.step(10, 2, ask(2, 5, 2));
    let (_, replies) = answer(&mut raft, 2);
    assert_eq!(
        replies,
        said(2, false),
        "a restarted node remembers it voted for node 1 in term 2 and refuses node 2"
    );
}

#[test]
fn ex2_a_candidate_with_a_less_up_to_date_log_is_refused() {
    // Voter's log: terms [1, 2, 2] (last term 2, last index 3).
    let cases = [
        (
            (3, 1),
            false,
            "a lower last term loses, however long the log",
        ),
        (
            (9, 1),
            false,
            "a lower last term loses, however long the log",
        ),
        ((2, 2), false, "same last term, shorter log"),
        ((3, 2), true, "same last term, same length"),
        ((4, 2), true, "same last term, longer log"),
        (
            (1, 3),
            true,
            "a higher last term wins, however short the log",
        ),
    ];
    for ((last_index, last_term), granted, why) in cases {
        let mut raft = node(0, 5, 3, None, log_with_terms(&[1, 2, 2]));
        raft.step(10, 1, ask(3, last_index, last_term));
        let (_, replies) = answer(&mut raft, 1);
        assert_eq!(
            replies,
            said(3, granted),
            "candidate's last entry (index {last_index}, term {last_term}): {why}"
        );
    }
}

#[test]
fn ex2_a_stale_candidate_is_refused_and_told_the_current_term() {
    let mut raft = node(0, 5, 5, None, Vec::new());
    raft.step(10, 1, ask(4, 0, 0));
    let (hard, replies) = answer(&mut raft, 1);
    assert_eq!(
        replies,
        said(5, false),
        "the answer carries term 5, so the candidate learns it is behind"
    );
    assert_eq!(hard, None, "nothing changed, nothing to persist");
}

#[test]
fn ex2_granting_a_vote_restarts_the_election_timer() {
    let mut raft = node(0, 5, 2, None, Vec::new());
    let before = raft.election_deadline();
    raft.step(before - 1, 1, ask(2, 0, 0));
    assert!(
        raft.election_deadline() >= before - 1 + 150,
        "a node that just voted should give the candidate time to win"
    );
}
