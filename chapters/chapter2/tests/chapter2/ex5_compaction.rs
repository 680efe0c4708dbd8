//! Exercise 2.5: compaction: a snapshot, then an empty log.
//! Book: chapter 2, "Exercise 2.5: compaction".

use std::collections::BTreeMap;
use std::path::Path;

use chapter2::record::{Record, encode};
use chapter2::wal::{
    FsyncPolicy, LOG_FILE, SNAPSHOT_FILE, Snapshot, SnapshotEntry, compact, recover,
};
use harness::disk::{CrashMode, Disk, SimDisk};

use crate::common::{DIR, STUCK, bounded, log_bytes, open, put};

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

/// Write `version`: key `k<version>`, value `v<version>`.
fn write(version: u64) -> Record {
    Record {
        version,
        key: format!("k{version}"),
        value: Some(format!("v{version}")),
    }
}

/// A snapshot of writes 1 to `last`.
fn snapshot_of(last: u64) -> Snapshot {
    let entries = (1..=last)
        .map(|v| {
            let w = write(v);
            let value = w.value.unwrap_or_default();
            (w.key, SnapshotEntry { value, version: v })
        })
        .collect();
    Snapshot {
        last_version: last,
        entries,
    }
}

/// A data directory as a node leaves it: a snapshot of write 1, a log of writes 2 and 3,
/// all of it durable.
fn data_dir(seed: u64) -> SimDisk {
    let disk = SimDisk::new(seed);
    let dir = Path::new(DIR);
    let log: Vec<u8> = [write(2), write(3)]
        .iter()
        .flat_map(|w| encode(std::slice::from_ref(w)).expect("a record encodes"))
        .collect();
    let snapshot = serde_json::to_vec(&snapshot_of(1)).expect("a snapshot serializes");
    let setup = || -> std::io::Result<()> {
        disk.create_dir_all(dir)?;
        disk.write_file(&dir.join(SNAPSHOT_FILE), &snapshot)?;
        disk.sync_file(&dir.join(SNAPSHOT_FILE))?;
        disk.write_file(&dir.join(LOG_FILE), &log)?;
        disk.sync_file(&dir.join(LOG_FILE))?;
        disk.sync_dir(dir)
    };
    setup().expect("the simulated disk takes the files");
    disk
}

/// Every key's value and version, and the last version: the state a recovery rebuilds.
type State = (BTreeMap<String, (String, u64)>, u64);

/// What recovery finds on `disk`.
fn recovered(disk: &SimDisk) -> Result<State, String> {
    let mount = disk.mount();
    let found = harness::eventually::finishes(STUCK, "recovery", move || {
        recover(&mount, Path::new(DIR)).map(|r| (r.snapshot, r.records))
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let (snapshot, records) = found.map_err(|e| e.to_string())?;
    let mut last = snapshot.last_version;
    let mut map: BTreeMap<String, (String, u64)> = snapshot
        .entries
        .into_iter()
        .map(|(k, e)| (k, (e.value, e.version)))
        .collect();
    for record in records {
        last = last.max(record.version);
        match record.value {
            Some(value) => map.insert(record.key, (value, record.version)),
            None => map.remove(&record.key),
        };
    }
    Ok((map, last))
}

#[test]
fn ex5_a_crash_at_any_step_of_a_compaction_loses_nothing() {
    let expected = recovered(&data_dir(7)).expect("the data directory recovers before compaction");
    assert_eq!(
        expected.1, 3,
        "the test's data directory holds writes 1 to 3"
    );
    // Power is lost during the first fsync of the compaction, then the second, and so on
    // until one compaction runs to its end (and the machine loses power just after); each
    // way a crash treats unsynced bytes, on several seeds (a file rewritten in place may
    // come back part old, part new).
    for mode in [
        CrashMode::LoseUnsynced,
        CrashMode::Torn,
        CrashMode::Reordered,
    ] {
        for seed in 0..8 {
            crash_at_every_step(&expected, mode, seed);
        }
    }
}

/// Crashes a compaction at each of its fsyncs in turn (in `mode`, the disk's choices
/// from `seed`), and once after it: recovery must find `expected` every time.
fn crash_at_every_step(expected: &State, mode: CrashMode, seed: u64) {
    for n in 1..=10 {
        let disk = data_dir(seed);
        disk.crash_during_sync(n, mode);
        let outcome = compact(&disk.mount(), Path::new(DIR), &snapshot_of(3));
        let during = disk.armed_crash().is_some();
        let when = if during {
            format!("during fsync {n} of a compaction ({mode:?}, seed {seed})")
        } else {
            assert!(
                outcome.is_ok(),
                "a compaction on a healthy disk succeeds: {outcome:?}"
            );
            disk.crash_with(mode);
            format!(
                "just after a compaction that made {} fsyncs ({mode:?}, seed {seed})",
                n - 1
            )
        };
        let found = recovered(&disk).unwrap_or_else(|e| {
            panic!(
                "a crash {when} must leave files the node can start from (the old snapshot, or \
                 the new one whole: a snapshot written in place can come back part old, part \
                 new): recovery says {e}"
            )
        });
        assert_eq!(
            &found, expected,
            "a crash {when} loses nothing: every step of a compaction must leave either the old \
             snapshot and the full log, or the durable new snapshot; the log may be emptied only \
             once the new snapshot's bytes and its rename are synced"
        );
        if !during {
            return;
        }
    }
    panic!("a compaction of three writes made more than ten fsyncs without finishing");
}

#[test]
fn ex5_a_compaction_that_fails_at_any_step_loses_nothing_and_can_be_retried() {
    // Compaction runs in the committer, between two batches, so no write lands between
    // its steps; what can land there is a crash (the test above) or a failed step: an
    // fsync that returns an error while the program goes on.
    let expected = recovered(&data_dir(7)).expect("the data directory recovers before compaction");
    for n in 1..=10 {
        let disk = data_dir(7);
        disk.fail_sync(n);
        let outcome = compact(&disk.mount(), Path::new(DIR), &snapshot_of(3));
        if !disk.failed_sync() {
            assert!(
                outcome.is_ok(),
                "a compaction on a healthy disk succeeds: {outcome:?}"
            );
            break;
        }
        assert!(
            outcome.is_err(),
            "fsync {n} of the compaction failed: the compaction must say so, not succeed"
        );
        let found = recovered(&disk).unwrap_or_else(|e| {
            panic!("after fsync {n} of a compaction failed, the files must still recover: {e}")
        });
        assert_eq!(
            &found, &expected,
            "after fsync {n} of a compaction failed, nothing is lost: a step that failed \
             leaves the old snapshot and the full log, or the new snapshot already durable"
        );
        let retried = compact(&disk.mount(), Path::new(DIR), &snapshot_of(3));
        assert!(
            retried.is_ok(),
            "a compaction retried after fsync {n} failed must succeed over what the failed \
             one left (a leftover temporary file, a renamed snapshot): {retried:?}"
        );
        disk.crash_with(CrashMode::LoseUnsynced);
        let found = recovered(&disk)
            .unwrap_or_else(|e| panic!("after a retried compaction and a crash: {e}"));
        assert_eq!(
            &found, &expected,
            "a compaction retried after fsync {n} failed, then a crash: nothing is lost"
        );
    }
}
