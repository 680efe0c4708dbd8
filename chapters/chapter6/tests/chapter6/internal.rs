//! The route between nodes, attacked: without the cluster's key, with messages no correct
//! peer sends, and with a flood. The node must refuse each with a JSON error, change
//! nothing it should not, hold its memory bounded, and keep serving.

use std::time::Duration;

use chapter6::Client;
use chapter6::node::MAX_TERM;
use chapter6::raft::{Compaction, MAX_CHUNK_BYTES, MAX_SNAPSHOT_BYTES};
use chapter6::server::MAX_INTERNAL_BODY_BYTES;
use harness::cluster::Cluster;
use harness::cluster_key::{CLUSTER_KEY_HEADER, peer_client};
use serde_json::{Value, json};

use crate::common::{PATIENCE, group, http, settled_leader, status, urls, wait_status};

/// A client that sends the cluster's key, as a peer does.
fn peer(cluster: &Cluster) -> reqwest::Client {
    peer_client(Duration::from_secs(5), cluster.cluster_key()).expect("a client builds")
}

/// One envelope from `from` to `to`.
fn envelope(from: usize, to: usize, message: Value) -> Value {
    json!({"from": from, "from_url": "http://127.0.0.1:9", "to": to, "message": message})
}

/// Posts a batch; returns the status code and the JSON body.
async fn post(client: &reqwest::Client, base: &str, body: &Value) -> (u16, Value) {
    let response = client
        .post(format!("{base}/internal/raft"))
        .json(body)
        .send()
        .await
        .expect("an answer");
    let code = response.status().as_u16();
    (code, response.json().await.expect("a JSON body"))
}

/// A write and a read through the whole group, and no node stopped.
async fn group_still_serves(cluster: &Cluster, round: usize) {
    let client = Client::new(&urls(cluster)).expect("valid addresses");
    let key = format!("after-{round}");
    let written = client.put(&key, "still here").await.unwrap_or_else(|e| {
        panic!("the group no longer takes writes after bad peer messages: {e}")
    });
    let read = client.get(&key).await.expect("a read");
    assert_eq!(
        read.map(|e| e.version),
        Some(written.version),
        "a read after a write sees that write: the group still serves"
    );
    for i in 0..cluster.len() {
        let s = status(&cluster.direct_url(i)).await.expect("status");
        assert_eq!(s.fault, None, "node {i} stopped after bad peer messages");
    }
}

