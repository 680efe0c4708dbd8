//! Exercise 9.6: retention by count and age, compaction by key.

use chapter9::Retention;

use crate::common::{offsets, partition_with, values};

#[test]
fn ex6_retention_by_count_drops_the_oldest_and_moves_the_start() {
    let mut p = partition_with(&["a", "b", "c", "d", "e"], &[]);
    p.retain(
        &Retention {
            max_records: Some(3),
            ..Retention::default()
        },
        0,
    );
    assert_eq!(
        offsets(&p),
        vec![2, 3, 4],
        "at most 3 records: the oldest two go"
    );
    assert_eq!(p.start, 2, "the log now starts at the first record left");
    p.retain(
        &Retention {
            max_records: Some(0),
            ..Retention::default()
        },
        0,
    );
    assert!(p.records.is_empty(), "at most 0 records: all go");
    assert_eq!(
        (p.start, p.next),
        (5, 5),
        "an empty log starts at its end: offsets 0..5 are gone, and never handed out again"
    );
    p.push(&[("f".into(), "v".into())], 0);
    assert_eq!(offsets(&p), vec![5], "the next record still gets offset 5");
}

#[test]
fn ex6_retention_by_age_keeps_a_record_exactly_max_age_old() {
    let mut p = partition_with(&["a", "b", "c"], &[0, 10, 20]);
    p.retain(
        &Retention {
            max_age: Some(10),
            ..Retention::default()
        },
        30,
    );
    assert_eq!(
        offsets(&p),
        vec![2],
        "at 30 with a 10 ms age limit: the records of 0 and 10 are older than 10 ms, the \
         one of 20 is exactly 10 ms old and stays"
    );
    assert_eq!(p.start, 2, "the log now starts at the first record left");
    let mut q = partition_with(&["a", "b"], &[50, 50]);
    q.retain(&Retention::default(), 1_000_000);
    assert_eq!(offsets(&q), vec![0, 1], "no limit set: nothing goes");
    assert_eq!(q.start, 0, "no limit set: the start stays");
}

#[test]
fn ex6_compaction_keeps_the_last_record_of_each_key() {
    let mut p = partition_with(&["a", "b", "a", "c", "b"], &[]);
    p.compact(5);
    assert_eq!(
        offsets(&p),
        vec![2, 3, 4],
        "keys a b a c b: a's last is 2, c's 3, b's 4; the rest were replaced"
    );
    assert_eq!(
        values(&p.records),
        vec!["v2", "v3", "v4"],
        "each key keeps its last value, and no offset changes"
    );
    assert_eq!(
        (p.start, p.next),
        (0, 5),
        "compaction moves neither the start nor the end"
    );
    assert_eq!(
        values(&p.read(1, 10).records),
        vec!["v2", "v3", "v4"],
        "a read from a removed offset gets the next record left"
    );
}

#[test]
fn ex6_compaction_leaves_the_records_from_upto_on_alone() {
    let mut p = partition_with(&["a", "b", "b", "b"], &[]);
    p.compact(2);
    assert_eq!(
        offsets(&p),
        vec![0, 2, 3],
        "compact(2) on keys a b b b: below 2, a stays (its last) and b's 1 goes (replaced \
         later); 2 and 3 are at or past upto and stay, though 3 replaces 2"
    );
}

#[test]
fn ex6_retention_after_compaction_starts_the_log_at_a_record_left() {
    // What the broker does on every tick of a compacted topic with a limit: compact,
    // then retain. Compaction leaves holes, so the records dropped are not the offsets
    // dropped.
    let mut p = partition_with(&["a", "b", "a", "c", "b"], &[]);
    p.compact(5);
    let one = Retention {
        max_records: Some(1),
        ..Retention::default()
    };
    p.retain(&one, 0);
    assert_eq!(
        offsets(&p),
        vec![4],
        "records 2, 3, 4 are left; at most one: 4"
    );
    assert_eq!(
        p.start, 4,
        "the log starts at the first record left (offset 4), not 2 records after the old \
         start: compaction left holes, so counting what was dropped misses them"
    );
    p.retain(
        &Retention {
            max_records: Some(0),
            ..Retention::default()
        },
        0,
    );
    assert_eq!(
        (p.start, p.next),
        (5, 5),
        "an emptied log starts at its end, however many records were dropped"
    );
}
