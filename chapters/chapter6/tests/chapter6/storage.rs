//! The node's files, crashed as a real page cache may: unsynced blocks reach the disk in
//! any order, directory changes not synced are forgotten. What `persist` acknowledged
//! survives; a crash at any step of taking or installing a snapshot leaves either the
//! state before it or the state after it, never a mix; and the node starts.

use std::path::Path;
use std::sync::Arc;

use chapter6::raft::{Entry, HardState, Persisted, Snapshot};
use chapter6::storage::Storage;
use harness::disk::{CrashMode, SimDisk};

use crate::common::{entries_from, put, snapshot};

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
            recovered.persisted.log == log || recovered.persisted.log == with_in_flight,
            "seed {seed}: the recovered log is neither what persist acknowledged nor that plus \
             the write in flight, after {report:?}"
        );
        assert!(
            recovered.persisted.hard_state == hard
                || recovered.persisted.hard_state == hard_in_flight,
            "seed {seed}: hard state {:?}, acknowledged {hard:?}",
            recovered.persisted.hard_state
        );
    }
}

/// One way a snapshot reaches the disk: what is stored before, and the snapshot with the
/// log after it that the core hands over.
struct Case {
    what: &'static str,
    /// Snapshot first taken (if any), then entries appended.
    before: (Option<Snapshot>, Vec<Entry>),
    save: (Snapshot, Vec<Entry>),
}

fn cases() -> Vec<Case> {
    let log = entries_from(
        1,
        &[1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2],
    );
    vec![
        Case {
            what: "taking a snapshot at 12",
            before: (None, log.clone()),
            save: (snapshot(12, 2, "state at 12"), log[12..].to_vec()),
        },
        Case {
            what: "taking a second snapshot (the log already starts at a marker)",
            before: (Some(snapshot(6, 1, "state at 6")), log[6..].to_vec()),
            save: (snapshot(17, 2, "state at 17"), log[17..].to_vec()),
        },
        Case {
            what: "installing a leader's snapshot that agrees at its boundary",
            before: (None, log.clone()),
            save: (snapshot(15, 2, "leader's state at 15"), log[15..].to_vec()),
        },
        Case {
            what: "installing a leader's snapshot over a log that disagrees",
            before: (None, log.clone()),
            save: (snapshot(15, 3, "leader's state at 15"), Vec::new()),
        },
        Case {
            what: "installing a leader's snapshot past the end of the log",
            before: (None, log[..5].to_vec()),
            save: (snapshot(40, 3, "leader's state at 40"), Vec::new()),
        },
    ]
}

/// What recovery must find, before or after the save.
fn persisted(hard: HardState, snapshot: Option<Snapshot>, log: Vec<Entry>) -> Persisted {
    Persisted {
        hard_state: hard,
        snapshot,
        log,
    }
}

#[test]
fn chapter_a_crash_at_any_step_of_taking_or_installing_a_snapshot_loses_nothing() {
    let dir = Path::new("/data");
    let hard = HardState {
        term: 3,
        voted_for: Some(1),
    };
    let modes = [
        CrashMode::Reordered,
        CrashMode::Torn,
        CrashMode::LoseUnsynced,
    ];
    let mut crashes = 0;
    for seed in 0..200u64 {
        for case in cases() {
            // Syncs during a save: the snapshot's file and directory, the log's file and
            // directory; one more number means no crash during the save at all.
            for step in 1..=5 {
                let disk = SimDisk::new(seed);
                let mut storage = Storage::recover(Arc::new(disk.mount()), dir)
                    .expect("an empty directory recovers")
                    .storage;
                let (first, log) = &case.before;
                match first {
                    Some(s) => storage.save_snapshot(s, log),
                    None => storage.persist(Some(hard), log),
                }
                .expect("no crash is armed yet");
                storage.persist(Some(hard), &[]).expect("no crash yet");
                let before = persisted(hard, first.clone(), log.clone());
                let (snapshot, tail) = &case.save;
                let after = persisted(hard, Some(snapshot.clone()), tail.clone());
                disk.crash_during_sync(step, modes[seed as usize % modes.len()]);
                let saved = storage.save_snapshot(snapshot, tail);
                let report = match disk.armed_crash() {
                    Some(report) => {
                        crashes += 1;
                        assert!(saved.is_err(), "a crash during a sync fails the save");
                        report
                    }
                    None => {
                        saved.expect("no crash: the save works");
                        disk.crash_with(modes[seed as usize % modes.len()])
                    }
                };
                let recovered = Storage::recover(Arc::new(disk.mount()), dir)
                    .unwrap_or_else(|e| {
                        panic!(
                            "seed {seed}, {}, crash at sync {step}: the node does not start \
                             after {report:?}: {e}",
                            case.what
                        )
                    })
                    .persisted;
                let saved_whole = disk.armed_crash().is_none();
                assert!(
                    recovered == after || (!saved_whole && recovered == before),
                    "seed {seed}, {}, crash at sync {step} ({report:?}): recovered snapshot \
                     {:?} and log {:?}; expected the state before or after the save{}",
                    case.what,
                    recovered.snapshot.as_ref().map(|s| (s.index, s.term)),
                    recovered.log.iter().map(|e| e.index).collect::<Vec<_>>(),
                    if saved_whole {
                        " (it returned Ok: after)"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    assert!(
        crashes > 1000,
        "only {crashes} crashes landed inside a save"
    );
}
