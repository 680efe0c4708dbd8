//! Exercise 5.5: the leader's commit rule. Each test drives one leader by hand: the
//! votes and the followers' answers are messages the test writes, so nothing here needs
//! a follower to adopt a new term (exercise 5.6). The whole Figure 8 schedule, through
//! five cores, is in `figure_8.rs`.

use chapter5::Raft;
use chapter5::raft::{Message, Role};

use crate::common::{log_with_terms, node, put, time_out};

/// Node 0 of five, holding `log` in term `term`, elected leader of term `term + 1` by
/// the votes of nodes 1 and 2; its no-op is the last entry.
fn leader(term: u64, log: &[u64]) -> Raft {
    let mut raft = node(0, 5, term, None, log_with_terms(log));
    time_out(&mut raft);
    for voter in [1, 2] {
        raft.step(
            1,
            voter,
            Message::Vote {
                term: term + 1,
                granted: true,
            },
        );
    }
    assert_eq!(
        raft.role(),
        Role::Leader,
        "three votes of five elect node 0"
    );
    let _ = raft.take_ready();
    raft
}

/// Follower `from` answers that its log matches the leader's up to `index`.
fn stored(raft: &mut Raft, from: u64, index: u64) {
    let term = raft.term();
    raft.step(
        2,
        from,
        Message::AppendReply {
            term,
            success: true,
            match_index: index,
        },
    );
}

#[test]
fn ex5_a_leader_commits_an_entry_of_its_own_term_once_a_majority_stores_it() {
    // Log [1], leader of term 2: its no-op is entry 2.
    let mut raft = leader(1, &[1]);
    assert_eq!(
        raft.commit_index(),
        0,
        "a new leader's no-op is on one node of five: not committed"
    );
    stored(&mut raft, 1, 2);
    assert_eq!(
        raft.commit_index(),
        0,
        "the leader and node 1 are 2 of 5: not a majority, not committed"
    );
    stored(&mut raft, 2, 2);
    assert_eq!(
        raft.commit_index(),
        2,
        "with node 2, 3 of 5 store entry 2, of the leader's own term: committed, and \
         entry 1 with it"
    );
    let (index, _) = raft.propose(put(1)).expect("the leader accepts");
    stored(&mut raft, 3, index);
    stored(&mut raft, 4, index);
    assert_eq!(
        raft.commit_index(),
        index,
        "any majority counts: nodes 3 and 4 with the leader store entry {index}"
    );
}

#[test]
fn ex5_an_old_terms_entry_on_a_majority_is_not_committed_by_counting() {
    // Log [1, 2]: entry 2 is of term 2. Node 0 leads term 3; its no-op is entry 3.
    let mut raft = leader(2, &[1, 2]);
    stored(&mut raft, 1, 2);
    stored(&mut raft, 2, 2);
    assert!(
        raft.commit_index() < 2,
        "entry 2 (term 2) is on nodes 0, 1 and 2, a majority, but a leader of term 3 must \
         not commit it by counting copies: a node whose last entry is of a newer term than \
         2 could still win an election and overwrite it (Figure 8; book: chapter 5, the \
         commit rule). The commit index is {}",
        raft.commit_index()
    );
    stored(&mut raft, 1, 3);
    stored(&mut raft, 2, 3);
    assert_eq!(
        raft.commit_index(),
        3,
        "entry 3 is of the leader's term and on a majority: committed, and entries 1 and 2 \
         with it (log matching: whoever stores 3 stores what is before it)"
    );
}

#[test]
fn ex5_a_group_of_one_elects_itself_and_commits_alone() {
    let mut raft = node(0, 1, 0, None, Vec::new());
    time_out(&mut raft);
    assert_eq!(
        raft.role(),
        Role::Leader,
        "its own vote is a majority of one"
    );
    let index = raft.propose(put(1)).expect("a leader accepts commands").0;
    assert_eq!(
        raft.commit_index(),
        index,
        "a group of one is its own majority: it commits at once"
    );
}
