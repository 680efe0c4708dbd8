//! Exercise 3.1: the follower's append check (`replication::check_append`).

use std::time::Duration;

use chapter3::replication::{AppendDecision, AppendRequest};

use crate::common::{MemLog, append, entry};

/// Your `check_append`, on a thread of its own: a loop that stops making progress (in
/// it, or in a helper it calls) fails the test instead of hanging it.
fn check_append(log: &MemLog, request: &AppendRequest) -> AppendDecision {
    let (log, request) = (log.clone(), request.clone());
    harness::eventually::finishes(Duration::from_secs(10), "check_append", move || {
        chapter3::replication::check_append(&log, &request)
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn ex1_an_append_from_an_older_term_is_refused() {
    let mut log = MemLog::with_terms(&[1, 1]);
    log.term = 3;
    let decision = check_append(&log, &append(2, (2, 1), vec![entry(3, 2)], 0));
    assert_eq!(
        decision,
        AppendDecision::StaleTerm,
        "a leader of term 2 is deposed once this node has seen term 3: its appends must not land"
    );
}

#[test]
fn ex1_new_entries_after_a_matching_entry_are_appended() {
    let log = MemLog::with_terms(&[1, 1]);
    let decision = check_append(&log, &append(1, (2, 1), vec![entry(3, 1), entry(4, 1)], 3));
    assert_eq!(
        decision,
        AppendDecision::Accept {
            truncate_from: None,
            append_from: 0,
            match_index: 4,
            commit: 3
        },
        "entries after a matching prev entry are appended from the first new one, and the commit index follows the leader's: {decision:?}"
    );
}

#[test]
fn ex1_a_gap_is_a_mismatch_that_hints_the_end_of_the_log() {
    let log = MemLog::with_terms(&[1, 1]);
    let decision = check_append(&log, &append(1, (5, 1), vec![entry(6, 1)], 0));
    assert_eq!(
        decision,
        AppendDecision::Mismatch { hint: 3 },
        "entries 3 to 5 are missing: the leader should send from 3"
    );
}

#[test]
fn ex1_a_term_mismatch_hints_the_start_of_the_conflicting_term() {
    // The follower has entries of term 2 at 3..=5 that the leader (term 3) never had.
    let mut log = MemLog::with_terms(&[1, 1, 2, 2, 2]);
    log.term = 3;
    let decision = check_append(&log, &append(3, (5, 3), vec![entry(6, 3)], 0));
    assert_eq!(
        decision,
        AppendDecision::Mismatch { hint: 3 },
        "entry 5 has term 2, not 3: skip the whole run of term 2 (3..=5) in one step"
    );
}

#[test]
fn ex1_a_conflicting_suffix_is_truncated_and_replaced() {
    let mut log = MemLog::with_terms(&[1, 1, 2, 2]);
    log.applied = 2;
    let decision = check_append(&log, &append(3, (2, 1), vec![entry(3, 3), entry(4, 3)], 2));
    assert_eq!(
        decision,
        AppendDecision::Accept {
            truncate_from: Some(3),
            append_from: 0,
            match_index: 4,
            commit: 2
        },
        "entries 3 and 4 of term 2 conflict with the leader's entries of term 3: truncate \
         from the first conflict (3) and append from there"
    );
}

#[test]
fn ex1_a_duplicated_or_late_append_changes_nothing() {
    // The network delivered an old append again: every entry is already there.
    let log = MemLog::with_terms(&[1, 1, 1, 1]);
    let decision = check_append(&log, &append(1, (1, 1), vec![entry(2, 1), entry(3, 1)], 1));
    assert_eq!(
        decision,
        AppendDecision::Accept {
            truncate_from: None,
            append_from: 2,
            match_index: 3,
            commit: 1
        },
        "nothing to append, no truncation of entry 4 (a newer append brought it), and a \
         match only up to what this append proves (prev_index + 2 entries = 3)"
    );
}

#[test]
fn ex1_a_conflict_in_applied_entries_asks_for_a_snapshot() {
    let mut log = MemLog::with_terms(&[1, 1, 2]);
    log.applied = 3;
    log.term = 3;
    let decision = check_append(&log, &append(3, (2, 1), vec![entry(3, 3)], 3));
    assert_eq!(
        decision,
        AppendDecision::NeedSnapshot,
        "entry 3 is applied to the map already: truncating the log cannot undo that"
    );
}

#[test]
fn ex1_a_mismatch_at_an_applied_entry_asks_for_a_snapshot_at_once() {
    // Entry 3 (term 2) is applied here; the leader says entry 3 is of term 3. No entry
    // before it can be truncated either, so backing up would only delay the snapshot.
    let mut log = MemLog::with_terms(&[1, 1, 2]);
    log.applied = 3;
    log.term = 3;
    let decision = check_append(&log, &append(3, (3, 3), vec![entry(4, 3)], 3));
    assert_eq!(
        decision,
        AppendDecision::NeedSnapshot,
        "the conflicting entry is applied to the map: only a snapshot can replace it"
    );
}

#[test]
fn ex1_a_mismatch_hint_never_points_into_the_snapshot() {
    // Entries 1..=2 are in a snapshot of term 1; entries 3 and 4 are of term 1 too.
    let log = MemLog {
        term: 2,
        snapshot_index: 2,
        snapshot_term: 1,
        entries: vec![entry(3, 1), entry(4, 1)],
        applied: 2,
    };
    let decision = check_append(&log, &append(2, (4, 2), vec![entry(5, 2)], 2));
    assert_eq!(
        decision,
        AppendDecision::Mismatch { hint: 3 },
        "the run of term 1 starts inside the snapshot, but entries there are gone: \
         the first entry the follower still has is 3"
    );
}

#[test]
fn ex1_the_commit_index_never_passes_what_is_known_to_match() {
    let log = MemLog::with_terms(&[1]);
    let decision = check_append(&log, &append(1, (1, 1), vec![entry(2, 1)], 10));
    assert!(
        matches!(decision, AppendDecision::Accept { commit: 2, .. }),
        "the leader committed 10, but this follower only knows its log matches up to 2: {decision:?}"
    );
}

#[test]
fn ex1_an_append_before_the_snapshot_is_sent_back_to_after_it() {
    let log = MemLog {
        term: 1,
        snapshot_index: 10,
        snapshot_term: 1,
        applied: 10,
        ..MemLog::default()
    };
    let decision = check_append(&log, &append(1, (4, 1), vec![entry(5, 1)], 5));
    assert_eq!(
        decision,
        AppendDecision::Mismatch { hint: 11 },
        "an append that builds on an entry inside the snapshot is sent back to just past the snapshot (11)"
    );
}

#[test]
fn ex1_the_first_append_to_an_empty_log_builds_on_index_0() {
    let log = MemLog {
        term: 1,
        ..MemLog::default()
    };
    let decision = check_append(&log, &append(1, (0, 0), vec![entry(1, 1)], 0));
    assert_eq!(
        decision,
        AppendDecision::Accept {
            truncate_from: None,
            append_from: 0,
            match_index: 1,
            commit: 0
        },
        "every log matches at index 0 (term 0): the first append to an empty log is accepted"
    );
}

#[test]
fn ex1_an_append_right_after_the_snapshot_builds_on_its_last_entry() {
    // Entries 1..=10 are in a snapshot whose last entry has term 1: its term is known,
    // so an append that builds on entry 10 can be checked like any other.
    let log = MemLog {
        term: 1,
        snapshot_index: 10,
        snapshot_term: 1,
        applied: 10,
        ..MemLog::default()
    };
    let decision = check_append(&log, &append(1, (10, 1), vec![entry(11, 1)], 10));
    assert_eq!(
        decision,
        AppendDecision::Accept {
            truncate_from: None,
            append_from: 0,
            match_index: 11,
            commit: 10
        },
        "prev_index == snapshot_index is not before the snapshot: the snapshot's last entry \
         keeps its term, and the append after it is accepted"
    );
}

#[test]
fn ex1_a_heartbeat_proves_the_log_only_up_to_prev_index() {
    // Entries 3 and 4 (term 2) came from a deposed leader and were never committed; the
    // leader of term 3 has not sent its own entries 3 and 4 yet.
    let mut log = MemLog::with_terms(&[1, 1, 2, 2]);
    log.term = 3;
    let decision = check_append(&log, &append(3, (2, 1), vec![], 4));
    assert_eq!(
        decision,
        AppendDecision::Accept {
            truncate_from: None,
            append_from: 0,
            match_index: 2,
            commit: 2
        },
        "a follower never reports a match, nor moves its commit index, past what the append \
         proved matches (prev_index + the entries sent: 2): entries 3 and 4 of term 2 may \
         yet be replaced"
    );
}
