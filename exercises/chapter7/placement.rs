// This file is yours to edit: replace each `todo!()` with your code, then run the
// chapter's tests. It was generated from solutions/chapter7/placement.rs by `cargo xtask exercises`;
// running that again overwrites your work, so do it only to start over.
//! Placement: a key's shard, and which group owns each shard.
//!
//! Exercises 7.1 and 7.2 live here. Two levels, where chapter 4 had one:
//! - a key belongs to one of a **fixed** number of shards, by a hash fixed by its
//!   specification (XXH3, as in chapter 4): the same shard on every node, run and machine,
//!   and it never changes;
//! - a shard belongs to one group, as a numbered [`Configuration`](crate::config::Configuration) says.
//!   Only this second level changes, and when it does whole shards move, never single keys.

// The stubs leave some parameters, imports and helpers unused until you write the code;
// delete this line once every exercise in the file is done.
#![allow(unused_variables, unused_imports, dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{GroupId, NO_GROUP, ShardId};

// ANCHOR: shard_of
/// The shard of `key` among `shards` (at least one): its XXH3 hash, modulo `shards`.
pub fn shard_of(key: &str, shards: usize) -> ShardId {
    // EXERCISE 7.1: a key's shard: its hash, modulo the number of shards
    // HINT: Every node and client computes a key's shard on its own, whatever it was built with: which hash promises the same number everywhere, for ever? Chapter 4 chose one.
    todo!(
        "exercise 7.1 is not implemented yet: edit exercises/chapter7/placement.rs: a key's shard: its hash, modulo the number of shards (book: chapter 7, exercise 1)"
    )
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
    todo!(
        "exercise 7.2 is not implemented yet: edit exercises/chapter7/placement.rs: rebalance the shards: even, moving as few as possible, deterministic (book: chapter 7, exercise 2)"
    )
}
// ANCHOR_END: rebalance
