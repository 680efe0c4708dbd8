//! The node's log and hard state, crashed as a real page cache may: unsynced blocks
//! reach the disk in any order. What `persist` acknowledged survives, and the node starts.

use std::path::Path;
use std::sync::Arc;

use chapter5::raft::{Entry, HardState};
use chapter5::storage::Storage;
use harness::disk::{CrashMode, SimDisk};

use crate::common::put;

/// The log a sequence of persists leaves, superseding applied.
fn apply(log: &mut Vec<Entry>, entries: &[Entry]) {
    for entry in entries {
        log.truncate(entry.index as usize - 1);
        log.push(entry.clone());
    }
}

#[test]
fn chapter_the_log_survives_crashes_that_reorder_unsynced_blocks() {
    let dir = Path::new("/data");
    for seed in 0..300u64 {
        let disk = SimDisk::new(seed);
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut storage = Storage::recover(Arc::new(disk.mount()), dir)
            .expect("an empty directory recovers")
            .storage;
        disk.crash_during_sync(rng.u64(1..30), CrashMode::Reordered);
        let (mut log, mut hard) = (Vec::new(), HardState::default());
        let mut in_flight = None;
        for _ in 0..40 {
            // A new term now and then; entries appended, or a suffix replaced.
            let next_hard = rng.bool().then(|| HardState {
                term: hard.term + 1,
                voted_for: Some(rng.u64(0..3)),
            });
            let term = next_hard.map_or(hard.term, |h| h.term).max(1);
            let from = if rng.u8(0..4) == 0 && !log.is_empty() {
                rng.u64(1..=log.len() as u64)
            } else {
                log.len() as u64 + 1
            };
            let entries: Vec<Entry> = (from..from + rng.u64(1..6))
                .map(|index| Entry {
                    index,
                    term,
                    command: put(index * 1000 + seed),
                })
                .collect();
            match storage.persist(next_hard, &entries) {
                Ok(()) => {
                    apply(&mut log, &entries);
                    hard = next_hard.unwrap_or(hard);
                }
                Err(_) => {
                    in_flight = Some((next_hard, entries));
                    break;
                }
            }
        }
        let report = disk
            .armed_crash()
            .unwrap_or_else(|| disk.crash_with(CrashMode::Reordered));
        let recovered = Storage::recover(Arc::new(disk.mount()), dir).unwrap_or_else(|e| {
            panic!("seed {seed}: the node does not start after {report:?}: {e}")
        });
        let mut with_in_flight = log.clone();
        let mut hard_in_flight = hard;
        if let Some((next_hard, entries)) = &in_flight {
            apply(&mut with_in_flight, entries);
            hard_in_flight = next_hard.unwrap_or(hard);
        }
        assert!(
            recovered.log == log || recovered.log == with_in_flight,
            "seed {seed}: the recovered log is neither what persist acknowledged nor that plus \
             the write in flight, after {report:?}"
        );
        assert!(
            recovered.hard_state == hard || recovered.hard_state == hard_in_flight,
            "seed {seed}: hard state {:?}, acknowledged {hard:?}",
            recovered.hard_state
        );
    }
}
