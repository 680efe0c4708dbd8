//! Exercise 3.2: the leader's per-follower progress and backoff (`replication::Progress`).

use std::time::Duration;

use chapter3::replication::{Progress, RETRY_MAX, RETRY_MIN};

#[test]
fn ex2_an_acceptance_moves_match_and_next_forward() {
    let mut progress = Progress::new(10);
    assert_eq!(
        (progress.next_index, progress.match_index),
        (11, 0),
        "a new follower is optimistically assumed to hold the leader's log: next is just past it, nothing known to match"
    );
    progress.on_accepted(10);
    assert_eq!(
        (progress.next_index, progress.match_index),
        (11, 10),
        "an acceptance sets match_index to what the follower has, and next_index just past it"
    );
    progress.on_accepted(14);
    assert_eq!(
        (progress.next_index, progress.match_index),
        (15, 14),
        "a later acceptance moves match and next forward again"
    );
}

#[test]
fn ex2_a_late_acceptance_never_moves_match_backwards() {
    let mut progress = Progress::new(0);
    progress.on_accepted(20);
    progress.on_accepted(12); // the answer to an older request, delivered late
    assert_eq!(
        (progress.next_index, progress.match_index),
        (21, 20),
        "match_index only grows: the follower had entry 20 and still has it"
    );
}

#[test]
fn ex2_a_mismatch_backs_off_to_the_hint_but_never_below_what_matches() {
    let mut progress = Progress::new(100);
    progress.on_mismatch(40);
    assert_eq!(progress.next_index, 40, "jump to the follower's hint");
    progress.on_mismatch(45);
    assert_eq!(
        progress.next_index, 39,
        "a hint above where we are still backs off by one"
    );
    progress.on_accepted(30);
    progress.next_index = 35;
    progress.on_mismatch(3);
    assert_eq!(
        progress.next_index, 31,
        "entries up to match_index (30) are known to match: never go back past them"
    );
}

#[test]
fn ex2_retries_back_off_exponentially_up_to_a_cap_and_reset_on_success() {
    let mut progress = Progress::new(0);
    let delays: Vec<Duration> = (0..12).map(|_| progress.on_unreachable()).collect();
    assert_eq!(
        delays[0], RETRY_MIN,
        "the first retry waits RETRY_MIN: {delays:?}"
    );
    assert_eq!(
        delays[1],
        RETRY_MIN * 2,
        "each failure in a row doubles the wait: {delays:?}"
    );
    assert_eq!(
        delays[2],
        RETRY_MIN * 4,
        "each failure in a row doubles the wait: {delays:?}"
    );
    assert!(
        delays.windows(2).all(|w| w[0] <= w[1]),
        "delays never shrink while failures continue: {delays:?}"
    );
    assert_eq!(
        *delays.last().unwrap_or(&Duration::ZERO),
        RETRY_MAX,
        "the doubling stops at the cap: after 12 failures in a row the wait is RETRY_MAX \
         ({RETRY_MAX:?}), not more: {delays:?}"
    );
    for _ in 0..100 {
        assert!(
            progress.on_unreachable() <= RETRY_MAX,
            "no overflow, no wait beyond the cap"
        );
    }
    progress.on_accepted(1);
    assert_eq!(
        progress.failures, 0,
        "an acceptance resets the count of failures in a row"
    );
    assert_eq!(
        progress.on_unreachable(),
        RETRY_MIN,
        "a success starts the backoff over: the next failure waits RETRY_MIN again"
    );
}

#[test]
fn ex2_an_acceptance_clears_a_pending_snapshot() {
    let mut progress = Progress::new(5);
    progress.on_need_snapshot();
    assert!(
        progress.needs_snapshot,
        "a follower that asked for a snapshot is marked as needing one"
    );
    progress.on_accepted(5);
    assert!(
        !progress.needs_snapshot,
        "an acceptance means the snapshot was installed: back to entries"
    );
}

#[test]
fn ex2_the_wait_stays_capped_however_long_the_outage_lasts() {
    // A follower down for a day fails thousands of times in a row: the doubling must
    // neither overflow (`1 << 32` does, on a u32) nor wrap back to short waits.
    let mut progress = Progress::new(0);
    let waits = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        (0..200)
            .map(|_| progress.on_unreachable())
            .collect::<Vec<_>>()
    }))
    .unwrap_or_else(|_| {
        panic!(
            "on_unreachable panicked after many failures in a row: the doubling must \
             saturate at RETRY_MAX instead of overflowing (see checked_shl, saturating_mul)"
        )
    });
    for (failures, wait) in waits.iter().enumerate().skip(20) {
        assert_eq!(
            *wait, RETRY_MAX,
            "after {failures} failures in a row the wait stays at the cap RETRY_MAX \
             ({RETRY_MAX:?}), without overflowing or wrapping back to short waits"
        );
    }
}
