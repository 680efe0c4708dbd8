// This file is yours to edit: replace each `todo!()` with your code, then run the
// chapter's tests. It was generated from solutions/chapter9/partitioning.rs by `cargo xtask exercises`;
// running that again overwrites your work, so do it only to start over.
//! Where a record goes: its key's partition, and the group that holds a partition.
//!
//! Exercise 9.1 lives here. Every producer must send a key to the same partition, or
//! one key's records lose their order (order holds only inside a partition); and every
//! node and client must agree on which group holds a partition.

// The stubs leave some parameters, imports and helpers unused until you write the code;
// delete this line once every exercise in the file is done.
#![allow(unused_variables, unused_imports, dead_code)]

// ANCHOR: partition_for
/// The partition of `key` among `partitions` (at least one): its XXH3-64 hash modulo
/// `partitions`, as chapter 4 placed keys.
pub fn partition_for(key: &str, partitions: u32) -> u32 {
    // EXERCISE 9.1: a key's partition: a hash fixed by its specification, modulo P
    // HINT: Producers run on many machines and versions. Which hash gives every one of them the same number for a key, for ever (chapter 4's choice)? And what is a partition count of 0?
    todo!(
        "exercise 9.1 is not implemented yet: edit exercises/chapter9/partitioning.rs: a key's partition: a hash fixed by its specification, modulo P (book: chapter 9, exercise 1)"
    )
}
// ANCHOR_END: partition_for

// ANCHOR: group_of
/// The group (of `groups`, at least one) that holds partition `index` of every topic:
/// partitions are dealt out in turn, 0 to group 0, 1 to group 1, ..., wrapping around,
/// so a topic's partitions are spread over every group.
pub fn group_of(index: u32, groups: u32) -> u32 {
    // EXERCISE 9.1: the group that holds a partition: dealt out in turn
    // HINT: Partition `groups` goes back to group 0. Careful with 0 groups: a node's settings are input too.
    todo!(
        "exercise 9.1 is not implemented yet: edit exercises/chapter9/partitioning.rs: the group that holds a partition: dealt out in turn (book: chapter 9, exercise 1)"
    )
}
// ANCHOR_END: group_of
