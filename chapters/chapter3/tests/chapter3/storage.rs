//! The replica's log, crashed as a real page cache may: unsynced blocks reach the disk
//! in any order. Every entry the committer acknowledged survives, and the node starts.

use std::path::Path;
use std::sync::Arc;

use chapter3::api::{LogEntry, Snapshot};
use chapter3::storage::{Job, Storage, recover};
use harness::disk::{CrashMode, Disk, SimDisk};

fn entry(index: u64, term: u64, seed: u64) -> LogEntry {
    LogEntry {
        index,
        term,
        key: format!("k{}", index % 7),
        value: (!index.is_multiple_of(5)).then(|| format!("v{index}-{seed}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_the_log_survives_crashes_that_reorder_unsynced_blocks() {
    let dir = Path::new("/data");
    for seed in 0..300u64 {
        let disk = SimDisk::new(seed);
        let mut rng = fastrand::Rng::with_seed(seed);
        let mount: Arc<dyn Disk> = Arc::new(disk.mount());
        let recovered = recover(mount.as_ref(), dir).expect("an empty directory recovers");
        let storage = Storage::start(
            Arc::clone(&mount),
            dir.to_path_buf(),
            recovered.log,
            0,
            u64::MAX,
            Snapshot::default,
        )
        .expect("the committer starts");
        disk.crash_during_sync(rng.u64(1..30), CrashMode::Reordered);
        let (mut acked, mut in_flight) = (Vec::new(), Vec::new());
        let mut next = 1;
        let mut stopped = false;
        for _ in 0..40 {
            // A few jobs at once, so that the committer groups them into one frame.
            let mut waits = Vec::new();
            for _ in 0..rng.u64(1..4) {
                let batch: Vec<LogEntry> = (next..next + rng.u64(1..4))
                    .map(|i| entry(i, 1, seed))
                    .collect();
                next += batch.len() as u64;
                match storage.submit(Job::Append(batch.clone())) {
                    Ok(done) => waits.push((batch, done)),
                    Err(_) => {
                        stopped = true; // refused before anything was sent
                        break;
                    }
                }
            }
            // Every job sent is accounted for, even after the log stopped.
            for (batch, done) in waits {
                match Storage::wait(done).await {
                    Ok(()) => acked.extend(batch),
                    Err(_) => in_flight.extend(batch),
                }
            }
            if stopped || !in_flight.is_empty() {
                break;
            }
        }
        let report = disk
            .armed_crash()
            .unwrap_or_else(|| disk.crash_with(CrashMode::Reordered));
        let after = recover(&disk.mount(), dir).unwrap_or_else(|e| {
            panic!("seed {seed}: the node does not start after {report:?}: {e}")
        });
        let mut with_in_flight = acked.clone();
        with_in_flight.extend(in_flight.iter().cloned());
        // Everything acknowledged, then some prefix of what was in flight (the jobs the
        // committer wrote in its last frame may have survived, the ones after it not).
        assert!(
            after.entries.starts_with(&acked) && with_in_flight.starts_with(&after.entries),
            "seed {seed}: recovered {} entries; {} were acknowledged ({} in flight) after {report:?}",
            after.entries.len(),
            acked.len(),
            in_flight.len()
        );
    }
}
