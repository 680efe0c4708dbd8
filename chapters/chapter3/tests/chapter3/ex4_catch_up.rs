//! Exercise 3.4: catch-up (`replication::plan`), and followers that come back.

use chapter3::replication::{AckMode, Plan, Progress, plan};

use crate::common::{MemLog, group, http, put, wait_status};

#[test]
fn ex4_a_follower_that_is_behind_gets_a_batch_from_next_index() {
    let log = MemLog::with_terms(&[1; 100]);
    let mut progress = Progress::new(100);
    progress.next_index = 11;
    assert_eq!(
        plan(&progress, &log, 32),
        Plan::Entries {
            prev_index: 10,
            prev_term: 1,
            from: 11,
            to: 42
        },
        "the batch starts at next_index (11), after the entry just before it (prev_index 10), \
         and holds max_batch (32) entries at most: 11..=42"
    );
    progress.next_index = 90;
    assert_eq!(
        plan(&progress, &log, 32),
        Plan::Entries {
            prev_index: 89,
            prev_term: 1,
            from: 90,
            to: 100
        },
        "never past the end of the log"
    );
}

#[test]
fn ex4_an_up_to_date_follower_gets_a_heartbeat() {
    let log = MemLog::with_terms(&[1, 2, 2]);
    let progress = Progress::new(3);
    assert_eq!(
        plan(&progress, &log, 32),
        Plan::Entries {
            prev_index: 3,
            prev_term: 2,
            from: 4,
            to: 3
        },
        "no entries (from > to), but the append still carries the commit index"
    );
}

#[test]
fn ex4_entries_compacted_away_are_replaced_by_the_snapshot() {
    let mut log = MemLog::with_terms(&[]);
    log.snapshot_index = 50;
    log.snapshot_term = 1;
    log.entries = (51..=60).map(|i| crate::common::entry(i, 1)).collect();
    let mut progress = Progress::new(60);
    progress.next_index = 20;
    assert_eq!(
        plan(&progress, &log, 32),
        Plan::Snapshot,
        "entries 20..=50 are gone"
    );
    progress.next_index = 51;
    assert!(
        matches!(
            plan(&progress, &log, 32),
            Plan::Entries {
                prev_index: 50,
                prev_term: 1,
                from: 51,
                to: 60
            }
        ),
        "a follower at snapshot_index + 1 gets entries, not the snapshot again: the \
         snapshot's last entry still has a known term to check them against"
    );
    progress.on_need_snapshot();
    assert_eq!(
        plan(&progress, &log, 32),
        Plan::Snapshot,
        "the follower asked for one"
    );
}

async fn values(base: &str, keys: &[String]) -> Vec<Option<String>> {
    let http = http();
    let mut out = Vec::new();
    for key in keys {
        let body: serde_json::Value = match http.get(format!("{base}/kv/{key}")).send().await {
            Ok(response) => response.json().await.unwrap_or_default(),
            Err(_) => serde_json::Value::Null,
        };
        out.push(body["value"].as_str().map(str::to_string));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex4_a_restarted_follower_catches_up() {
    let mut cluster = group(3, AckMode::Quorum, |config| config.max_batch = 16);
    let leader = cluster.url(0);
    cluster.kill(2);
    let keys: Vec<String> = (0..60).map(|i| format!("key-{i}")).collect();
    for key in &keys {
        put(&leader, key, &format!("value of {key}")).await;
    }
    cluster.restart(2).await.expect("restarting node 2");
    wait_status(
        &cluster,
        2,
        "node 2 to apply all 60 writes, in batches of 16",
        |s| s.applied_index == 60,
    )
    .await;
    let expected: Vec<Option<String>> =
        keys.iter().map(|k| Some(format!("value of {k}"))).collect();
    assert_eq!(
        values(&cluster.url(2), &keys).await,
        expected,
        "a restarted follower catches up and serves every write it missed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex4_a_follower_catches_up_past_compaction_with_a_snapshot() {
    let mut cluster = group(3, AckMode::Quorum, |config| {
        config.compact_after_bytes = 2_000;
    });
    let leader = cluster.url(0);
    put(&leader, "first", "1").await;
    cluster.kill(2);
    let keys: Vec<String> = (0..80).map(|i| format!("key-{i}")).collect();
    for key in &keys {
        put(&leader, key, &format!("value of {key}")).await;
    }
    let status = wait_status(&cluster, 0, "the leader to compact its log", |s| {
        s.snapshot_index > 1
    })
    .await;
    assert!(
        status.log.snapshots > 0,
        "the leader compacted its log into a snapshot past the writes node 2 missed"
    );
    cluster.restart(2).await.expect("restarting node 2");
    let follower = wait_status(
        &cluster,
        2,
        "node 2 to catch up from the leader's snapshot",
        |s| s.applied_index >= 81,
    )
    .await;
    assert!(
        follower.snapshot_index > 1,
        "the entries node 2 needed were compacted away: it must have installed a snapshot"
    );
    let expected: Vec<Option<String>> =
        keys.iter().map(|k| Some(format!("value of {k}"))).collect();
    assert_eq!(
        values(&cluster.url(2), &keys).await,
        expected,
        "a follower caught up from a snapshot serves every write it missed"
    );
}
