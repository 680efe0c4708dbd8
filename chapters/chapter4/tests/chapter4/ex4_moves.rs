//! Exercise 4.4: which arcs of the circle change owner.

use chapter4::ring::{Member, Move, Placement, Ring, key_hash, moved_arcs, token_hash};

use crate::common::{random_keys, ring};

/// Checks the arcs against the rings, key by key: a key is on a moved arc exactly when
/// its owner changed, and the arc names both owners.
fn assert_arcs_match_keys(old: &Ring, new: &Ring) -> f64 {
    let moves = moved_arcs(old, new).expect("both rings use consistent hashing");
    let keys = random_keys(8, 20_000);
    let mut moved = 0;
    for key in &keys {
        let hash = key_hash(key);
        let (from, to) = (
            old.owner(key).expect("an owner").id,
            new.owner(key).expect("an owner").id,
        );
        let on: Vec<_> = moves.iter().filter(|m| m.contains(hash)).collect();
        if from == to {
            assert!(
                on.is_empty(),
                "{key:?} stays on node {from} but lies on {on:?}"
            );
        } else {
            moved += 1;
            assert_eq!(
                on.len(),
                1,
                "{key:?} moves {from} -> {to}: exactly one arc, got {on:?}"
            );
            assert_eq!(
                (on[0].from, on[0].to),
                (from, to),
                "{key:?} moves from node {from} to node {to}: the arc it lies on names its old \
                 and its new owner: {on:?}"
            );
        }
    }
    moved as f64 / keys.len() as f64
}

#[test]
fn ex4_the_moved_arcs_are_exactly_where_keys_change_owner() {
    let consistent = Placement::Consistent { vnodes: 32 };
    assert_arcs_match_keys(&ring(1, consistent, 3), &ring(2, consistent, 4));
    assert_arcs_match_keys(&ring(1, consistent, 5), &ring(2, consistent, 4));
    let grown = ring(1, consistent, 1);
    assert_arcs_match_keys(&grown, &ring(2, consistent, 2));
}

#[test]
fn ex4_arcs_are_merged_and_in_hash_order() {
    let consistent = Placement::Consistent { vnodes: 32 };
    let moves = moved_arcs(&ring(1, consistent, 3), &ring(2, consistent, 4)).expect("arcs");
    assert!(!moves.is_empty(), "a join moves some arcs to the new node");
    assert!(
        moves.iter().all(|m| m.to == 4),
        "a join only moves keys to the new node"
    );
    assert!(
        moves.len() <= 32,
        "the new node's 32 tokens each take over at most one arc: {} arcs",
        moves.len()
    );
    assert!(
        moves.windows(2).all(|w| w[0].end <= w[1].start),
        "arcs in hash order, none overlapping"
    );
    assert!(
        moves
            .windows(2)
            .all(|w| !(w[0].end == w[1].start && w[0].from == w[1].from)),
        "adjacent arcs with the same owners are one arc"
    );
}

#[test]
fn ex4_a_join_moves_about_one_in_n_plus_one_keys_with_consistent_hashing() {
    let consistent = Placement::Consistent { vnodes: 128 };
    for n in [3usize, 5, 9] {
        let moved = assert_arcs_match_keys(&ring(1, consistent, n), &ring(2, consistent, n + 1));
        let ideal = 1.0 / (n + 1) as f64;
        assert!(
            (moved - ideal).abs() < ideal * 0.35,
            "{n} -> {} nodes moved {:.1}% of the keys; consistent hashing should move close \
             to 1/{} = {:.1}%",
            n + 1,
            moved * 100.0,
            n + 1,
            ideal * 100.0
        );
    }
}

#[test]
fn ex4_a_join_moves_most_keys_with_mod_n() {
    let keys = random_keys(9, 20_000);
    for n in [3usize, 5, 9] {
        let (old, new) = (ring(1, Placement::ModN, n), ring(2, Placement::ModN, n + 1));
        assert_eq!(
            moved_arcs(&old, &new),
            None,
            "mod-N has no arcs to speak of"
        );
        let consistent = ring(2, Placement::Consistent { vnodes: 8 }, n + 1);
        assert_eq!(
            (moved_arcs(&old, &consistent), moved_arcs(&consistent, &old)),
            (None, None),
            "nor has a change between mod-N and a ring: both sides need arcs"
        );
        let moved = keys
            .iter()
            .filter(|k| old.owner(k).map(|m| m.id) != new.owner(k).map(|m| m.id))
            .count() as f64
            / keys.len() as f64;
        assert!(
            moved > 0.7,
            "{n} -> {} nodes with mod-N moved only {:.1}% of the keys: a key stays only if \
             hash % {n} == hash % {} (about 1 in {})",
            n + 1,
            moved * 100.0,
            n + 1,
            n + 1
        );
    }
}

#[test]
fn ex4_a_ring_without_members_has_no_arcs() {
    let consistent = Placement::Consistent { vnodes: 8 };
    let (empty, three) = (ring(1, consistent, 0), ring(2, consistent, 3));
    assert_eq!(
        (moved_arcs(&empty, &three), moved_arcs(&three, &empty)),
        (None, None),
        "a ring with no members has no tokens, so no arcs: a node's first ring and a ring \
         whose last member left move keys one by one, not by arc"
    );
}

#[test]
fn ex4_the_arc_across_the_top_of_the_circle_wraps_around() {
    // One token per member; a newcomer whose token lies below every other token takes
    // over the arc that starts at the highest token and crosses the top of the circle.
    let one = Placement::Consistent { vnodes: 1 };
    let old = ring(1, one, 3);
    let lowest = old.tokens()[0].hash;
    let highest = old.tokens()[old.tokens().len() - 1].hash;
    let id = (4..)
        .find(|&id| token_hash(id, 0) < lowest)
        .expect("some id has a token below the others");
    let new = old
        .with_member(Member {
            id,
            url: "http://127.0.0.1:1".into(),
        })
        .expect("a valid ring");
    let old_owner = old.owner_of_hash(lowest).expect("an owner").id;
    assert_eq!(
        moved_arcs(&old, &new),
        Some(vec![Move {
            start: highest,
            end: token_hash(id, 0),
            from: old_owner,
            to: id,
        }]),
        "node {id}'s token is the lowest: the arc it takes starts just after the highest \
         token ({highest:#x}), wraps past the top of the circle, and ends at its token"
    );
}