// ANCHOR: without_key
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_internal_routes_refuse_requests_without_the_cluster_key() {
    let cluster = group(3, 11, Compaction::DEFAULT);
    let (leader, _) = settled_leader(&cluster, &[0, 1, 2]).await;
    let base = cluster.direct_url(leader);
    let before = status(&base).await.expect("status");
    // A vote request with a huge term: with it, anyone could force elections.
    let forged = json!({"envelopes": [envelope(
        (leader + 1) % 3,
        leader,
        json!({"type": "request_vote", "term": MAX_TERM, "last_log_index": 1_000_000, "last_log_term": MAX_TERM}),
    )]});
    let wrong = reqwest::Client::new()
        .post(format!("{base}/internal/raft"))
        .header(CLUSTER_KEY_HEADER, "not-the-cluster-key-at-all")
        .json(&forged);
    for (what, request) in [
        (
            "no key",
            http().post(format!("{base}/internal/raft")).json(&forged),
        ),
        ("a wrong key", wrong),
    ] {
        let response = request.send().await.expect("an answer");
        assert_eq!(response.status(), 401, "a request with {what}");
        let body: Value = response.json().await.expect("a JSON body");
        assert_eq!(body["error"], "unauthorized", "{body}");
    }
    let after = status(&base).await.expect("status");
    assert_eq!(
        (after.term, after.role.as_str()),
        (before.term, "leader"),
        "a refused message changed nothing"
    );
    // The same cluster's key is let in (and this message is then judged on its merits).
    let (code, _) = post(&peer(&cluster), &base, &json!({"envelopes": []})).await;
    assert_eq!(code, 202, "a request carrying the cluster's key is let in");
}
// ANCHOR_END: without_key

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_no_peer_message_stops_a_node() {
    let cluster = group(3, 12, Compaction::DEFAULT);
    let (leader, term) = settled_leader(&cluster, &[0, 1, 2]).await;
    let follower = (leader + 1) % 3;
    let other = (leader + 2) % 3;
    group_still_serves(&cluster, 0).await; // entries 1 and 2 are committed...
    for node in 0..3 {
        // ...and every node knows it (a follower learns it from the next append).
        wait_status(
            &cluster,
            node,
            "every node to know entry 2 is committed",
            |s| s.commit_index >= 2,
        )
        .await;
    }
    let client = peer(&cluster);
    let noop = json!({"op": "noop"});
    // Each: (what it is, receiver, sender, message); every one must be a 400.
    let cases = [
        (
            "an append that would replace a committed entry (follower)",
            follower,
            leader,
            json!({"type": "append", "term": term, "prev_index": 0, "prev_term": 0, "commit": 0,
                   "entries": [{"index": 1, "term": 0, "command": noop}]}),
        ),
        (
            "an append that would replace a committed entry (leader)",
            leader,
            other,
            json!({"type": "append", "term": term, "prev_index": 1, "prev_term": term, "commit": 0,
                   "entries": [{"index": 2, "term": 0, "command": noop}]}),
        ),
        (
            "misnumbered entries",
            follower,
            leader,
            json!({"type": "append", "term": term, "prev_index": 0, "prev_term": 0, "commit": 0,
                   "entries": [{"index": 1, "term": term, "command": noop}, {"index": 3, "term": term, "command": noop}]}),
        ),
        (
            "entries past the last possible index",
            follower,
            leader,
            json!({"type": "append", "term": term, "prev_index": u64::MAX, "prev_term": term, "commit": u64::MAX,
                   "entries": [{"index": u64::MAX, "term": term, "command": noop}]}),
        ),
        (
            "an entry of a later term than its append's",
            follower,
            leader,
            json!({"type": "append", "term": term, "prev_index": 0, "prev_term": 0, "commit": 0,
                   "entries": [{"index": 1, "term": term + 1, "command": noop}]}),
        ),
        (
            "an absurd term",
            follower,
            leader,
            json!({"type": "vote", "term": MAX_TERM + 1, "granted": true}),
        ),
        (
            "a non-member sender",
            follower,
            7,
            json!({"type": "vote", "term": term, "granted": true}),
        ),
        (
            "a snapshot whose data is no state machine",
            follower,
            leader,
            json!({"type": "install_snapshot", "term": term, "last_index": 1000, "last_term": term,
                   "offset": 0, "data": "{\"not\": \"a machine\"}", "done": true}),
        ),
        (
            "a snapshot whose data is a machine at another index",
            follower,
            leader,
            json!({"type": "install_snapshot", "term": term, "last_index": 1000, "last_term": term,
                   "offset": 0, "data": "{\"applied\":7,\"data\":{},\"sessions\":{}}", "done": true}),
        ),
        (
            "a snapshot piece larger than a piece may be",
            follower,
            leader,
            json!({"type": "install_snapshot", "term": term, "last_index": 1000, "last_term": term,
                   "offset": 0, "data": "x".repeat(MAX_CHUNK_BYTES + 1), "done": false}),
        ),
        (
            "a snapshot piece past the largest snapshot",
            follower,
            leader,
            json!({"type": "install_snapshot", "term": term, "last_index": 1000, "last_term": term,
                   "offset": MAX_SNAPSHOT_BYTES, "data": "x", "done": false}),
        ),
        (
            "a snapshot of a later term than its sender's",
            follower,
            leader,
            json!({"type": "install_snapshot", "term": term, "last_index": 1000, "last_term": term + 1,
                   "offset": 0, "data": "", "done": false}),
        ),
    ];
    for (round, (what, to, from, message)) in cases.into_iter().enumerate() {
        let base = cluster.direct_url(to);
        let batch = json!({"envelopes": [envelope(from, to, message)]});
        let (code, body) = post(&client, &base, &batch).await;
        assert_eq!(
            (code, body["error"].as_str()),
            (400, Some("invalid_body")),
            "{what}: {body}"
        );
        group_still_serves(&cluster, round + 1).await;
    }
    // Bodies that are JSON but not a batch.
    for body in [json!({"nonsense": 1}), json!([]), json!([[]])] {
        let (code, answer) = post(&client, &cluster.direct_url(follower), &body).await;
        assert_eq!(
            (code, answer["error"].as_str()),
            (400, Some("invalid_body")),
            "{body}: {answer}"
        );
    }
}

