//! The log chapter 4 carries from chapter 2, crashed as a real page cache may: unsynced
//! blocks reach the disk in any order. Nothing acknowledged may be lost, and the store
//! must open again.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use chapter4::store::{Store, StoreError};
use chapter4::wal::{FsyncPolicy, LogOptions};
use harness::disk::{CrashMode, Disk, SimDisk};

const DIR: &str = "/data";

fn open(disk: &SimDisk, fsync: FsyncPolicy, compact_after_bytes: u64) -> Result<Store, String> {
    let options = LogOptions {
        fsync,
        compact_after_bytes,
    };
    let mount: Arc<dyn Disk> = Arc::new(disk.mount());
    Store::open(mount, Path::new(DIR), options).map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_the_carried_log_survives_crashes_that_reorder_unsynced_blocks() {
    for seed in 0..200u64 {
        let disk = SimDisk::new(seed);
        let mut rng = fastrand::Rng::with_seed(seed);
        let policy = [FsyncPolicy::Group, FsyncPolicy::Always][seed as usize % 2];
        let compact_after = if seed.is_multiple_of(3) {
            1024
        } else {
            u64::MAX
        };
        let store = Arc::new(open(&disk, policy, compact_after).expect("a fresh store opens"));
        disk.crash_during_sync(rng.u64(1..40), CrashMode::Reordered);
        // What each key held when its last acknowledged write returned (None: deleted).
        let acked: Arc<Mutex<BTreeMap<String, Option<String>>>> = Arc::default();
        // The write each writer had in flight when the log stopped: it may or may not
        // have reached the disk.
        let in_flight: Arc<Mutex<BTreeMap<String, Option<String>>>> = Arc::default();
        let mut writers = Vec::new();
        for w in 0..4 {
            let (store, acked) = (Arc::clone(&store), Arc::clone(&acked));
            let in_flight = Arc::clone(&in_flight);
            writers.push(tokio::spawn(async move {
                for i in 0..60 {
                    let key = format!("w{w}-{}", i % 20);
                    let value = (i % 7 != 6).then(|| format!("value {w} {i}"));
                    let written = match &value {
                        Some(v) => store.put(&key, v.clone(), None).await.map(drop),
                        None => match store.delete(&key).await {
                            Err(StoreError::NotFound) => Ok(()),
                            other => other.map(drop),
                        },
                    };
                    match written {
                        Ok(()) => {
                            acked
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .insert(key, value);
                        }
                        Err(StoreError::Unavailable(_)) => {
                            in_flight
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .insert(key, value);
                            return;
                        }
                        Err(e) => panic!("seed {seed}: unexpected {e}"),
                    }
                }
            }));
        }
        for writer in writers {
            let _ = writer.await;
        }
        let report = disk
            .armed_crash()
            .unwrap_or_else(|| disk.crash_with(CrashMode::Reordered));
        let reopened = open(&disk, policy, compact_after).unwrap_or_else(|e| {
            panic!("seed {seed} ({policy:?}): no restart after {report:?}: {e}")
        });
        let acknowledged = acked.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let maybe = in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for (key, value) in acknowledged {
            let found = reopened.get(&key).await.ok().flatten().map(|v| v.value);
            assert!(
                found == value || maybe.get(&key) == Some(&found),
                "seed {seed} ({policy:?}, compact after {compact_after} bytes): {key} holds \
                 {found:?}, but its last acknowledged write left {value:?} (and no write in \
                 flight wrote {found:?}) after {report:?}"
            );
        }
    }
}
