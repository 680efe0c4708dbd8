//! Exercise 6.3: compacting the log under a snapshot. The entries it covers go, the
//! boundary keeps its term, and the `Ready` tells the shell what to persist.

use chapter6::raft::{Raft, Role};

use crate::common::{compaction, put, restarted, time_out};

/// A group of one, leading, with entries 1 (its no-op) to `n`, all applied.
fn alone_with(n: u64) -> Raft {
    let mut raft = restarted(0, 1, 0, None, Vec::new(), compaction(u64::MAX, 64));
    time_out(&mut raft);
    assert_eq!(raft.role(), Role::Leader, "a group of one elects itself");
    for k in 1..n {
        raft.propose(put(k)).expect("the leader accepts");
    }
    let ready = raft.take_ready();
    assert_eq!(
        ready.committed.len() as u64,
        n,
        "alone, the leader commits each entry as it appends it: all {n} are handed out"
    );
    raft
}

#[test]
fn ex3_compacting_drops_the_covered_entries_and_keeps_the_boundary_term() {
    let mut raft = alone_with(8);
    let term = raft.term();
    assert!(
        raft.compact(6, "state at 6".into()),
        "6 is applied and past the snapshot: compacting there must succeed (read entry 6's term \
         with term_at before dropping the entry: afterwards nobody knows it)"
    );
    assert_eq!(
        raft.snapshot().index,
        6,
        "the snapshot now stands for every entry up to 6"
    );
    assert_eq!(
        raft.snapshot().term,
        term,
        "the snapshot keeps the term of entry 6"
    );
    assert_eq!(
        raft.snapshot().data,
        "state at 6",
        "the snapshot keeps the data the shell took at 6"
    );
    let kept: Vec<u64> = raft.log().iter().map(|e| e.index).collect();
    assert_eq!(kept, vec![7, 8], "entries 1-6 are gone from memory");
    assert_eq!(
        raft.last_index(),
        8,
        "indexes do not move: the last entry is still 8"
    );
    assert_eq!(
        raft.term_at(6),
        Some(term),
        "the boundary answers with the snapshot's term: log matching at prev_index 6 needs it"
    );
    let ready = raft.take_ready();
    let persisted = ready
        .snapshot
        .as_ref()
        .expect("the Ready carries the new snapshot for the shell to persist");
    assert_eq!(
        (persisted.index, persisted.term),
        (6, term),
        "the shell persists the snapshot just taken: index 6 and its entry's term"
    );
    assert_eq!(
        ready.log_from,
        Some(7),
        "the stored log is rewritten from just after it"
    );
    let rewritten: Vec<u64> = ready.entries.iter().map(|e| e.index).collect();
    assert_eq!(rewritten, vec![7, 8], "with every entry after the snapshot");
}

#[test]
fn ex3_compacting_everything_applied_leaves_an_empty_log_that_still_works() {
    let mut raft = alone_with(5);
    assert!(
        raft.compact(5, "all".into()),
        "everything up to 5 is applied: the whole log can be snapshotted (read entry 5's term \
         before dropping it)"
    );
    assert!(
        raft.log().is_empty(),
        "a snapshot at the last index leaves no entry in memory: {:?}",
        raft.log()
    );
    assert_eq!(
        (raft.last_index(), raft.last_term()),
        (5, raft.term()),
        "with no entry after it, the last index and term are the snapshot's"
    );
    // The leader goes on appending after the snapshot.
    let (index, _) = raft.propose(put(9)).expect("the leader accepts");
    assert_eq!(
        index, 6,
        "the next entry is numbered on from the snapshot: 6"
    );
    let ready = raft.take_ready();
    assert_eq!(
        ready.committed.iter().map(|e| e.index).collect::<Vec<_>>(),
        vec![6],
        "alone, the new entry is committed at once, and only it is handed out: 1-5 already were"
    );
}

#[test]
fn ex3_compact_refuses_what_is_not_applied_or_already_covered() {
    let mut raft = alone_with(5);
    raft.propose(put(99)).expect("the leader accepts"); // entry 6, not handed out yet
    assert!(
        !raft.compact(6, "x".into()),
        "entry 6 was not handed to the state machine: a snapshot of it cannot exist"
    );
    assert!(
        raft.compact(4, "at 4".into()),
        "entry 4 is applied and past the snapshot: compacting there must succeed (read its term \
         with term_at(4) before dropping the entry: once it is gone, nobody knows it)"
    );
    let _ = raft.take_ready();
    assert!(
        !raft.compact(4, "again".into()),
        "the same index twice changes nothing"
    );
    assert!(
        !raft.compact(2, "older".into()),
        "an older snapshot changes nothing"
    );
    assert_eq!(
        raft.snapshot().index,
        4,
        "a refused compaction leaves the snapshot at 4"
    );
    assert_eq!(
        raft.snapshot().data,
        "at 4",
        "a refused compaction leaves the snapshot's data as it was"
    );
    assert!(
        raft.take_ready().snapshot.is_none(),
        "and asks nothing to be persisted"
    );
}
