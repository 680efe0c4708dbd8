//! Exercise 2.4: nothing is acknowledged before it is durable.
//! Book: chapter 2, "Exercise 2.4: acknowledge only what is durable".

use chapter2::store::StoreError;
use chapter2::wal::FsyncPolicy;
use harness::disk::{CrashMode, SimDisk};

use crate::common::{STUCK, bounded, open, put};

const BIG: u64 = u64::MAX;

#[tokio::test]
async fn ex4_an_acknowledged_write_survives_a_machine_crash() {
    for policy in [FsyncPolicy::Always, FsyncPolicy::Group] {
        let disk = SimDisk::new(1);
        let store = open(&disk, policy, BIG);
        assert!(store.is_empty(), "a new store holds nothing");
        let v1 = put(&store, "a", "1").await;
        let v2 = put(&store, "b", "2").await;
        assert_eq!((v1, v2), (1, 2), "versions are log positions");
        assert!(!store.is_empty(), "a store that took two puts is not empty");
        assert!(
            store.durable_version() >= v2,
            "{policy:?}: an acknowledged write is durable (durable version {}, acknowledged {v2})",
            store.durable_version()
        );
        assert_eq!(
            bounded(store.delete("a")).await,
            Ok(3),
            "a delete is a write too: it takes the next version"
        );
        drop(store);
        disk.crash_with(CrashMode::LoseUnsynced);
        let store = open(&disk, policy, BIG);
        assert_eq!(
            bounded(store.get("b")).await.map(|v| v.map(|v| v.value)),
            Ok(Some("2".into())),
            "{policy:?}: b was acknowledged"
        );
        assert_eq!(
            bounded(store.get("a")).await,
            Ok(None),
            "{policy:?}: so was the delete of a"
        );
        assert_eq!(
            store.last_version(),
            3,
            "{policy:?}: and the versions go on from there"
        );
        assert_eq!(
            put(&store, "c", "3").await,
            4,
            "{policy:?}: the first write after recovery takes the version after the last durable one"
        );
    }
}

#[tokio::test]
async fn ex4_a_write_that_could_not_be_synced_is_not_acknowledged_nor_shown() {
    let disk = SimDisk::new(2);
    let store = open(&disk, FsyncPolicy::Group, BIG);
    put(&store, "kept", "yes").await;
    disk.set_failing_syncs(true);
    let outcome = bounded(store.put("lost", "no".into(), None)).await;
    assert!(
        matches!(outcome, Err(StoreError::Unavailable(_))),
        "a failed fsync must not be acknowledged: {outcome:?}"
    );
    assert!(
        bounded(store.get("lost")).await.is_err(),
        "nor may anyone read what was never made durable"
    );
    assert_eq!(
        bounded(store.get("kept")).await.map(|v| v.is_some()),
        Ok(true),
        "durable data is still served"
    );
    let again = bounded(store.put("later", "x".into(), None)).await;
    assert!(
        matches!(again, Err(StoreError::Unavailable(_))),
        "after a failed fsync the log stops for good: {again:?}"
    );
}

#[tokio::test]
async fn ex4_compare_and_set_and_deletes_keep_their_rules() {
    let disk = SimDisk::new(3);
    let store = open(&disk, FsyncPolicy::Group, BIG);
    assert_eq!(
        store.put("k", "first".into(), Some(0)).await,
        Ok(1),
        "`if_version: 0` creates an absent key, which is at version 0"
    );
    assert_eq!(
        store.put("k", "second".into(), Some(0)).await,
        Err(StoreError::VersionMismatch {
            expected: 0,
            current: 1
        }),
        "`if_version: 0` must not overwrite an existing key"
    );
    assert_eq!(
        bounded(store.delete("missing")).await,
        Err(StoreError::NotFound),
        "deleting a missing key is NotFound"
    );
    assert_eq!(
        store.last_version(),
        1,
        "refused writes take no version and reach no log"
    );
}

#[tokio::test]
async fn ex4_a_write_whose_fsync_the_machine_lost_power_in_is_not_acknowledged() {
    for policy in [FsyncPolicy::Always, FsyncPolicy::Group] {
        let disk = SimDisk::new(6);
        let store = open(&disk, policy, BIG);
        put(&store, "before", "kept").await;
        // The power goes out while the next fsync runs: nothing it covers is on the disk.
        disk.crash_during_sync(1, CrashMode::LoseUnsynced);
        let outcome = bounded(store.put("during", "lost".into(), None)).await;
        // (A write acknowledged too early leaves the committer still on its way to that
        // fsync: restart only once the power has gone out.)
        harness::eventually(STUCK, "the power to go out during the fsync", || {
            let crashed = disk.armed_crash().is_some();
            async move {
                if crashed {
                    Ok(())
                } else {
                    Err("no fsync has run since the crash was armed".to_string())
                }
            }
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        drop(store);
        let store = open(&disk, policy, BIG);
        let after = bounded(store.get("during")).await;
        assert!(
            outcome.is_err(),
            "{policy:?}: a write is acknowledged only once its fsync has succeeded: the machine \
             lost power during this one, yet the write was acknowledged ({outcome:?}), and after \
             the restart it is {after:?}"
        );
        assert_eq!(
            bounded(store.get("before"))
                .await
                .map(|v| v.map(|v| v.value)),
            Ok(Some("kept".into())),
            "{policy:?}: the write acknowledged before the crash is still there"
        );
    }
}
