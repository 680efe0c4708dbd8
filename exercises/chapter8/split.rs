// This file is yours to edit: replace each `todo!()` with your code, then run the
// chapter's tests. It was generated from solutions/chapter8/split.rs by `cargo xtask exercises`;
// running that again overwrites your work, so do it only to start over.
//! Cutting the input into map tasks, and a key's reduce task.
//!
//! Exercise 8.1 lives here. Both answers must be the same on every worker, run and
//! machine: a split is named by its number alone, and every map task must send a key to
//! the same reduce task, or one key's values end up in two output files.

// The stubs leave some parameters, imports and helpers unused until you write the code;
// delete this line once every exercise in the file is done.
#![allow(unused_variables, unused_imports, dead_code)]

use crate::job::{Input, Split};

// ANCHOR: split
/// Cuts every file of `inputs` into splits of about `target` bytes (a target of 0 is
/// taken as 1: a split holds at least one line): a split
/// ends at the end of the line that holds its `target`-th byte, or at the end of the
/// file. Every byte of every file is in exactly one split; no split is empty, none holds
/// part of a line; files in order, each file's splits in order.
pub fn split(inputs: &[Input], target: usize) -> Vec<Split> {
    // EXERCISE 8.1: cut the input into splits of whole lines
    // HINT: Walk each file from its first byte: a split starts where the last one ended, reaches `target` bytes further, then on to the next `\n` (included). What if that lands exactly on a `\n`, or past the end of the file?
    todo!(
        "exercise 8.1 is not implemented yet: edit exercises/chapter8/split.rs: cut the input into splits of whole lines (book: chapter 8, exercise 1)"
    )
}
// ANCHOR_END: split

// ANCHOR: bucket
/// The reduce task of `key` among `reduces` (at least one): its XXH3-64 hash, modulo
/// `reduces`, as chapter 4 placed keys.
pub fn bucket(key: &str, reduces: usize) -> usize {
    // EXERCISE 8.1: a key's reduce task: a hash fixed by its specification, modulo R
    // HINT: Every map task computes this on its own machine. Which hash gives the same number everywhere, for ever (chapter 4's choice), and why not std's `DefaultHasher`?
    todo!(
        "exercise 8.1 is not implemented yet: edit exercises/chapter8/split.rs: a key's reduce task: a hash fixed by its specification, modulo R (book: chapter 8, exercise 1)"
    )
}
// ANCHOR_END: bucket
