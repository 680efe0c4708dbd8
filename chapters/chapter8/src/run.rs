//! Running one task, and the whole job on one thread (the oracle every test compares with).
//!
//! A map task reads its split and sorts what it emits into R buckets by
//! [`bucket`](crate::split::bucket); reduce task `r` takes bucket `r` of every map's
//! output, groups the pairs by key and writes one output file: a line `key\tvalue` per key
//! that has an output, keys in byte order. Both are pure functions of their input, so two
//! attempts of one task write the same bytes.

use std::collections::BTreeMap;

use crate::job::{Input, Job, Pair, Split};
use crate::split::{bucket, split};

/// A map task's output: one list of pairs per reduce task.
pub type Buckets = Vec<Vec<Pair>>;

// ANCHOR: run_map
/// Runs `job`'s map on `split` of `inputs`, its pairs sorted into `reduces` buckets.
pub fn run_map(job: &dyn Job, inputs: &[Input], split: Split, reduces: usize) -> Buckets {
    let input = &inputs[split.file];
    let mut buckets: Buckets = vec![Vec::new(); reduces];
    job.map(
        &input.name,
        &input.text[split.start..split.end],
        &mut |key, value| buckets[bucket(&key, reduces)].push((key, value)),
    );
    buckets
}
// ANCHOR_END: run_map

// ANCHOR: run_reduce
/// Runs `job`'s reduce over one bucket of every map's output (`from_maps[m]` is map
/// `m`'s), and returns the output file's text.
pub fn run_reduce(job: &dyn Job, from_maps: &[Vec<Pair>]) -> String {
    let mut grouped: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (key, value) in from_maps.iter().flatten() {
        grouped.entry(key).or_default().push(value.clone());
    }
    let mut out = String::new();
    for (key, values) in grouped {
        if let Some(value) = job.reduce(key, &values) {
            out.push_str(&format!("{key}\t{value}\n"));
        }
    }
    out
}
// ANCHOR_END: run_reduce

/// The job run on one thread, no coordinator, no failures: its R output files. Every
/// distributed run of the job must produce exactly these bytes.
pub fn sequential(
    job: &dyn Job,
    inputs: &[Input],
    split_bytes: usize,
    reduces: usize,
) -> Vec<String> {
    let maps: Vec<Buckets> = split(inputs, split_bytes)
        .into_iter()
        .map(|s| run_map(job, inputs, s, reduces))
        .collect();
    (0..reduces)
        .map(|r| {
            let column: Vec<Vec<Pair>> = maps.iter().map(|m| m[r].clone()).collect();
            run_reduce(job, &column)
        })
        .collect()
}
