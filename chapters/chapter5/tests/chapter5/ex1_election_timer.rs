//! Exercise 5.1: the election timer, and becoming a candidate.

use chapter5::raft::{HardState, Message, Role};

use crate::common::{log_with_terms, node, time_out, to};

#[test]
fn ex1_a_follower_that_hears_nothing_becomes_a_candidate_of_the_next_term() {
    let mut raft = node(0, 5, 3, None, log_with_terms(&[1, 3]));
    let deadline = raft.election_deadline();
    assert!(
        (150..=300).contains(&deadline),
        "the first timeout is drawn in 150..=300 ms, got {deadline}"
    );
    raft.tick(deadline - 1);
    assert_eq!(
        raft.role(),
        Role::Follower,
        "no election before the timeout"
    );
    assert!(
        raft.take_ready().is_empty(),
        "before its timeout a follower has nothing to persist or send"
    );

    let now = time_out(&mut raft);
    assert_eq!(
        raft.role(),
        Role::Candidate,
        "a follower that hears nothing for its election timeout becomes a candidate"
    );
    assert_eq!(raft.term(), 4, "a candidate starts a new term");
    assert_eq!(raft.voted_for(), Some(0), "it votes for itself");
    assert_eq!(raft.leader(), None, "a candidate knows no leader");
    assert!(
        raft.votes().contains(&0),
        "a candidate counts its own vote: {:?}",
        raft.votes()
    );
    assert!(
        raft.election_deadline() > now,
        "a candidate draws a new timeout, in case this election is split"
    );
    let ready = raft.take_ready();
    assert_eq!(
        ready.hard_state,
        Some(HardState {
            term: 4,
            voted_for: Some(0)
        }),
        "the new term and the vote must be persisted before the requests leave"
    );
    for peer in 1..5 {
        assert_eq!(
            to(&ready, peer),
            vec![Message::RequestVote {
                term: 4,
                last_log_index: 2,
                last_log_term: 3
            }],
            "peer {peer} is asked for its vote, with the candidate's last index and term"
        );
    }
}

#[test]
fn ex1_an_election_that_fails_to_finish_is_started_again_in_a_newer_term() {
    let mut raft = node(2, 3, 0, None, Vec::new());
    time_out(&mut raft);
    raft.take_ready();
    assert_eq!(
        (raft.role(), raft.term()),
        (Role::Candidate, 1),
        "the first timeout makes a candidate of term 1"
    );
    time_out(&mut raft);
    assert_eq!(
        (raft.role(), raft.term()),
        (Role::Candidate, 2),
        "an election that does not finish is started again in the next term"
    );
    let ready = raft.take_ready();
    assert_eq!(
        ready.hard_state.map(|h| h.term),
        Some(2),
        "the new term is persisted before the new election's requests leave"
    );
}

#[test]
fn ex1_timeouts_are_random_so_nodes_rarely_time_out_together() {
    let mut deadlines = std::collections::BTreeSet::new();
    for seed in 0..50 {
        let raft = chapter5::Raft::new(
            0,
            vec![0, 1, 2],
            chapter5::Timing::FAST,
            HardState::default(),
            Vec::new(),
            0,
            seed,
        );
        deadlines.insert(raft.election_deadline());
    }
    assert!(
        deadlines.len() > 20,
        "50 seeds drew only {} distinct timeouts",
        deadlines.len()
    );
}
