//! Chapter-wide tests on real nodes over loopback: failover, fencing, no lost writes,
//! linearizable histories under crashes and partitions, bad input.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chapter5::api::{CLIENT_ID_HEADER, REQUEST_ID_HEADER};
use chapter5::validate::MAX_BODY_BYTES;
use chapter5::{Client, ClientError, Retry};
use harness::history::{KvOp, KvOutput, Outcome, Recorder};
use harness::linearizability::check;

use crate::common::{
    PATIENCE, agreed_leader, group, http, settled_leader, status, urls, wait_status,
};
use crate::linearizable::recorded;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_after_the_leader_crashes_a_new_leader_is_elected_and_serves_writes() {
    let mut cluster = group(5, 1);
    let (old, old_term) = settled_leader(&cluster, &[0, 1, 2, 3, 4]).await;
    // Two clients, every call recorded: the history across the failover is checked
    // (and kept for the book's timeline with `KEEP_HISTORIES`).
    let recorder = Recorder::new();
    let (writer, reader) = (
        Client::new(&urls(&cluster)).expect("valid addresses"),
        Client::new(&urls(&cluster)).expect("valid addresses"),
    );
    let put = |value: &str| KvOp::Put {
        key: "k".into(),
        value: value.into(),
        if_version: None,
    };
    let get = || KvOp::Get { key: "k".into() };
    let before = recorded(&recorder, &writer, 0, put("before")).await;
    recorded(&recorder, &reader, 1, get()).await;
    cluster.kill(old);
    // The writer's next write and the reader's read ride out the election.
    let (after, _) = tokio::join!(
        recorded(&recorder, &writer, 0, put("after")),
        recorded(&recorder, &reader, 1, get())
    );
    let rest: Vec<usize> = (0..5).filter(|&i| i != old).collect();
    let (new, new_term) = settled_leader(&cluster, &rest).await;
    assert_ne!(
        new, old,
        "the crashed leader {old} cannot be the new leader"
    );
    assert!(new_term > old_term, "a new leader leads a newer term");
    let version = |outcome: &Outcome| match outcome {
        Outcome::Ok(KvOutput::Written { version }) => *version,
        other => panic!("a write through the failover: {other:?}"),
    };
    assert!(
        version(&after) > version(&before),
        "a write through the new leader gets a newer version than one through the old: versions only grow"
    );
    assert_eq!(
        recorded(&recorder, &reader, 1, get()).await,
        Outcome::Ok(KvOutput::Value(Some(("after".into(), version(&after))))),
        "the reader sees the write made through the new leader"
    );
    let history = recorder.operations();
    check(&history, Duration::from_secs(5)).assert_linearizable();
    recorder
        .keep("chapter5-failover")
        .expect("keeping the history");
    // The old leader comes back as a follower and catches up.
    cluster.restart(old).await.expect("restart");
    let (leader, _) = settled_leader(&cluster, &[0, 1, 2, 3, 4]).await;
    assert_eq!(
        leader, new,
        "a restarted node does not disturb a healthy leader"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_no_acknowledged_write_is_lost_over_50_forced_failovers_with_concurrent_clients() {
    let mut cluster = group(5, 2);
    settled_leader(&cluster, &[0, 1, 2, 3, 4]).await;
    let addresses = urls(&cluster);
    let stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..4 {
        let client = Client::new(&addresses)
            .expect("valid addresses")
            .with_retry(Retry {
                deadline: Duration::from_secs(30),
                // Retries close together: the next write lands soon after an election.
                backoff_max: Duration::from_millis(40),
                ..Retry::default()
            });
        let stop = Arc::clone(&stop);
        let acks = Arc::clone(&acks);
        writers.push(tokio::spawn(async move {
            // Each writer owns its keys; the last acknowledged value of each must survive.
            let mut acked: BTreeMap<String, String> = BTreeMap::new();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("w{w}-{}", i % 10);
                let value = format!("w{w}-{i}");
                match client.put(&key, &value).await {
                    Ok(_) => {
                        acked.insert(key, value);
                        acks.fetch_add(1, Ordering::Relaxed);
                    }
                    // Unknown outcome: the key may hold either value; stop checking it.
                    Err(_) => {
                        acked.remove(&key);
                    }
                }
                i += 1;
            }
            acked
        }));
    }
    let mut alive = [true; 5];
    for round in 0..50 {
        let among: Vec<usize> = (0..5).filter(|&i| alive[i]).collect();
        // The failover is over when a write is acknowledged again; then the leader the
        // nodes up agree on goes down (the writers never stop, so its log is rarely idle
        // long enough for `settled_leader`).
        let before = acks.load(Ordering::Relaxed);
        harness::eventually(PATIENCE, "a write acknowledged after the failover", || {
            let now = acks.load(Ordering::Relaxed);
            async move {
                match now > before {
                    true => Ok(()),
                    false => Err(format!("round {round}: still {now} acknowledged writes")),
                }
            }
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let (leader, _) = agreed_leader(&cluster, &among).await;
        cluster.kill(leader);
        alive[leader] = false;
        // Bring back the node killed in the previous round, so a majority stays up.
        if let Some(down) = (0..5).find(|&i| !alive[i] && i != leader) {
            cluster.restart(down).await.expect("restart");
            alive[down] = true;
        }
    }
    for (i, up) in alive.iter().enumerate() {
        if !up {
            cluster.restart(i).await.expect("restart");
        }
    }
    settled_leader(&cluster, &[0, 1, 2, 3, 4]).await;
    stop.store(true, Ordering::Relaxed);
    let reader = Client::new(&addresses).expect("valid addresses");
    let mut checked = 0;
    for writer in writers {
        let acked = writer.await.expect("a writer panicked");
        for (key, value) in acked {
            let read = reader.get(&key).await.expect("a read");
            assert_eq!(
                read.map(|e| e.value),
                Some(value.clone()),
                "{key}: the last acknowledged write ({value}) was lost"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "only {checked} keys had an acknowledged last write"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_leader_cut_off_in_a_minority_never_acknowledges_and_steps_down_when_healed() {
    let cluster = group(5, 3);
    let (old, old_term) = settled_leader(&cluster, &[0, 1, 2, 3, 4]).await;
    let old_url = cluster.direct_url(old);
    // The old leader and one follower on one side, three nodes on the other.
    let buddy = (old + 1) % 5;
    let majority: Vec<usize> = (0..5).filter(|&i| i != old && i != buddy).collect();
    cluster.partition(&[&[old, buddy], &majority]);
    // Writes sent straight to the old leader are never acknowledged: 504, 503 or 421.
    let lonely = Client::new(std::slice::from_ref(&old_url))
        .expect("a valid address")
        .with_retry(Retry {
            deadline: Duration::from_millis(1),
            ..Retry::default()
        });
    for i in 0..3 {
        match lonely.put(&format!("lost{i}"), "never").await {
            Ok(entry) => {
                panic!("a leader cut off from the majority acknowledged a write: {entry:?}")
            }
            Err(ClientError::Server { .. } | ClientError::NotLeader { .. }) => {}
            Err(e) => panic!("unexpected error from the old leader: {e:#}"),
        }
    }
    let stranded = status(&old_url).await.expect("status");
    assert!(
        stranded.last_index > stranded.commit_index,
        "the old leader appended entries it could not commit: {stranded:?}"
    );
    // The majority elects a leader and takes writes.
    let (new, new_term) = settled_leader(&cluster, &majority).await;
    assert!(new_term > old_term, "a new leader leads a newer term");
    let client = Client::new(&[cluster.direct_url(new)]).expect("a valid address");
    client
        .put("lost0", "majority")
        .await
        .expect("a write in the majority");
    // Healed: the old leader learns the new term, steps down, and its uncommitted
    // entries are replaced by the new leader's log.
    cluster.heal();
    let (leader, _) = settled_leader(&cluster, &[0, 1, 2, 3, 4]).await;
    assert_ne!(leader, old, "the old leader stepped down");
    harness::eventually(PATIENCE, "the old leader to catch up", || {
        let old_url = old_url.clone();
        let new_url = cluster.direct_url(new);
        async move {
            let (a, b) = (
                status(&old_url).await.map_err(|e| e.to_string())?,
                status(&new_url).await.map_err(|e| e.to_string())?,
            );
            if a.applied_index == b.applied_index && a.last_index == b.last_index {
                Ok(())
            } else {
                Err(format!("old: {a:?}\nnew: {b:?}"))
            }
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let anywhere = Client::new(&urls(&cluster)).expect("valid addresses");
    assert_eq!(
        anywhere
            .get("lost0")
            .await
            .expect("a read")
            .map(|e| e.value),
        Some("majority".into()),
        "the minority's write vanished; the majority's stands"
    );
    for i in 1..3 {
        assert_eq!(
            anywhere.get(&format!("lost{i}")).await.expect("a read"),
            None,
            "lost{i} was never acknowledged and must not appear"
        );
    }
}

/// The client body limit, from both sides: the largest valid value goes through the log
/// to every node (one append of 1 MiB must fit the internal route's limits); one byte
/// more is refused by every node.
///
/// Written with the retrying client: on a busy machine, shipping a 1 MiB entry can take
/// longer than an election timeout, a follower then calls an election, and the write's
/// outcome is unknown; the client retries it with the same request id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_the_largest_valid_body_is_committed_and_one_byte_more_is_not() {
    let cluster = group(3, 8);
    settled_leader(&cluster, &[0, 1, 2]).await;
    let client = Client::new(&urls(&cluster))
        .expect("valid addresses")
        .with_retry(Retry {
            deadline: Duration::from_secs(60),
            ..Retry::default()
        });
    let largest = "v".repeat(MAX_BODY_BYTES - r#"{"value":""}"#.len());
    let written = client
        .put("big", &largest)
        .await
        .unwrap_or_else(|e| panic!("a body of exactly {MAX_BODY_BYTES} bytes: {e}"));
    let read = client.get("big").await.expect("a read");
    assert_eq!(
        read.map(|e| (e.value.len(), e.version)),
        Some((largest.len(), written.version)),
        "the largest value reads back whole"
    );
    let (leader, _) = settled_leader(&cluster, &[0, 1, 2]).await;
    let written = status(&cluster.direct_url(leader))
        .await
        .expect("the leader's status")
        .commit_index;
    for node in 0..3 {
        wait_status(
            &cluster,
            node,
            "every node to apply the largest value",
            |s| s.applied_index >= written,
        )
        .await;
        let url = cluster.direct_url(node);
        let response = http()
            .put(format!("{url}/kv/big"))
            .header("content-type", "application/json")
            .body(format!(r#"{{"value":"{largest}v"}}"#))
            .send()
            .await
            .expect("an answer");
        let code = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        assert_eq!(
            (code, body["error"].as_str()),
            (413, Some("too_large")),
            "node {node}: one byte over the limit"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_bad_requests_get_json_errors_and_change_nothing() {
    let cluster = group(3, 5);
    let (leader, _) = settled_leader(&cluster, &[0, 1, 2]).await;
    let base = cluster.direct_url(leader);
    let before = status(&base).await.expect("status");
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            http()
                .put(format!("{base}/kv/k"))
                .header("x-client-id", "a")
                .json(&serde_json::json!({"value": "v"})),
            400,
            "invalid_body",
        ),
        (
            http()
                .put(format!("{base}/kv/k"))
                .header("x-client-id", "a")
                .header("x-request-id", "zero")
                .json(&serde_json::json!({"value": "v"})),
            400,
            "invalid_body",
        ),
        (http().get(format!("{base}/kv/missing")), 404, "not_found"),
        (
            http().delete(format!("{base}/kv/missing")),
            404,
            "not_found",
        ),
        (
            http()
                .put(format!("{base}/kv/k"))
                .json(&serde_json::json!({"value": "v", "if_version": 5})),
            409,
            "version_mismatch",
        ),
    ];
    // Valid JSON that is not an object (serde alone would take the first three for one).
    let shapes = harness::json_body::NOT_OBJECTS.map(|body| {
        (
            http()
                .put(format!("{base}/kv/k"))
                .header("content-type", "application/json")
                .body(body),
            400,
            "invalid_body",
        )
    });
    for (request, code, error) in cases.into_iter().chain(shapes) {
        let response = request.send().await.expect("an answer");
        let status_code = response.status().as_u16();
        let body: serde_json::Value = response.json().await.expect("a JSON body");
        assert_eq!(
            (status_code, body["error"].as_str()),
            (code, Some(error)),
            "{body}"
        );
    }
    let after = status(&base).await.expect("status");
    assert_eq!(after.term, before.term, "no bad message moved the term");
    assert_eq!(
        after.leader_id, before.leader_id,
        "no bad request changed who leads"
    );
    // A follower answers 421 with the leader's address.
    let follower = cluster.direct_url((leader + 1) % 3);
    let response = http()
        .put(format!("{follower}/kv/k"))
        .json(&serde_json::json!({"value": "v"}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(
        response.status(),
        421,
        "a follower answers a write with 421 rather than serving it"
    );
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(
        body["leader"],
        serde_json::json!(base),
        "the 421 names the leader's address so the client can go there"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_write_retried_after_a_failover_or_a_full_restart_is_not_applied_twice() {
    let mut cluster = group(3, 6);
    let (leader, _) = settled_leader(&cluster, &[0, 1, 2]).await;
    // The same named write, sent to whichever node leads now.
    let send = |base: String, value: &'static str| async move {
        let response = http()
            .put(format!("{base}/kv/once"))
            .header(CLIENT_ID_HEADER, "bob")
            .header(REQUEST_ID_HEADER, "1")
            .json(&serde_json::json!({ "value": value }))
            .send()
            .await
            .expect("an answer");
        assert_eq!(
            response.status(),
            200,
            "a named write is acknowledged, the first time and when retried"
        );
        let body: serde_json::Value = response.json().await.expect("JSON");
        body["version"].as_u64().expect("a version")
    };
    let first = send(cluster.direct_url(leader), "first").await;
    let client = Client::new(&urls(&cluster)).expect("valid addresses");
    client
        .put("once", "overwritten")
        .await
        .expect("another write");
    // Failover: the new leader learnt the request table from the log.
    cluster.kill(leader);
    let rest: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    let (new, _) = settled_leader(&cluster, &rest).await;
    assert_eq!(
        send(cluster.direct_url(new), "retry").await,
        first,
        "the new leader answers the retry with the first write's version"
    );
    // Every node down and up again: the table is rebuilt from the log on disk.
    for i in rest {
        cluster.kill(i);
    }
    for i in 0..3 {
        cluster.restart(i).await.expect("restart");
    }
    let (leader, _) = settled_leader(&cluster, &[0, 1, 2]).await;
    assert_eq!(
        send(cluster.direct_url(leader), "retry").await,
        first,
        "after a full restart the retry still gets the first write's version: the request table is rebuilt from the log"
    );
    assert_eq!(
        client.get("once").await.expect("a read").map(|e| e.value),
        Some("overwritten".into()),
        "no retry wrote again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_kept_alive_connection_survives_every_refusal() -> anyhow::Result<()> {
    let cluster = group(3, 1);
    let report = harness::keep_alive::survives_refusals_at_leader(
        || async { cluster.direct_url(settled_leader(&cluster, &[0, 1, 2]).await.0) },
        |base| harness::keep_alive::Target {
            base,
            body_limit: MAX_BODY_BYTES,
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
