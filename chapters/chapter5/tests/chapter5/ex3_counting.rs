//! Exercise 5.3: counting votes, and becoming the leader.

use chapter5::api::Command;
use chapter5::raft::{Message, Role};

use crate::common::{log_with_terms, node, time_out, to};

fn vote(term: u64, granted: bool) -> Message {
    Message::Vote { term, granted }
}

#[test]
fn ex3_a_majority_of_votes_makes_a_leader_that_appends_a_no_op_and_sends_it() {
    let mut raft = node(0, 5, 1, None, log_with_terms(&[1]));
    time_out(&mut raft);
    raft.take_ready();
    assert_eq!(raft.term(), 2, "the timeout made a candidate of term 2");
    raft.step(500, 1, vote(2, true));
    assert_eq!(
        raft.role(),
        Role::Candidate,
        "2 votes of 5 are not a majority"
    );
    raft.step(501, 1, vote(2, true));
    assert_eq!(
        raft.role(),
        Role::Candidate,
        "the same voter twice (a duplicated message) is still 2 votes"
    );
    raft.step(502, 2, vote(2, false));
    assert_eq!(raft.role(), Role::Candidate, "a refusal is not a vote");
    raft.step(503, 3, vote(2, true));
    assert_eq!(raft.role(), Role::Leader, "3 votes of 5 are a majority");
    assert_eq!(
        raft.leader(),
        Some(0),
        "a new leader knows itself as the leader"
    );
    let last = raft.log().last().expect("a new leader appends an entry");
    assert_eq!(
        (last.index, last.term, &last.command),
        (2, 2, &Command::Noop),
        "a new leader appends a no-op of its own term"
    );
    let ready = raft.take_ready();
    for peer in 1..5 {
        assert!(
            to(&ready, peer)
                .iter()
                .any(|m| matches!(m, Message::Append { term: 2, .. })),
            "the new leader announces itself to {peer} at once"
        );
    }
}

#[test]
fn ex3_votes_from_an_earlier_election_do_not_count() {
    let mut raft = node(0, 3, 1, None, Vec::new());
    time_out(&mut raft); // term 2
    time_out(&mut raft); // term 3
    raft.take_ready();
    raft.step(900, 1, vote(2, true));
    assert_eq!(
        raft.role(),
        Role::Candidate,
        "a yes for term 2 says nothing about term 3"
    );
    raft.step(901, 1, vote(3, true));
    assert_eq!(raft.role(), Role::Leader, "2 of 3 with the right term");
}

#[test]
fn ex3_a_leader_accepts_commands_and_a_follower_names_the_leader() {
    let mut raft = node(0, 3, 0, None, Vec::new());
    assert_eq!(
        raft.propose(crate::common::put(1)).map_err(|e| e.leader),
        Err(None),
        "a follower with no leader refuses and knows nobody"
    );
    time_out(&mut raft);
    raft.step(400, 2, vote(1, true));
    let (index, term) = raft
        .propose(crate::common::put(1))
        .expect("the leader accepts a command");
    assert_eq!((index, term), (2, 1), "after its no-op at index 1");
}
