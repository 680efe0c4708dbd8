//! Real nodes on loopback with snapshots on: a follower that missed thousands of writes
//! catches up through the leader's snapshot, not entry by entry; a restarted group
//! starts from its snapshots; the table of answered requests travels inside them.

use std::time::Duration;

use chapter6::api::{CLIENT_ID_HEADER, REQUEST_ID_HEADER, Status};
use chapter6::{Client, Retry};
use harness::cluster::Cluster;

use crate::common::{compaction, group, http, settled_leader, status, urls, wait_status};

/// `n` writes of distinct keys `prefix0`, `prefix1`, ..., by 128 clients at once (each
/// client names its writes; one client may have at most 64 in flight).
async fn write_many(cluster: &Cluster, prefix: &str, n: usize) {
    let mut tasks = Vec::new();
    for t in 0..128 {
        let client = Client::new(&urls(cluster))
            .expect("valid addresses")
            .with_retry(Retry {
                deadline: Duration::from_secs(10),
                ..Retry::default()
            });
        let prefix = prefix.to_string();
        tasks.push(tokio::spawn(async move {
            for k in (t..n).step_by(128) {
                client
                    .put(&format!("{prefix}{k}"), &format!("v{k}"))
                    .await
                    .unwrap_or_else(|e| panic!("write {prefix}{k}: {e}"));
            }
        }));
    }
    for task in tasks {
        task.await.expect("a writer panicked");
    }
}

/// Waits until node `i` holds `keys` keys (every write made so far, each of a key of its
/// own), and returns its status. (A leader's `/status` may lag its answers by one round,
/// so the count of writes made, not the leader's status, is the target.)
async fn caught_up(cluster: &Cluster, i: usize, keys: usize) -> Status {
    wait_status(cluster, i, "the follower to hold every key written", |s| {
        s.keys == keys
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_follower_down_for_1500_writes_catches_up_through_a_snapshot() {
    // The real shell and HTTP; `bounded.rs` does the same with 10,000 writes in memory.
    let mut cluster = group(3, 21, compaction(200, 16 * 1024));
    let (leader, _) = settled_leader(&cluster, &[0, 1, 2]).await;
    let follower = (leader + 1) % 3;
    cluster.kill(follower);
    write_many(&cluster, "k", 1_500).await;
    // Once it has applied the last writes (a node that lost the lead meanwhile learns
    // the commit index a heartbeat later), it has compacted.
    wait_status(&cluster, leader, "the leader to compact past 1,200", |s| {
        s.snapshot_index >= 1_200
    })
    .await;
    cluster.restart(follower).await.expect("restart");
    let back = caught_up(&cluster, follower, 1_500).await;
    assert!(
        back.snapshots_installed >= 1,
        "the follower caught up through the leader's snapshot: {back:?}"
    );
    // What follows the leader's snapshot comes as entries: fewer than one snapshot
    // interval (200) plus the writes of a round or two.
    assert!(
        back.entries_received < 500,
        "it was sent {} entries, not the 1,500 it missed",
        back.entries_received
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_follower_cut_off_through_several_snapshots_catches_up_when_healed() {
    let cluster = group(3, 22, compaction(200, 1024));
    let (leader, _) = settled_leader(&cluster, &[0, 1, 2]).await;
    let follower = (leader + 2) % 3;
    let others: Vec<usize> = (0..3).filter(|&i| i != follower).collect();
    cluster.partition(&[&[follower], &others]);
    write_many(&cluster, "p", 1_500).await;
    wait_status(
        &cluster,
        leader,
        "the leader to take several (5) snapshots meanwhile",
        |s| s.snapshots_taken >= 5,
    )
    .await;
    cluster.heal();
    let back = caught_up(&cluster, follower, 1_500).await;
    assert!(
        back.snapshots_installed >= 1,
        "the follower installed the leader's latest snapshot: {back:?}"
    );
    // And it serves on: the next writes reach it entry by entry.
    write_many(&cluster, "after", 50).await;
    caught_up(&cluster, follower, 1_550).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_retried_write_is_answered_from_a_snapshot_after_a_full_restart() {
    let mut cluster = group(3, 23, compaction(100, 64 * 1024));
    let (leader, _) = settled_leader(&cluster, &[0, 1, 2]).await;
    let send = |base: String| async move {
        let response = http()
            .put(format!("{base}/kv/once"))
            .header(CLIENT_ID_HEADER, "bob")
            .header(REQUEST_ID_HEADER, "1")
            .json(&serde_json::json!({ "value": "first" }))
            .send()
            .await
            .expect("an answer");
        assert_eq!(
            response.status(),
            200,
            "a write with a request id succeeds, first time and retried"
        );
        let body: serde_json::Value = response.json().await.expect("JSON");
        body["version"].as_u64().expect("a version")
    };
    let first = send(cluster.direct_url(leader)).await;
    let client = Client::new(&urls(&cluster)).expect("valid addresses");
    client.put("once", "overwritten").await.expect("a write");
    // Enough writes that every node snapshots past the named write: its entry is gone
    // from every log; only the snapshots' tables remember it.
    write_many(&cluster, "filler", 450).await;
    for i in 0..3 {
        wait_status(&cluster, i, "a snapshot past the named write", |s| {
            s.snapshot_index > first + 100
        })
        .await;
    }
    for i in 0..3 {
        cluster.kill(i);
    }
    for i in 0..3 {
        cluster.restart(i).await.expect("restart");
    }
    let (leader, _) = settled_leader(&cluster, &[0, 1, 2]).await;
    let restarted = status(&cluster.direct_url(leader)).await.expect("status");
    assert!(
        restarted.snapshot_index > first && restarted.log_entries < 200,
        "the node restarted from its snapshot and replayed only the tail: {restarted:?}"
    );
    assert_eq!(
        send(cluster.direct_url(leader)).await,
        first,
        "the retry gets the first answer: the table of answered requests is in the snapshot"
    );
    assert_eq!(
        client.get("once").await.expect("a read").map(|e| e.value),
        Some("overwritten".into()),
        "and the retry did not write again"
    );
}
