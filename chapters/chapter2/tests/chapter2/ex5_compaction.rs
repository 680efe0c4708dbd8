//! Exercise 2.5: compaction: a snapshot, then an empty log.
//! Book: chapter 2, "Exercise 2.5: compaction".

use std::path::Path;

use chapter2::wal::{FsyncPolicy, SNAPSHOT_FILE, Snapshot, SnapshotEntry, compact};
use harness::disk::{CrashMode, Disk, SimDisk};

use crate::common::{DIR, bounded, log_bytes, open, put};

#[tokio::test]
async fn ex5_compaction_keeps_the_data_and_shrinks_the_log() {
    let disk = SimDisk::new(4);
    let threshold = 4 * 1024;
    let store = open(&disk, FsyncPolicy::Group, threshold);
    for i in 0..600 {
        put(&store, &format!("k{}", i % 50), &format!("value {i}")).await;
    }
    let stats = store.log_stats();
    assert!(
        stats.compactions > 0,
        "600 writes of ~60 bytes pass a 4 KiB threshold: {stats:?}"
    );
    let log = log_bytes(&disk).len() as u64;
    assert!(
        log < 2 * threshold,
        "the log stays near its threshold ({log} bytes), not 36 KiB"
    );
    drop(store);
    disk.crash_with(CrashMode::LoseUnsynced);
    let store = open(&disk, FsyncPolicy::Group, threshold);
    assert_eq!(store.len(), 50, "every key is back after a crash");
    for k in 0..50 {
        let last = (0..600).filter(|i| i % 50 == k).max().unwrap_or_default();
        let value = bounded(store.get(&format!("k{k}")))
            .await
            .ok()
            .flatten()
            .map(|v| v.value);
        assert_eq!(
            value,
            Some(format!("value {last}")),
            "k{k} has its last value"
        );
    }
    assert_eq!(
        store.last_version(),
        600,
        "compaction keeps the version counter: after the crash it is still at the 600th write"
    );
}

#[test]
fn ex5_the_snapshot_is_durable_before_the_log_is_emptied() {
    let disk = SimDisk::new(5);
    let dir = Path::new(DIR);
    disk.create_dir_all(dir).expect("mkdir");
    disk.write_file(&dir.join("wal.log"), b"old records")
        .expect("write");
    disk.sync_file(&dir.join("wal.log")).expect("sync");
    disk.sync_dir(dir).expect("sync dir");
    let entries = [(
        "k".to_string(),
        SnapshotEntry {
            value: "v".into(),
            version: 9,
        },
    )]
    .into();
    let snapshot = Snapshot {
        last_version: 9,
        entries,
    };
    compact(&disk, dir, &snapshot).expect("compaction succeeds");
    disk.crash_with(CrashMode::LoseUnsynced);
    let stored: Snapshot =
        serde_json::from_slice(&disk.read(&dir.join(SNAPSHOT_FILE)).unwrap_or_default())
            .expect("a whole snapshot");
    assert_eq!(
        stored, snapshot,
        "the snapshot survives the crash: it was synced and its rename made durable"
    );
    assert_eq!(
        disk.read(&dir.join("wal.log")).ok().map(|b| b.len()),
        Some(0),
        "and the log is empty"
    );
    assert_eq!(
        disk.list(dir).ok().map(|f| f.len()),
        Some(2),
        "no temporary file is left behind"
    );
}
