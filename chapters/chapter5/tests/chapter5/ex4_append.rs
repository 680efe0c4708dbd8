//! Exercise 5.4: appends with terms: fencing, following, making the log match.

use chapter5::raft::{Entry, Message, Role};

use crate::common::{entry, log_with_terms, node, time_out, to};

fn append(term: u64, prev: (u64, u64), entries: Vec<Entry>, commit: u64) -> Message {
    Message::Append {
        term,
        prev_index: prev.0,
        prev_term: prev.1,
        entries,
        commit,
    }
}

fn reply_to(raft: &mut chapter5::Raft, leader: u64) -> Message {
    let ready = raft.take_ready();
    let mut replies = to(&ready, leader);
    assert_eq!(
        replies.len(),
        1,
        "exactly one answer to an append: {replies:?}"
    );
    replies.remove(0)
}

#[test]
fn ex4_an_append_from_a_stale_term_is_refused_with_the_current_term() {
    let mut raft = node(0, 3, 5, None, log_with_terms(&[1, 2]));
    raft.step(10, 1, append(4, (2, 2), vec![entry(3, 4)], 3));
    assert_eq!(
        reply_to(&mut raft, 1),
        Message::AppendReply {
            term: 5,
            success: false,
            match_index: 0
        },
        "the fence: a deposed leader's append is refused, and it learns term 5"
    );
    assert_eq!(
        raft.last_index(),
        2,
        "nothing from a stale leader is stored"
    );
    assert_eq!(raft.commit_index(), 0, "nor its commit index believed");
    assert_eq!(
        raft.leader(),
        None,
        "a stale leader is not recognised as the leader"
    );
}

#[test]
fn ex4_a_candidate_that_hears_from_the_leader_of_its_term_follows_it() {
    let mut raft = node(0, 3, 1, None, Vec::new());
    time_out(&mut raft); // candidate of term 2
    raft.take_ready();
    let deadline = raft.election_deadline();
    raft.step(deadline - 1, 2, append(2, (0, 0), vec![entry(1, 2)], 0));
    assert_eq!(
        raft.role(),
        Role::Follower,
        "a candidate that hears from the leader of its own term becomes its follower"
    );
    assert_eq!(
        raft.leader(),
        Some(2),
        "a follower knows who leads: the sender of the append"
    );
    assert!(
        raft.election_deadline() >= deadline - 1 + 150,
        "hearing from the leader restarts the election timer"
    );
    assert_eq!(
        reply_to(&mut raft, 2),
        Message::AppendReply {
            term: 2,
            success: true,
            match_index: 1
        },
        "an append that builds on the empty log is accepted up to its last entry"
    );
}

#[test]
fn ex4_a_gap_or_a_different_term_at_prev_is_refused_with_a_hint() {
    let mut raft = node(0, 3, 3, None, log_with_terms(&[1, 1]));
    raft.step(10, 1, append(3, (5, 3), vec![entry(6, 3)], 0));
    assert_eq!(
        reply_to(&mut raft, 1),
        Message::AppendReply {
            term: 3,
            success: false,
            match_index: 2
        },
        "a gap: entries 3 to 5 are missing; retry after 2"
    );
    raft.step(11, 1, append(3, (2, 2), vec![entry(3, 3)], 0));
    assert_eq!(
        reply_to(&mut raft, 1),
        Message::AppendReply {
            term: 3,
            success: false,
            match_index: 1
        },
        "entry 2 has term 1, not 2: at most index 1 can match"
    );
    assert_eq!(raft.last_index(), 2, "a refused append stores nothing");
}

#[test]
fn ex4_a_deposed_leaders_uncommitted_suffix_is_replaced() {
    // Entries 3 and 4 of term 2 were never committed; the leader of term 3 has others.
    // This node has heard of term 3 already (it answered that election's vote request),
    // so the append brings no newer term: adopting one is exercise 5.6's.
    let mut raft = node(0, 3, 3, None, log_with_terms(&[1, 1, 2, 2]));
    raft.step(10, 1, append(3, (2, 1), vec![entry(3, 3)], 3));
    let terms: Vec<u64> = raft.log().iter().map(|e| e.term).collect();
    assert_eq!(terms, [1, 1, 3], "entry 3 replaced, entry 4 gone");
    let ready = raft.take_ready();
    assert_eq!(
        to(&ready, 1),
        vec![Message::AppendReply {
            term: 3,
            success: true,
            match_index: 3
        }],
        "the replacing append is accepted up to its last entry"
    );
    assert_eq!(
        ready.log_from,
        Some(3),
        "the log changed from index 3 on: that is what must be rewritten"
    );
    assert_eq!(
        raft.commit_index(),
        3,
        "the commit index follows the leader's, up to what this append proved matches"
    );
}

#[test]
fn ex4_a_late_shorter_append_does_not_erase_newer_entries() {
    let mut raft = node(0, 3, 2, None, log_with_terms(&[2]));
    raft.step(10, 1, append(2, (1, 2), vec![entry(2, 2), entry(3, 2)], 0));
    raft.take_ready();
    // The earlier append, carrying only entry 2, arrives late.
    raft.step(11, 1, append(2, (1, 2), vec![entry(2, 2)], 0));
    assert_eq!(
        reply_to(&mut raft, 1),
        Message::AppendReply {
            term: 2,
            success: true,
            match_index: 2
        },
        "a late shorter append is still accepted, up to its own last entry"
    );
    assert_eq!(
        raft.last_index(),
        3,
        "entry 3 matches the leader's log: it must not be cut"
    );
}

#[test]
fn ex4_the_commit_index_follows_the_leader_but_not_past_what_matches() {
    let mut raft = node(0, 3, 2, None, log_with_terms(&[1, 1, 1, 1]));
    // The leader has committed 4, but this append only proves entries up to 2 match.
    raft.step(10, 1, append(2, (1, 1), vec![entry(2, 1)], 4));
    assert_eq!(
        raft.commit_index(),
        2,
        "the leader committed 4, but only entries up to 2 are known to match"
    );
    raft.step(11, 1, append(2, (4, 1), vec![], 4));
    assert_eq!(
        raft.commit_index(),
        4,
        "once entries up to 4 are proven to match, the commit index follows the leader's"
    );
    raft.step(12, 1, append(2, (1, 1), vec![], 1));
    assert_eq!(raft.commit_index(), 4, "the commit index never goes back");
}
