//! Exercise 3.3: the commit index per acknowledgement mode (`replication::commit_index`).
//! What each mode does on real nodes when one is down needs shipping too (exercise 3.4):
//! those tests are in `chapter.rs`.

use chapter3::replication::{AckMode, commit_index};

#[test]
fn ex3_async_commits_what_the_leader_has_durably() {
    assert_eq!(
        commit_index(AckMode::Async, 9, &[0, 0]),
        9,
        "async commits what the leader has durably, whatever the followers have"
    );
    assert_eq!(
        commit_index(AckMode::Async, 9, &[12, 3, 0, 0]),
        9,
        "async ignores the followers, ahead or behind"
    );
}

#[test]
fn ex3_quorum_commits_what_a_majority_has() {
    // Three nodes: the leader and one follower make a majority.
    assert_eq!(
        commit_index(AckMode::Quorum, 9, &[7, 0]),
        7,
        "of three nodes, the leader and follower at 7 are a majority, so 7 is committed"
    );
    assert_eq!(
        commit_index(AckMode::Quorum, 9, &[0, 8]),
        8,
        "of three nodes, the leader (9) and the follower at 8 are a majority, so 8 is committed"
    );
    assert_eq!(
        commit_index(AckMode::Quorum, 5, &[9, 9]),
        9,
        "the leader need not be in the majority"
    );
    // Five nodes: three of them.
    assert_eq!(
        commit_index(AckMode::Quorum, 10, &[10, 4, 6, 0]),
        6,
        "of five nodes, three (the leader and the followers at 10 and 6) hold index 6, so 6 is committed"
    );
    assert_eq!(
        commit_index(AckMode::Quorum, 10, &[0, 0, 0, 10]),
        0,
        "two of five is no majority"
    );
    // Four nodes: three of them (a majority of 4 is 3, not 2).
    assert_eq!(
        commit_index(AckMode::Quorum, 10, &[10, 2, 1]),
        2,
        "of four nodes, three (the leader and the followers at 10 and 2) hold index 2: a majority of 4 is 3"
    );
    // Alone: the leader is the majority.
    assert_eq!(
        commit_index(AckMode::Quorum, 4, &[]),
        4,
        "a leader alone is its own majority"
    );
}

#[test]
fn ex3_all_commits_what_every_node_has() {
    assert_eq!(
        commit_index(AckMode::All, 9, &[7, 8]),
        7,
        "all commits only what every node has: the slowest follower is at 7"
    );
    assert_eq!(
        commit_index(AckMode::All, 6, &[7, 8]),
        6,
        "all commits only what every node has: the leader itself is at 6"
    );
    assert_eq!(
        commit_index(AckMode::All, 9, &[9, 9, 9, 0]),
        0,
        "all commits nothing past what the slowest node has, even one that has nothing"
    );
    assert_eq!(
        commit_index(AckMode::All, 4, &[]),
        4,
        "a leader alone is every node: all commits what its own log has durably, no more"
    );
}
