//! Exercise 5.7: the client finds the leader, retries, and names its writes.

use std::time::Duration;

use chapter5::api::{CLIENT_ID_HEADER, REQUEST_ID_HEADER};
use chapter5::{Client, ClientError, Retry};

use crate::common::{group, http, settled_leader, status, urls};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex7_the_client_finds_the_leader_from_any_node() {
    let cluster = group(3, 71);
    let (leader, _) = settled_leader(&cluster, &[0, 1, 2]).await;
    let follower = (leader + 1) % 3;
    // Only a follower's address: the client must follow the 421 to the leader.
    let client = Client::new(&[cluster.direct_url(follower)]).expect("a valid address");
    let entry = client
        .put("greeting", "hello")
        .await
        .unwrap_or_else(|e| panic!("a write through a follower: {e:#}"));
    assert_eq!(entry.value, "hello");
    assert_eq!(
        client
            .leader()
            .map(|u| u.as_str().trim_end_matches('/').to_string()),
        Some(cluster.direct_url(leader)),
        "the client remembers the leader"
    );
    let read = client.get("greeting").await.expect("a read");
    assert_eq!(read.map(|e| e.value), Some("hello".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex7_the_client_rides_out_a_leader_crash() {
    let mut cluster = group(3, 72);
    let (leader, _) = settled_leader(&cluster, &[0, 1, 2]).await;
    let client = Client::new(&urls(&cluster)).expect("valid addresses");
    client.put("k", "before").await.expect("a first write");
    cluster.kill(leader);
    let entry = client
        .put("k", "after")
        .await
        .unwrap_or_else(|e| panic!("the client should retry until a new leader answers: {e:#}"));
    assert_eq!(entry.value, "after");
    assert!(
        client.attempts() > 2,
        "the write needed retries ({} requests in all)",
        client.attempts()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex7_the_client_gives_up_at_its_deadline_with_the_last_error() {
    let mut cluster = group(3, 73);
    settled_leader(&cluster, &[0, 1, 2]).await;
    let urls = urls(&cluster);
    for i in 0..3 {
        cluster.kill(i);
    }
    let client = Client::new(&urls)
        .expect("valid addresses")
        .with_retry(Retry {
            deadline: Duration::from_millis(300),
            ..Retry::default()
        });
    let started = std::time::Instant::now();
    let error = client.put("k", "v").await.expect_err("nobody is up");
    assert!(matches!(error, ClientError::Transport { .. }), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the deadline bounds the retries"
    );
    assert!(
        client.attempts() >= 3,
        "it tried every node: {}",
        client.attempts()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex7_a_write_retried_with_the_same_request_id_is_applied_once() {
    let cluster = group(3, 74);
    let (leader, _) = settled_leader(&cluster, &[0, 1, 2]).await;
    let url = format!("{}/kv/counter", cluster.direct_url(leader));
    let send = |value: &'static str, seq: &'static str| {
        http()
            .put(&url)
            .header(CLIENT_ID_HEADER, "alice")
            .header(REQUEST_ID_HEADER, seq)
            .json(&serde_json::json!({ "value": value }))
            .send()
    };
    let first: serde_json::Value = send("one", "1")
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    let again: serde_json::Value = send("one", "1")
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert_eq!(
        first["version"], again["version"],
        "the retry gets the first write's answer, not a new version"
    );
    let before = status(&cluster.direct_url(leader)).await.expect("status");
    let second: serde_json::Value = send("two", "2")
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert!(second["version"].as_u64() > first["version"].as_u64());
    // Request 1 again, after 2: still the first answer, and "two" stays.
    let late: serde_json::Value = send("one", "1")
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert_eq!(late["version"], first["version"]);
    let client = Client::new(&[cluster.direct_url(leader)]).expect("a valid address");
    let now = client
        .get("counter")
        .await
        .expect("a read")
        .expect("the key exists");
    assert_eq!(now.value, "two", "the late retry did not write again");
    assert!(before.applied_index >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex7_the_clients_writes_carry_its_id_and_a_growing_request_number() {
    // The dedup only works if the client sends the headers: check with the server's
    // answer to a retried write through the client itself (same client, same key).
    let cluster = group(3, 75);
    settled_leader(&cluster, &[0, 1, 2]).await;
    let client = Client::new(&urls(&cluster)).expect("valid addresses");
    let a = client.put("x", "1").await.expect("write 1");
    let b = client.put("x", "2").await.expect("write 2");
    assert!(b.version > a.version, "two writes are two versions");
    assert!(client.client_id().len() <= 64 && !client.client_id().is_empty());
}
