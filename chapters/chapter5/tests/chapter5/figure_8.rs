//! The Raft paper's Figure 8, played message by message through five cores, and an old
//! entry committed under a new leader's first entry. These schedules run whole
//! elections, in which followers adopt each new term: they need exercises 5.1 to 5.6.
//! (The commit rule alone, on one leader: `ex5_commit.rs`.)

use chapter5::raft::{Message, Role};

use crate::common::{Net, put};

/// Figure 8 of the Raft paper (terms shifted down by one), step by step.
#[test]
fn chapter_figure_8_an_old_terms_entry_on_a_majority_is_not_committed_by_counting() {
    let mut net = Net::new(5);
    // (a) Node 0 leads term 1; everyone stores and commits its no-op at index 1.
    net.elect(0);
    // Node 0 appends entry 2 (term 1) and gets it to node 1 only, then crashes.
    net.isolate(0, &[2, 3, 4]);
    net.node(0).propose(put(2)).expect("the leader accepts");
    net.collect(0);
    net.deliver_all();
    net.heal();
    net.crash(0);
    assert_eq!(
        net.terms(1),
        [1, 1],
        "node 1 stored entry 2 of term 1 before node 0 crashed"
    );
    // (b) Node 4 wins term 2 with the votes of 2 and 3, appends its no-op at index 2,
    // and crashes before sending it.
    net.time_out(4);
    net.deliver(|_, _, m| matches!(m, Message::RequestVote { .. } | Message::Vote { .. }));
    assert_eq!(
        net.node(4).role(),
        Role::Leader,
        "node 4 won term 2 with the votes of nodes 2 and 3"
    );
    assert_eq!(
        net.terms(4),
        [1, 2],
        "node 4 appended its own no-op at index 2, in term 2"
    );
    net.drop_queued();
    net.crash(4);
    // (c) Node 0 restarts and wins term 3 (1, 2 and 3 vote); it appends its no-op at
    // index 3 and gets it to node 1. Node 2 receives entry 2 alone, as a leader that
    // sends one entry per message would send it.
    net.restart(0);
    net.isolate(0, &[2]);
    let votes = |_: u64, _: u64, m: &Message| {
        matches!(m, Message::RequestVote { .. } | Message::Vote { .. })
    };
    // A vote rule that never grants node 0 a majority must fail here, not loop.
    for _ in 0..10 {
        if net.node(0).role() == Role::Leader {
            break;
        }
        net.time_out(0);
        net.deliver(votes);
    }
    assert_eq!(
        net.node(0).role(),
        Role::Leader,
        "node 0 did not win an election in ten tries: the vote rule (exercise 5.2) or \
         the count of votes (exercise 5.3)"
    );
    net.deliver(|from, to, _| (from, to) == (0, 1) || (from, to) == (1, 0));
    net.drop_queued();
    assert_eq!(net.node(0).term(), 3, "node 0 leads term 3");
    assert_eq!(
        net.terms(0),
        [1, 1, 3],
        "node 0 appended its no-op of term 3 after entry 2 of term 1"
    );
    assert_eq!(
        net.terms(1),
        [1, 1, 3],
        "node 1 stored node 0's no-op of term 3"
    );
    net.heal();
    let commit = net.node(0).commit_index();
    let entry_2 = net.node(0).log()[1].clone();
    net.queue.push_back((
        0,
        2,
        Message::Append {
            term: 3,
            prev_index: 1,
            prev_term: 1,
            entries: vec![entry_2],
            commit,
        },
    ));
    // Deliver it and node 2's answer, and nothing after (the leader would go on to send
    // entry 3, which would then commit both legitimately).
    net.deliver(|from, to, m| {
        (from, to) == (2, 0)
            || (from, to) == (0, 2) && matches!(m, Message::Append { prev_index: 1, .. })
    });
    assert_eq!(
        net.terms(2),
        [1, 1],
        "node 2 stored entry 2 of term 1: it is now on nodes 0, 1 and 2, a majority"
    );
    // Entry 2 (term 1) is now on nodes 0, 1 and 2: a majority. It must not count.
    assert!(
        net.node(0).commit_index() < 2,
        "entry 2 of term 1 is on a majority, but a leader of term 3 must not commit it by \
         counting copies: only entries of its own term are committed that way (the \
         commit index is {})",
        net.node(0).commit_index()
    );
    // (d) Why: node 0 crashes; node 4 restarts and wins term 4 with the votes of 2 and 3
    // (its last entry, term 2, is newer than their term 1), and replaces entry 2.
    net.crash(0);
    net.drop_queued();
    net.restart(4);
    net.isolate(4, &[1]);
    net.elect(4);
    assert_eq!(
        net.terms(2),
        [1, 2, 4],
        "entry 2 of term 1, which node 0 saw on a majority, is gone from node 2"
    );
}

#[test]
fn chapter_an_entry_of_the_leaders_term_on_a_majority_commits_the_entries_before_it() {
    let mut net = Net::new(3);
    net.elect(0);
    net.isolate(0, &[1, 2]);
    net.node(0).propose(put(2)).expect("the leader accepts");
    net.collect(0);
    net.crash(0);
    net.heal();
    // Node 0 comes back with entry 2 (term 1) and leads term 2+; its no-op commits both.
    net.restart(0);
    net.elect(0);
    assert!(
        net.node(0).term() >= 2,
        "node 0 leads a term after the one of entry 2: {}",
        net.node(0).term()
    );
    assert_eq!(
        net.node(0).commit_index(),
        3,
        "no-op at 3 commits 2 with it"
    );
}
