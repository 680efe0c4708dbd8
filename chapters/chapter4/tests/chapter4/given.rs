//! The given parts of the placement and membership cores that need no exercise, pinned:
//! arcs and names. (The shares and the last change report what exercises 4.2 and 4.5
//! build: their tests are with those exercises'.)

use chapter4::ring::{Move, Placement, arc_fraction};

use crate::common::CONSISTENT;

#[test]
fn chapter_an_arc_holds_its_end_not_its_start_and_may_wrap() {
    let arc = |start, end| Move {
        start,
        end,
        from: 1,
        to: 2,
    };
    let plain = arc(100, 200);
    assert!(!plain.contains(100), "the start belongs to the arc before");
    assert!(
        plain.contains(101) && plain.contains(200),
        "an arc holds its end and everything after its start: (100, 200] holds 101 and 200"
    );
    assert!(
        !plain.contains(201) && !plain.contains(0),
        "nothing past an arc's end is in it: (100, 200] holds neither 201 nor 0"
    );
    let wrapping = arc(u64::MAX - 10, 5);
    assert!(
        wrapping.contains(u64::MAX) && wrapping.contains(0) && wrapping.contains(5),
        "an arc that passes u64::MAX wraps through 0 up to its end"
    );
    assert!(
        !wrapping.contains(6) && !wrapping.contains(u64::MAX - 10),
        "a wrapping arc holds neither its start nor anything past its end"
    );
    assert!(
        arc(7, 7).contains(7) && arc(7, 7).contains(12345),
        "start == end: the whole circle"
    );
    assert!(
        (plain.fraction() - 100.0 / 2f64.powi(64)).abs() < 1e-25,
        "an arc's fraction is its length over the whole circle of 2^64: {}",
        plain.fraction()
    );
    assert_eq!(
        wrapping.fraction(),
        arc_fraction(u64::MAX - 10, 5),
        "a wrapping arc's fraction counts across the wrap"
    );
    assert_eq!(
        arc(7, 7).fraction(),
        1.0,
        "start == end is the whole circle: fraction 1"
    );
}

#[test]
fn chapter_placements_are_named_for_people() {
    assert_eq!(
        Placement::ModN.to_string(),
        "mod-N",
        "placements are shown by name in the shell, /cluster and the benchmark"
    );
    assert_eq!(
        CONSISTENT.to_string(),
        "consistent hashing, 64 vnodes",
        "placements are shown by name, with their vnodes, in the shell, /cluster and the benchmark"
    );
}