/// The process's resident memory in bytes (Linux), to show a flood holds it bounded.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_flood_of_internal_requests_is_bounded_and_the_node_recovers() {
    const SENDERS: usize = 64;
    const EACH: usize = 4;
    let cluster = group(3, 13, Compaction::DEFAULT);
    let (leader, _) = settled_leader(&cluster, &[0, 1, 2]).await;
    let follower = cluster.direct_url((leader + 1) % 3);
    // Bodies just over the limit: a node that buffered every one would hold
    // SENDERS x 17 MiB (over a GiB) at once.
    let body = bytes_of_size(MAX_INTERNAL_BODY_BYTES + (1 << 20));
    let baseline = resident_bytes();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let peak = std::sync::Arc::clone(&peak);
        tokio::spawn(async move {
            loop {
                if let Some(now) = resident_bytes() {
                    peak.fetch_max(now, std::sync::atomic::Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let client = peer(&cluster);
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..SENDERS {
        let (client, url, body) = (client.clone(), follower.clone(), body.clone());
        senders.spawn(async move {
            let mut codes = Vec::new();
            for _ in 0..EACH {
                let sent = client
                    .post(format!("{url}/internal/raft"))
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                // A node that sheds load may close the connection mid-body: that is
                // a refusal too.
                codes.push(sent.map_or(0, |r| r.status().as_u16()));
            }
            codes
        });
    }
    let mut codes = Vec::new();
    while let Some(result) = senders.join_next().await {
        codes.extend(result.expect("a sender task"));
    }
    sampler.abort();
    assert!(
        codes.iter().all(|&c| [0, 413, 503].contains(&c)),
        "every flooding request is refused as too large or shed, never served or failed: {codes:?}"
    );
    assert!(
        codes.contains(&413),
        "some were read up to the limit: {codes:?}"
    );
    if let Some(baseline) = baseline {
        let grown = peak
            .load(std::sync::atomic::Ordering::Relaxed)
            .saturating_sub(baseline);
        assert!(
            grown < 512 << 20,
            "memory grew by {} MiB under the flood: bodies or queues are not bounded",
            grown >> 20
        );
    }
    // It recovers: the flooded follower takes part in the next writes.
    group_still_serves(&cluster, 0).await;
    let leader_index = status(&cluster.direct_url(leader))
        .await
        .expect("status")
        .last_index;
    harness::eventually(PATIENCE, "the flooded follower to catch up", || {
        let follower = follower.clone();
        async move {
            let s = status(&follower).await.map_err(|e| e.to_string())?;
            if s.commit_index >= leader_index {
                Ok(())
            } else {
                Err(format!("commit index {} < {leader_index}", s.commit_index))
            }
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

/// A JSON object of `size` bytes (spaces inside the braces).
fn bytes_of_size(size: usize) -> axum::body::Bytes {
    let mut body = vec![b' '; size];
    body[0] = b'{';
    body[size - 1] = b'}';
    axum::body::Bytes::from(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_kept_alive_connection_survives_every_refusal() -> anyhow::Result<()> {
    let cluster = crate::common::group(3, 1, chapter6::raft::Compaction::DEFAULT);
    let report = harness::keep_alive::survives_refusals_at_leader(
        || async {
            cluster.direct_url(crate::common::settled_leader(&cluster, &[0, 1, 2]).await.0)
        },
        |base| harness::keep_alive::Target {
            base,
            body_limit: chapter6::validate::MAX_BODY_BYTES,
            internal: Some("/internal/raft".into()),
        },
        2_000,
        |i| format!("kept-{i}"),
    )
    .await?;
    assert_eq!(
        report.written + report.refused,
        2_000,
        "every request of the mix was answered on the one connection to the leader: {report:?}"
    );
    Ok(())
}
