//! Exercise 5.7: the client finds the leader, retries, and names its writes.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use chapter5::api::{CLIENT_ID_HEADER, REQUEST_ID_HEADER};
use chapter5::{Client, ClientError, Retry};

use crate::common::{group, http, settled_leader, urls};

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
    assert_eq!(
        entry.value, "hello",
        "a write through a follower reaches the leader and is applied"
    );
    assert_eq!(
        client
            .leader()
            .map(|u| u.as_str().trim_end_matches('/').to_string()),
        Some(cluster.direct_url(leader)),
        "the client remembers the leader"
    );
    let read = client.get("greeting").await.expect("a read");
    assert_eq!(
        read.map(|e| e.value),
        Some("hello".into()),
        "a read after the write sees it"
    );
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
    assert_eq!(
        entry.value, "after",
        "the write after the crash is applied by the new leader"
    );
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
    // A client that ignores its deadline would retry forever: give up on it long after
    // the 300 ms it was given (this bounds a hang; it measures nothing).
    let error = tokio::time::timeout(Duration::from_secs(60), client.put("k", "v"))
        .await
        .expect("the client never gave up: it must stop retrying at its deadline")
        .expect_err("nobody is up");
    assert!(matches!(error, ClientError::Transport { .. }), "{error:?}");
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
    let second: serde_json::Value = send("two", "2")
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert!(
        second["version"].as_u64() > first["version"].as_u64(),
        "a new request id is a new write, with a newer version"
    );
    // Request 1 again, after 2: still the first answer, and "two" stays.
    let late: serde_json::Value = send("one", "1")
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert_eq!(
        late["version"], first["version"],
        "an old request id, even after a newer one, gets its first answer back"
    );
    let client = Client::new(&[cluster.direct_url(leader)]).expect("a valid address");
    let now = client
        .get("counter")
        .await
        .expect("a read")
        .expect("the key exists");
    assert_eq!(now.value, "two", "the late retry did not write again");
}

