//! Exercise 7.2: the rebalancing rule: even, minimal, deterministic.

use std::collections::{BTreeMap, BTreeSet};

use chapter7::placement::rebalance;
use chapter7::{GroupId, NO_GROUP};

fn set(ids: &[GroupId]) -> BTreeSet<GroupId> {
    ids.iter().copied().collect()
}

fn counts(owners: &[GroupId], groups: &BTreeSet<GroupId>) -> BTreeMap<GroupId, usize> {
    let mut counts: BTreeMap<GroupId, usize> = groups.iter().map(|&g| (g, 0)).collect();
    for o in owners {
        *counts.entry(*o).or_default() += 1;
    }
    counts
}

/// Asserts the result is even and uses only `groups`.
fn assert_even(owners: &[GroupId], groups: &BTreeSet<GroupId>) {
    let counts = counts(owners, groups);
    assert!(
        owners.iter().all(|o| groups.contains(o)),
        "every shard must go to a group of {groups:?}: {owners:?}"
    );
    let (min, max) = (counts.values().min(), counts.values().max());
    assert!(
        max.zip(min).is_some_and(|(max, min)| max - min <= 1),
        "no group may hold two shards more than another: {counts:?} from {owners:?}"
    );
}

/// The fewest shards that must move from `before` to reach an even spread over `groups`.
fn fewest_moves(before: &[GroupId], groups: &BTreeSet<GroupId>) -> usize {
    let n = before.len();
    let (share, extra) = (n / groups.len(), n % groups.len());
    let mut held: Vec<usize> = groups
        .iter()
        .map(|g| before.iter().filter(|o| *o == g).count())
        .collect();
    held.sort_unstable_by(|a, b| b.cmp(a));
    let orphans = before.iter().filter(|o| !groups.contains(o)).count();
    let excess: usize = held
        .iter()
        .enumerate()
        .map(|(i, &h)| h.saturating_sub(share + usize::from(i < extra)))
        .sum();
    orphans + excess
}

fn moved(before: &[GroupId], after: &[GroupId]) -> usize {
    before.iter().zip(after).filter(|(a, b)| a != b).count()
}

#[test]
fn ex2_the_first_group_takes_every_shard() {
    let mut owners = vec![NO_GROUP; 12];
    rebalance(&mut owners, &set(&[5]));
    assert_eq!(owners, vec![5; 12], "one group owns all 12 shards");
}

#[test]
fn ex2_joins_spread_evenly_and_move_as_few_shards_as_possible() {
    let mut owners = vec![NO_GROUP; 12];
    let mut groups = BTreeSet::new();
    for g in 1..=13 {
        groups.insert(g);
        let before = owners.clone();
        rebalance(&mut owners, &groups);
        assert_even(&owners, &groups);
        assert_eq!(
            moved(&before, &owners),
            fewest_moves(&before, &groups),
            "group {g} joined {before:?}: {owners:?} moves more shards than needed"
        );
    }
}

#[test]
fn ex2_leaves_give_the_departed_shards_out_and_move_nothing_else_needlessly() {
    let mut owners = vec![NO_GROUP; 16];
    let mut groups = set(&[1, 2, 3, 4, 5]);
    rebalance(&mut owners, &groups);
    for leaving in [3, 1, 5, 4] {
        groups.remove(&leaving);
        let before = owners.clone();
        rebalance(&mut owners, &groups);
        assert_even(&owners, &groups);
        assert_eq!(
            moved(&before, &owners),
            fewest_moves(&before, &groups),
            "group {leaving} left {before:?}: {owners:?} moves more shards than needed"
        );
        for (shard, (b, a)) in before.iter().zip(&owners).enumerate() {
            assert!(
                b == a || *b == leaving || groups.contains(a),
                "shard {shard} moved from {b} to {a}"
            );
        }
    }
}

#[test]
fn ex2_the_larger_shares_go_to_the_groups_that_already_hold_most() {
    // 10 shards over 3 groups: shares of 3, 3 and 4. Group 3 holds 4 already: it is
    // the one to keep the larger share, so nothing moves.
    let before = vec![3, 3, 3, 3, 2, 2, 2, 1, 1, 1];
    let mut owners = before.clone();
    rebalance(&mut owners, &set(&[1, 2, 3]));
    assert_eq!(
        owners, before,
        "the spread is already even: the extra shard stays with group 3, which holds it; \
         handing the larger share to the smallest id would move a shard for nothing"
    );
}

#[test]
fn ex2_the_same_input_always_gives_the_same_output() {
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..200 {
        let groups: BTreeSet<GroupId> = (1..=rng.u64(1..8)).filter(|_| rng.bool()).collect();
        if groups.is_empty() {
            continue;
        }
        let start: Vec<GroupId> = (0..10).map(|_| rng.u64(0..9)).collect();
        let (mut a, mut b) = (start.clone(), start.clone());
        rebalance(&mut a, &groups);
        rebalance(&mut b, &groups);
        assert_eq!(
            a, b,
            "every server of the service computes the next configuration itself: \
             rebalancing {start:?} over {groups:?} must give one answer"
        );
        assert_even(&a, &groups);
        assert_eq!(
            moved(&start, &a),
            fewest_moves(&start, &groups),
            "rebalancing {start:?} over {groups:?} gave {a:?}, which moves more shards than needed"
        );
    }
}

#[test]
fn ex2_more_groups_than_shards_leaves_some_groups_empty() {
    let mut owners = vec![NO_GROUP; 3];
    let groups = set(&[1, 2, 3, 4, 5]);
    rebalance(&mut owners, &groups);
    assert_even(&owners, &groups);
    let distinct: BTreeSet<GroupId> = owners.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        3,
        "three shards, three different groups: {owners:?}"
    );
}

#[test]
fn ex2_no_group_means_no_owner() {
    let mut owners = vec![1, 2, 1];
    rebalance(&mut owners, &BTreeSet::new());
    assert_eq!(
        owners,
        vec![NO_GROUP; 3],
        "with no group left, no shard has an owner"
    );
}
