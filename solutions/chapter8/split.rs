//! Cutting the input into map tasks, and a key's reduce task.
//!
//! Exercise 8.1 lives here. Both answers must be the same on every worker, run and
//! machine: a split is named by its number alone, and every map task must send a key to
//! the same reduce task, or one key's values end up in two output files.

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
    let target = target.max(1);
    let mut splits = Vec::new();
    for (file, input) in inputs.iter().enumerate() {
        let bytes = input.text.as_bytes();
        let mut start = 0;
        while start < bytes.len() {
            let mut end = (start + target).min(bytes.len());
            // Move on to just after the line's `\n` (the byte before `end` may be it).
            while end < bytes.len() && bytes[end - 1] != b'\n' {
                end += 1;
            }
            splits.push(Split { file, start, end });
            start = end;
        }
    }
    splits
    // END EXERCISE 8.1
}
// ANCHOR_END: split

// ANCHOR: bucket
/// The reduce task of `key` among `reduces` (at least one): its XXH3-64 hash, modulo
/// `reduces`, as chapter 4 placed keys.
pub fn bucket(key: &str, reduces: usize) -> usize {
    // EXERCISE 8.1: a key's reduce task: a hash fixed by its specification, modulo R
    // HINT: Every map task computes this on its own machine. Which hash gives the same number everywhere, for ever (chapter 4's choice), and why not std's `DefaultHasher`?
    (xxhash_rust::xxh3::xxh3_64(key.as_bytes()) % reduces as u64) as usize
    // END EXERCISE 8.1
}
// ANCHOR_END: bucket
