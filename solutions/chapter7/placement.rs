//! Placement: a key's shard, and which group owns each shard.
//!
//! Exercises 7.1 and 7.2 live here. Two levels, where chapter 4 had one:
//! - a key belongs to one of a **fixed** number of shards, by a hash fixed by its
//!   specification (XXH3, as in chapter 4): the same shard on every node, run and machine,
//!   and it never changes;
//! - a shard belongs to one group, as a numbered [`Configuration`](crate::config::Configuration) says.
//!   Only this second level changes, and when it does whole shards move, never single keys.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{GroupId, NO_GROUP, ShardId};

// ANCHOR: shard_of
/// The shard of `key` among `shards` (at least one): its XXH3 hash, modulo `shards`.
pub fn shard_of(key: &str, shards: usize) -> ShardId {
    // EXERCISE 7.1: a key's shard: its hash, modulo the number of shards
    // HINT: Every node and client computes a key's shard on its own, whatever it was built with: which hash promises the same number everywhere, for ever? Chapter 4 chose one.
    (xxhash_rust::xxh3::xxh3_64(key.as_bytes()) % shards as u64) as ShardId
    // END EXERCISE 7.1
}
// ANCHOR_END: shard_of

// ANCHOR: rebalance
/// Reassigns `owners` (one group per shard, [`NO_GROUP`] for none) to the groups in
/// `groups`: afterwards every shard has a group of the set (if the set is not empty), no
/// group has two shards more than another, as few shards as possible changed owner, and
/// the same input always gives the same output.
pub fn rebalance(owners: &mut [GroupId], groups: &BTreeSet<GroupId>) {
    // EXERCISE 7.2: rebalance the shards: even, moving as few as possible, deterministic
    // HINT: A shard that keeps its owner is one nobody has to freeze and copy: which shards must move, and which groups should keep the one extra shard?
    if groups.is_empty() {
        owners.fill(NO_GROUP);
        return;
    }
    for owner in owners.iter_mut() {
        if !groups.contains(owner) {
            *owner = NO_GROUP;
        }
    }
    let mut held: BTreeMap<GroupId, usize> = groups.iter().map(|&g| (g, 0)).collect();
    for owner in owners.iter().filter(|&&o| o != NO_GROUP) {
        *held.entry(*owner).or_default() += 1;
    }
    // Most shards first, then the smaller id: the larger shares go to those.
    let mut order: Vec<GroupId> = groups.iter().copied().collect();
    order.sort_by_key(|g| (std::cmp::Reverse(held[g]), *g));
    let (share, extra) = (owners.len() / groups.len(), owners.len() % groups.len());
    let target: BTreeMap<GroupId, usize> = order
        .iter()
        .enumerate()
        .map(|(i, &g)| (g, share + usize::from(i < extra)))
        .collect();
    // Free each group's shards beyond its target, highest shard first.
    for shard in (0..owners.len()).rev() {
        let owner = owners[shard];
        if owner != NO_GROUP && held[&owner] > target[&owner] {
            *held.get_mut(&owner).expect("counted above") -= 1;
            owners[shard] = NO_GROUP;
        }
    }
    // Give the free shards, lowest first, to the groups below target, smallest id first.
    for owner in owners.iter_mut().filter(|o| **o == NO_GROUP) {
        let group = *groups
            .iter()
            .find(|g| held[g] < target[g])
            .expect("the targets add up to the number of shards");
        *held.get_mut(&group).expect("every group is counted") += 1;
        *owner = group;
    }
    // END EXERCISE 7.2
}
// ANCHOR_END: rebalance
