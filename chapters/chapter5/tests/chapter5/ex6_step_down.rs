//! Exercise 5.6: stepping down on a higher term.

use chapter5::raft::{HardState, Message, Role};

use crate::common::{Net, node, time_out};

#[test]
fn ex6_a_leader_that_sees_a_higher_term_steps_down_and_forgets_its_vote() {
    let mut net = Net::new(3);
    net.elect(0);
    let term = net.node(0).term();
    net.node(0).take_ready();
    net.node(0).step(
        1000,
        2,
        Message::AppendReply {
            term: term + 3,
            success: false,
            match_index: 0,
        },
    );
    let raft = net.node(0);
    assert_eq!(
        raft.role(),
        Role::Follower,
        "a leader that sees a higher term steps down"
    );
    assert_eq!(
        raft.term(),
        term + 3,
        "a leader that sees a higher term adopts it"
    );
    assert_eq!(raft.voted_for(), None, "no vote yet in the new term");
    assert_eq!(
        raft.leader(),
        None,
        "a deposed leader knows no leader in the new term"
    );
    assert!(
        raft.election_deadline() > 1000,
        "a deposed leader waits a full timeout before calling an election"
    );
    assert!(
        raft.propose(crate::common::put(1)).is_err(),
        "a node that is no longer leader refuses proposals"
    );
    assert_eq!(
        raft.take_ready().hard_state,
        Some(HardState {
            term: term + 3,
            voted_for: None
        }),
        "the new term is persisted"
    );
}

#[test]
fn ex6_a_candidate_that_sees_a_higher_term_gives_up() {
    let mut raft = node(0, 3, 1, None, Vec::new());
    time_out(&mut raft);
    raft.take_ready();
    raft.step(
        400,
        1,
        Message::Vote {
            term: 7,
            granted: false,
        },
    );
    assert_eq!(
        (raft.role(), raft.term()),
        (Role::Follower, 7),
        "a candidate that sees a higher term gives up and adopts it"
    );
    assert!(
        raft.votes().len() <= 1,
        "a refusal is not a vote: a candidate that gives up counts nothing more than its own old vote: {:?}",
        raft.votes()
    );
}

#[test]
fn ex6_a_lower_or_equal_term_changes_nothing() {
    let mut raft = node(0, 3, 4, Some(2), Vec::new());
    raft.step(
        10,
        1,
        Message::Vote {
            term: 4,
            granted: false,
        },
    );
    raft.step(
        11,
        1,
        Message::Vote {
            term: 3,
            granted: true,
        },
    );
    assert_eq!(
        (raft.term(), raft.voted_for()),
        (4, Some(2)),
        "a vote of the same or a lower term changes neither the term nor the vote"
    );
    assert_eq!(
        raft.take_ready().hard_state,
        None,
        "with nothing changed there is nothing to persist"
    );
}
