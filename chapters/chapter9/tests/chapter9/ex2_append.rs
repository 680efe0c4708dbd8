//! Exercise 9.2: a producer's batch is appended once, in order, or refused.

use chapter9::{Appended, Partition, PartitionId};

use crate::common::{numbered, offsets, plain};

fn empty() -> Partition {
    Partition::new(PartitionId::new("t", 0))
}

#[test]
fn ex2_batches_get_dense_offsets_from_the_logs_end() {
    let mut p = empty();
    assert_eq!(
        p.append(&numbered("p", 0, 2, &[("a", "1"), ("b", "2")]), 5),
        Appended::Appended { base: 0, count: 2 },
        "a producer's first batch (numbers 0..2) is appended from offset 0"
    );
    assert_eq!(
        p.append(&plain(&[("c", "3")]), 6),
        Appended::Appended { base: 2, count: 1 },
        "a batch without numbers is appended as it is, at the log's end"
    );
    assert_eq!(
        p.append(&numbered("p", 2, 3, &[("d", "4")]), 7),
        Appended::Appended { base: 3, count: 1 },
        "the producer's next batch (2..3) follows at the log's end"
    );
    assert_eq!(
        offsets(&p),
        vec![0, 1, 2, 3],
        "offsets are dense: 0, 1, 2, 3"
    );
    assert_eq!(p.next, 4, "the next record gets offset 4");
    assert_eq!(
        p.expected("p"),
        3,
        "after its batch 2..3 the producer is expected at 3"
    );
    assert_eq!(
        p.records[3].time, 7,
        "a record keeps the time it was appended at"
    );
}

#[test]
fn ex2_a_retried_batch_is_appended_once_and_told_its_first_offset() {
    let mut p = empty();
    p.append(&plain(&[("x", "0")]), 0);
    let batch = numbered("p", 0, 2, &[("a", "1"), ("b", "2")]);
    assert_eq!(
        p.append(&batch, 1),
        Appended::Appended { base: 1, count: 2 },
        "p's first batch (0..2) is new: appended from offset 1"
    );
    p.append(&numbered("q", 0, 1, &[("c", "3")]), 2);
    assert_eq!(
        p.append(&batch, 3),
        Appended::Duplicate { base: 1, count: 2 },
        "the same batch again (its answer was lost) must not be appended twice: it is a \
         duplicate, told the offset its first copy got"
    );
    assert_eq!(
        p.append(&batch, 4),
        Appended::Duplicate { base: 1, count: 2 },
        "a third copy is a duplicate too"
    );
    assert_eq!(offsets(&p), vec![0, 1, 2, 3], "a duplicate appends nothing");
    assert_eq!(p.expected("p"), 2, "a duplicate changes no expectation");
}

#[test]
fn ex2_a_gap_or_an_overlap_is_refused_with_what_is_expected() {
    let mut p = empty();
    assert_eq!(
        p.append(&numbered("p", 1, 2, &[("a", "1")]), 0),
        Appended::OutOfSequence { expected: 0 },
        "a producer never seen starts at 0: a first batch from 1 means batch 0 was lost"
    );
    p.append(
        &numbered("p", 0, 3, &[("a", "1"), ("b", "2"), ("c", "3")]),
        0,
    );
    assert_eq!(
        p.append(&numbered("p", 4, 5, &[("e", "5")]), 0),
        Appended::OutOfSequence { expected: 3 },
        "numbers 4..5 when 3 is expected: a gap (batch 3.. was lost); nothing may be appended"
    );
    assert_eq!(
        p.append(
            &numbered("p", 2, 5, &[("c", "3"), ("d", "4"), ("e", "5")]),
            0
        ),
        Appended::OutOfSequence { expected: 3 },
        "numbers 2..5 when 3 is expected: an overlap, neither new nor the last batch"
    );
    assert_eq!(
        p.append(&numbered("p", 3, 3, &[]), 0),
        Appended::OutOfSequence { expected: 3 },
        "a batch whose end is not past its first covers no number: refused"
    );
    assert_eq!(offsets(&p), vec![0, 1, 2], "refused batches append nothing");
    assert_eq!(p.expected("p"), 3, "refused batches change no expectation");
}

#[test]
fn ex2_an_older_batch_is_stale_and_producers_are_numbered_apart() {
    let mut p = empty();
    p.append(&numbered("p", 0, 1, &[("a", "1")]), 0);
    p.append(&numbered("q", 0, 1, &[("b", "2")]), 0);
    assert_eq!(
        p.append(&numbered("p", 1, 2, &[("c", "3")]), 0),
        Appended::Appended { base: 2, count: 1 },
        "each producer is numbered on its own: q's batch 0 does not move p's"
    );
    assert_eq!(
        p.append(&numbered("p", 0, 1, &[("a", "1")]), 0),
        Appended::Stale,
        "a late copy of p's batch 0..1, older than its last: already in the log, stale"
    );
    assert_eq!(offsets(&p), vec![0, 1, 2], "a stale batch appends nothing");
}

#[test]
fn ex2_a_batch_may_cover_numbers_without_records() {
    let mut p = empty();
    assert_eq!(
        p.append(&numbered("pipe", 0, 5, &[("a", "1")]), 0),
        Appended::Appended { base: 0, count: 1 },
        "a batch's numbers need not match its record count (a pipeline numbers the input \
         it consumed)"
    );
    assert_eq!(
        p.append(&numbered("pipe", 5, 9, &[]), 0),
        Appended::Appended { base: 1, count: 0 },
        "a batch with no records still moves its producer on"
    );
    assert_eq!(
        p.expected("pipe"),
        9,
        "after its batch 5..9 the producer is expected at 9"
    );
    assert_eq!(
        p.append(&numbered("pipe", 5, 9, &[]), 0),
        Appended::Duplicate { base: 1, count: 0 },
        "and its retry is a duplicate"
    );
}