/// A fake node that answers the first write with `503` and later ones with `200`, and
/// records each attempt's `(x-client-id, x-request-id)`.
async fn flaky_node() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let record = Arc::clone(&seen);
    let handler = move |headers: HeaderMap| {
        let record = Arc::clone(&record);
        async move {
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("<missing>")
                    .to_string()
            };
            let mut seen = record.lock().unwrap_or_else(PoisonError::into_inner);
            seen.push((header(CLIENT_ID_HEADER), header(REQUEST_ID_HEADER)));
            if seen.len() == 1 {
                let body =
                    serde_json::json!({"error": "unavailable", "message": "lost leadership"});
                (StatusCode::SERVICE_UNAVAILABLE, Json(body))
            } else {
                let body = serde_json::json!({"key": "x", "value": "v", "version": seen.len()});
                (StatusCode::OK, Json(body))
            }
        }
    };
    let app = axum::Router::new().route("/kv/{key}", axum::routing::put(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex7_a_retried_write_repeats_its_request_id_and_the_next_write_takes_a_new_one() {
    let (url, seen) = flaky_node().await;
    let client = Client::new(&[url]).expect("a valid address");
    client
        .put("x", "1")
        .await
        .unwrap_or_else(|e| panic!("a 503 is retried: {e:#}"));
    client.put("x", "2").await.expect("the second write");
    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let id = client.client_id().to_string();
    assert_eq!(seen.len(), 3, "one retry, then one write: {seen:?}");
    assert_eq!(seen[0].0, id, "every write names its client");
    assert_eq!(
        seen[1], seen[0],
        "the retry must carry the same client id and request id, or the servers would \
         apply the write twice"
    );
    let (first, second) = (seen[0].1.parse::<u64>(), seen[2].1.parse::<u64>());
    assert!(
        matches!((first, second), (Ok(a), Ok(b)) if b > a) && seen[2].0 == id,
        "the next write takes a new, larger request id: {seen:?}"
    );
}

#[test]
fn ex7_only_no_leader_no_answer_503_and_504_are_worth_retrying() {
    use reqwest::StatusCode;
    let server = |status: StatusCode| ClientError::Server {
        status,
        code: "x".into(),
        message: "x".into(),
    };
    assert!(
        ClientError::NotLeader { leader: None }.is_retryable(),
        "no known leader (an election is under way) is worth retrying"
    );
    assert!(
        server(StatusCode::SERVICE_UNAVAILABLE).is_retryable(),
        "503 (the leader stepped down while the request waited) is worth retrying"
    );
    assert!(
        server(StatusCode::GATEWAY_TIMEOUT).is_retryable(),
        "504 (not committed in time) is worth retrying: the request id keeps a retried write from applying twice"
    );
    assert!(
        !server(StatusCode::INTERNAL_SERVER_ERROR).is_retryable(),
        "a bug: retrying repeats it"
    );
    let rejected = ClientError::Rejected {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_key".into(),
        message: "x".into(),
    };
    assert!(!rejected.is_retryable(), "the request is wrong: fix it");
    assert!(
        !ClientError::VersionMismatch { current: 3 }.is_retryable(),
        "an answer, not a failure"
    );
    assert!(
        !ClientError::NotFound.is_retryable(),
        "not found is an answer, not a failure"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex7_a_node_that_names_itself_as_leader_is_not_followed_for_ever() {
    // A confused node: every answer is 421, naming itself as the leader.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let me = url.clone();
    let app = axum::Router::new().fallback(move || {
        let me = me.clone();
        async move {
            let body = serde_json::json!({"error": "not_leader", "message": "ask the leader", "leader": me});
            (StatusCode::MISDIRECTED_REQUEST, Json(body))
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = Client::new(&[url])
        .expect("a valid address")
        .with_retry(Retry {
            deadline: Duration::from_millis(300),
            ..Retry::default()
        });
    // This bounds a hang; it measures nothing.
    let error = tokio::time::timeout(Duration::from_secs(10), client.put("k", "v"))
        .await
        .expect("a 421 naming the node just asked is no progress: the client must back off and give up at its deadline")
        .expect_err("nobody leads");
    assert!(matches!(error, ClientError::NotLeader { .. }), "{error:?}");
    assert!(
        client.attempts() < 100,
        "it backed off instead of asking in a tight loop: {} attempts in 300 ms",
        client.attempts()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex7_an_answer_that_is_not_a_failure_is_returned_at_once() {
    // A node that refuses every conditional write: the key is at version 3.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let app = axum::Router::new().fallback(|| async {
        let body = serde_json::json!({"error": "version_mismatch", "message": "the key is at version 3", "current_version": 3});
        (StatusCode::CONFLICT, Json(body))
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = Client::new(&[url]).expect("a valid address");
    let error = client
        .put_if("k", "v", 1)
        .await
        .expect_err("the condition does not hold");
    assert!(
        matches!(error, ClientError::VersionMismatch { current: 3 }),
        "{error:?}"
    );
    assert_eq!(
        client.attempts(),
        1,
        "a refused condition is an answer: retrying cannot change it"
    );
}

#[test]
fn ex7_the_client_turns_each_error_answer_into_its_typed_error() {
    use chapter5::client::error_from_response;
    let typed = |status: u16, body: serde_json::Value| {
        let status = StatusCode::from_u16(status).expect("a valid status");
        error_from_response(status, body.to_string().as_bytes())
    };
    let cases = [
        (
            409,
            serde_json::json!({"error": "version_mismatch", "message": "m", "current_version": 7}),
            "VersionMismatch { current: 7 }",
        ),
        (
            409,
            serde_json::json!({"error": "version_mismatch", "message": "m"}),
            "Protocol",
        ),
        (
            421,
            serde_json::json!({"error": "not_leader", "message": "m", "leader": "http://127.0.0.1:9"}),
            "NotLeader { leader: Some(\"http://127.0.0.1:9\") }",
        ),
        (
            400,
            serde_json::json!({"error": "invalid_key", "message": "m"}),
            "Rejected",
        ),
        (
            503,
            serde_json::json!({"error": "unavailable", "message": "m"}),
            "Server",
        ),
        (
            404,
            serde_json::json!({"error": "not_found", "message": "m"}),
            "NotFound",
        ),
    ];
    for (status, body, expected) in cases {
        let error = format!("{:?}", typed(status, body.clone()));
        assert!(
            error.starts_with(expected),
            "{status} {body} became {error}, not {expected}"
        );
    }
    assert!(
        format!(
            "{:?}",
            typed(502, serde_json::json!("<html>bad gateway</html>"))
        )
        .starts_with("Protocol"),
        "an answer that is not the API's JSON error is a protocol error"
    );
}
