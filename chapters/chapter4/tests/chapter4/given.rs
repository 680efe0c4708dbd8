//! The given parts of the placement and membership cores, pinned: what the shell,
//! `/cluster` and the benchmark report (shares, arcs, names, the last change).

use chapter4::membership::{Change, Membership};
use chapter4::ring::{Move, Placement, arc_fraction};

use crate::common::{CONSISTENT, ring};

#[test]
fn chapter_every_members_share_adds_up_to_the_whole_circle() {
    for (placement, n) in [(CONSISTENT, 1), (CONSISTENT, 5), (Placement::ModN, 4)] {
        let shares = ring(1, placement, n).shares();
        let ids: Vec<u64> = shares.iter().map(|&(id, _)| id).collect();
        assert_eq!(ids, (1..=n as u64).collect::<Vec<_>>(), "in id order");
        let total: f64 = shares.iter().map(|&(_, s)| s).sum();
        assert!(
            (total - 1.0).abs() < 1e-9,
            "{placement}: the shares sum to {total}"
        );
        assert!(
            shares.iter().all(|&(_, s)| s > 0.0),
            "{placement}: everyone owns some"
        );
    }
    let even = ring(1, Placement::ModN, 4).shares();
    assert!(
        even.iter().all(|&(_, s)| (s - 0.25).abs() < 1e-12),
        "mod-N: 1/N each: {even:?}"
    );
}

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

#[test]
fn chapter_a_node_remembers_its_last_change_and_whether_it_is_a_member() {
    let join = Change {
        from: ring(1, CONSISTENT, 3),
        to: ring(2, CONSISTENT, 4),
    };
    let mut newcomer = Membership::new(4, CONSISTENT);
    assert_eq!(newcomer.last_change(), None, "no change yet");
    assert!(!newcomer.is_member(), "a node outside any ring");
    newcomer
        .install(&join)
        .expect("a fresh node accepts any change");
    assert_eq!(
        newcomer.last_change(),
        Some(join.clone()),
        "a node remembers the last change it installed"
    );
    assert!(newcomer.is_member(), "a node in the new ring is a member");
    let leave = Change {
        from: join.to.clone(),
        to: join.to.without_member(4).expect("a valid ring"),
    };
    for from in newcomer.pending() {
        newcomer.pulled(from);
    }
    newcomer.install(&leave).expect("the next change");
    assert!(!newcomer.is_member(), "after leaving, not a member");
}
