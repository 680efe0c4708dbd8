//! The given parts of the core that need no exercise, pinned: timing checks and
//! membership. (The given leader's rules run on a leader, which exercises 5.1 and 5.3
//! make: they are in `leader.rs`.)

use chapter5::raft::{Message, Timing};

use crate::common::{log_with_terms, node};

#[test]
fn chapter_timings_are_checked_before_a_node_uses_them() {
    assert_eq!(
        Timing::FAST.validate(),
        Ok(()),
        "Timing::FAST is a valid timing"
    );
    assert_eq!(
        Timing::SLOW.validate(),
        Ok(()),
        "Timing::SLOW is a valid timing"
    );
    let timing = |election_min_ms, election_max_ms, heartbeat_ms| Timing {
        election_min_ms,
        election_max_ms,
        heartbeat_ms,
    };
    assert_eq!(
        timing(150, 150, 50).validate(),
        Ok(()),
        "a range of one value is a range"
    );
    assert_eq!(
        timing(150, 300, 149).validate(),
        Ok(()),
        "just under the minimum"
    );
    for (bad, why) in [
        (timing(150, 300, 0), "no heartbeats"),
        (timing(0, 300, 50), "a zero timeout"),
        (timing(300, 150, 50), "an empty range"),
        (
            timing(150, 300, 150),
            "heartbeats as slow as the shortest timeout",
        ),
    ] {
        assert!(bad.validate().is_err(), "{why} must be refused: {bad:?}");
    }
}

#[test]
fn chapter_a_message_from_outside_the_group_changes_nothing() {
    let mut raft = node(0, 3, 1, None, log_with_terms(&[1]));
    for stranger in [0, 7] {
        raft.step(
            10,
            stranger,
            Message::RequestVote {
                term: 5,
                last_log_index: 9,
                last_log_term: 4,
            },
        );
    }
    assert_eq!(
        (raft.term(), raft.voted_for()),
        (1, None),
        "neither a stranger nor a message claiming to be from this node moves the term"
    );
    assert!(
        raft.take_ready().is_empty(),
        "a message from outside the group persists and sends nothing"
    );
}
