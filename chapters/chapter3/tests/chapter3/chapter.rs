//! Chapter-wide tests: convergence, the hand failover lesson, bad input.

use std::sync::Arc;
use std::time::Duration;

use chapter3::replication::AckMode;
use chapter3::validate::MAX_BODY_BYTES;
use chapter3::{Client, ClientError};
use harness::cluster::Cluster;
use harness::history::{KvOp, KvOutput, Outcome, Recorder};
use harness::limits::check_body_limit;
use harness::linearizability::{Verdict, check};

use crate::common::{PATIENCE, call, call_with, group, http, peer_http, put, status, wait_status};

/// Every node's value for each key.
async fn read_all(cluster: &Cluster, node: usize, keys: &[String]) -> Vec<Option<String>> {
    let client = Client::new(&cluster.direct_url(node)).expect("a valid address");
    let mut out = Vec::new();
    for key in keys {
        out.push(match client.get(key).await {
            Ok(entry) => entry.map(|e| e.value),
            Err(e) => panic!("GET {key} on node {node}: {e:#}"),
        });
    }
    out
}

/// The client body limit, from both sides: the largest valid value is replicated to
/// every follower (in `all` mode, before the answer); one byte more is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_the_largest_valid_body_is_replicated_and_one_byte_more_is_not() {
    let cluster = group(3, AckMode::All, |_| {});
    let url = format!("{}/kv/big", cluster.direct_url(0));
    check_body_limit(&http(), &url, &url, MAX_BODY_BYTES)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let largest = MAX_BODY_BYTES - r#"{"value":""}"#.len();
    for node in 1..3 {
        let read = read_all(&cluster, node, &["big".to_string()]).await;
        assert_eq!(
            read[0].as_ref().map(String::len),
            Some(largest),
            "node {node} has the largest value, whole"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_all_replicas_converge_to_the_same_log_and_state() {
    let cluster = group(3, AckMode::Quorum, |config| config.max_batch = 8);
    let client = Arc::new(Client::new(&cluster.url(0)).expect("a valid address"));
    let mut writers = Vec::new();
    for w in 0..8 {
        let client = Arc::clone(&client);
        writers.push(tokio::spawn(async move {
            for i in 0..25 {
                let key = format!("k{}", (w * 7 + i) % 20);
                client
                    .put(&key, &format!("w{w}-{i}"))
                    .await
                    .unwrap_or_else(|e| panic!("writer {w}: {e:#}"));
            }
        }));
    }
    for writer in writers {
        writer.await.expect("a writer panicked");
    }
    let keys: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
    let leader = status(&cluster.direct_url(0))
        .await
        .expect("the leader's status");
    assert_eq!(
        leader.last_index, 200,
        "the leader's log holds one entry per acknowledged write: 8 writers x 25 puts"
    );
    for i in 1..3 {
        let follower = wait_status(&cluster, i, "the follower to apply all 200 writes", |s| {
            s.applied_index == 200
        })
        .await;
        assert_eq!(
            (follower.last_index, follower.last_term),
            (leader.last_index, leader.last_term),
            "node {i} applied all 200 writes, so its log ends at the same index and term as the leader's"
        );
    }
    let on_leader = read_all(&cluster, 0, &keys).await;
    for i in 1..3 {
        assert_eq!(
            read_all(&cluster, i, &keys).await,
            on_leader,
            "node {i} differs from the leader"
        );
    }
}

/// The hand failover the book describes: the old leader is dead; promote the follower
/// whose log is most up to date, by (last term, last index).
async fn fail_over(cluster: &mut Cluster, candidates: &[usize]) -> usize {
    cluster.kill(0);
    let mut best = ((0, 0), candidates[0]);
    for &i in candidates {
        let s = status(&cluster.direct_url(i))
            .await
            .expect("a follower's status");
        if (s.last_term, s.last_index) >= best.0 {
            best = ((s.last_term, s.last_index), i);
        }
    }
    let (code, body) = call_with(
        &peer_http(cluster),
        reqwest::Method::POST,
        &format!("{}/internal/promote", cluster.direct_url(best.1)),
        None,
    )
    .await
    .expect("promoting a follower");
    assert_eq!(code, 200, "{body}");
    best.1
}

/// Writes `n` keys through the leader, recording each call, with a conditional write
/// on every second key and a delete of every third (of keys of their own, so `lost`
/// counts plain writes only); then fails over and reads every key from the new leader,
/// recording that too.
async fn write_fail_over_read(cluster: &mut Cluster, n: usize) -> (Recorder, usize, usize) {
    let recorder = Recorder::new();
    let client = Client::new(&cluster.url(0)).expect("a valid address");
    let mut acknowledged = 0;
    let mut keys = Vec::new();
    for i in 0..n {
        let (key, value) = (format!("k{i}"), format!("v{i}"));
        let outcome = record(&recorder, &client, put_op(&key, &value, None)).await;
        acknowledged += usize::from(matches!(outcome, Some(KvOutput::Written { .. })));
        keys.push(key);
        if i % 2 == 0 {
            // Created if absent, then replaced only at the version it was created with.
            let key = format!("c{i}");
            let created = record(&recorder, &client, put_op(&key, "first", Some(0))).await;
            if let Some(KvOutput::Written { version }) = created {
                record(&recorder, &client, put_op(&key, "second", Some(version))).await;
            }
            keys.push(key);
        }
        if i % 3 == 0 {
            let key = format!("d{i}");
            record(&recorder, &client, put_op(&key, "doomed", None)).await;
            record(&recorder, &client, KvOp::Delete { key: key.clone() }).await;
            keys.push(key);
        }
    }
    let new_leader = fail_over(cluster, &[1, 2]).await;
    let client = Client::new(&cluster.url(new_leader)).expect("a valid address");
    let mut lost = 0;
    for key in keys {
        let call = recorder.invoke(1, KvOp::Get { key: key.clone() });
        let found = harness::eventually(PATIENCE, "a read on the new leader", || async {
            client.get(&key).await.map_err(|e| format!("{e:#}"))
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|e| (e.value, e.version));
        if found.is_none() && key.starts_with('k') {
            lost += 1;
        }
        call.finish(Outcome::Ok(KvOutput::Value(found)));
    }
    (recorder, acknowledged, lost)
}

fn put_op(key: &str, value: &str, if_version: Option<u64>) -> KvOp {
    KvOp::Put {
        key: key.to_string(),
        value: value.to_string(),
        if_version,
    }
}

/// Runs one write through the leader and records it: an answer is its output, a
/// `5xx` or a lost connection leaves the outcome unknown. Returns the output.
async fn record(recorder: &Recorder, client: &Client, op: KvOp) -> Option<KvOutput> {
    let call = recorder.invoke(0, op.clone());
    let result = match &op {
        KvOp::Put {
            key,
            value,
            if_version,
        } => {
            let put = match if_version {
                None => client.put(key, value).await,
                Some(version) => client.put_if(key, value, *version).await,
            };
            match put {
                Ok(entry) => Ok(KvOutput::Written {
                    version: entry.version,
                }),
                Err(ClientError::VersionMismatch { current }) => Ok(KvOutput::Mismatch { current }),
                Err(e) => Err(e),
            }
        }
        KvOp::Delete { key } => match client.delete(key).await {
            Ok(version) => Ok(KvOutput::Deleted { version }),
            Err(ClientError::NotFound) => Ok(KvOutput::NotFound),
            Err(e) => Err(e),
        },
        KvOp::Get { .. } => unreachable!("only writes are recorded here"),
    };
    match result {
        Ok(output) => {
            call.finish(Outcome::Ok(output.clone()));
            Some(output)
        }
        Err(ClientError::Server { .. } | ClientError::Transport { .. }) => {
            call.finish(Outcome::Unknown);
            None
        }
        Err(e) => panic!("{op}: {e:#}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_with_async_acks_a_hand_failover_loses_acknowledged_writes() {
    let mut cluster = group(3, AckMode::Async, |_| {});
    // The followers fall behind (here: cut off; in life: slow disks, a busy network).
    cluster.cut(0, 1);
    cluster.cut(0, 2);
    let (recorder, acknowledged, lost) = write_fail_over_read(&mut cluster, 10).await;
    assert_eq!(
        acknowledged, 10,
        "async acknowledges what the leader alone has"
    );
    assert_eq!(
        lost, 10,
        "none of it reached a follower: the promoted one has none of it"
    );
    let verdict = check(&recorder.operations(), Duration::from_secs(10));
    assert!(
        matches!(verdict, Verdict::Violation { .. }),
        "acknowledged, then gone: the history cannot be linearizable, got {verdict}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_with_quorum_acks_promoting_the_most_up_to_date_follower_loses_nothing() {
    let mut cluster = group(3, AckMode::Quorum, |_| {});
    cluster.cut(0, 2); // one follower behind, as above; the other keeps up
    let (recorder, acknowledged, lost) = write_fail_over_read(&mut cluster, 10).await;
    assert_eq!(
        acknowledged, 10,
        "with quorum acks the leader and one follower are a majority: every write is acknowledged"
    );
    assert_eq!(
        lost, 0,
        "every acknowledged write is on a majority, so on the longest log"
    );
    check(&recorder.operations(), Duration::from_secs(10)).assert_linearizable();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_late_snapshot_does_not_roll_a_follower_back() {
    let cluster = group(3, AckMode::All, |_| {});
    for i in 0..5 {
        put(&cluster.url(0), &format!("k{i}"), "v").await;
    }
    wait_status(&cluster, 1, "node 1 to apply 5 writes", |s| {
        s.applied_index == 5
    })
    .await;
    // A snapshot of index 2 from the current leader, delivered late (after a retry).
    let late = serde_json::json!({
        "term": 1, "leader_id": 0, "leader_url": cluster.direct_url(0),
        "snapshot": {"last_index": 2, "last_term": 1, "entries": {}}
    });
    let (code, body) = call_with(
        &peer_http(&cluster),
        reqwest::Method::POST,
        &format!("{}/internal/snapshot", cluster.direct_url(1)),
        Some(late),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        (code, body["result"].as_str()),
        (200, Some("accepted")),
        "{body}"
    );
    let s = status(&cluster.direct_url(1)).await.expect("status");
    assert_eq!(
        (s.applied_index, s.last_index, s.keys),
        (5, 5, 5),
        "installing an older snapshot would drop entries node 1 has acknowledged"
    );
}

/// Each error answer of the API becomes the typed error a caller acts on: a stale
/// version says which version is current, a refused request is the caller's to fix, a
/// failure of the server is not, and a body that breaks the API's rules is a protocol
/// error rather than a guess.
#[test]
fn chapter_the_client_turns_each_error_answer_into_its_typed_error() {
    use chapter3::client::error_from_response;
    use reqwest::StatusCode;
    let typed = |status: u16, body: serde_json::Value| {
        let status = StatusCode::from_u16(status).expect("a valid status");
        error_from_response(status, body.to_string().as_bytes())
    };
    let error = typed(
        409,
        serde_json::json!({"error": "version_mismatch", "message": "m", "current_version": 7}),
    );
    assert!(
        matches!(error, ClientError::VersionMismatch { current: 7 }),
        "{error:?}"
    );
    let error = typed(
        409,
        serde_json::json!({"error": "version_mismatch", "message": "m"}),
    );
    assert!(
        matches!(error, ClientError::Protocol { .. }),
        "a mismatch that does not say the current version: {error:?}"
    );
    let error = typed(
        400,
        serde_json::json!({"error": "invalid_key", "message": "m"}),
    );
    assert!(
        matches!(&error, ClientError::Rejected { status, code, .. } if status.as_u16() == 400 && code == "invalid_key"),
        "{error:?}"
    );
    let error = typed(
        503,
        serde_json::json!({"error": "unavailable", "message": "m"}),
    );
    assert!(
        matches!(&error, ClientError::Server { status, code, .. } if status.as_u16() == 503 && code == "unavailable"),
        "{error:?}"
    );
    let error = typed(
        404,
        serde_json::json!({"error": "not_found", "message": "m"}),
    );
    assert!(matches!(error, ClientError::NotFound), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_quorum_keeps_acknowledging_with_one_of_three_nodes_down() {
    let mut cluster = group(3, AckMode::Quorum, |_| {});
    let leader = cluster.url(0);
    put(&leader, "before", "1").await;
    cluster.kill(2);
    for i in 0..20 {
        put(&leader, &format!("k{i}"), "v").await; // panics with the answer if refused
    }
    let status = wait_status(&cluster, 0, "the leader to commit all 21 writes", |s| {
        s.commit_index >= 21
    })
    .await;
    assert_eq!(
        status.last_index, 21,
        "the leader's log holds exactly the 21 acknowledged writes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_all_mode_refuses_to_acknowledge_with_a_node_down() {
    let mut cluster = group(3, AckMode::All, |config| {
        config.write_timeout = Duration::from_millis(500);
    });
    let leader = cluster.url(0);
    put(&leader, "before", "1").await;
    cluster.kill(2);
    let (code, body) = call(
        reqwest::Method::PUT,
        &format!("{leader}/kv/after"),
        Some(serde_json::json!({ "value": "2" })),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        (code, body["error"].as_str()),
        (504, Some("timeout")),
        "with `all`, a write that node 2 cannot acknowledge must not be reported as done: {body}"
    );
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("2 of 3 nodes") && message.contains("unknown"),
        "the message says how many nodes have it and that the outcome is unknown: {message}"
    );
    cluster.restart(2).await.expect("restarting node 2");
    wait_status(
        &cluster,
        0,
        "the stalled write to commit once node 2 is back",
        |s| s.commit_index >= 2,
    )
    .await;
}
