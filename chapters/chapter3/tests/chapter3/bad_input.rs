//! Bad input, from clients and from would-be peers: every request gets a JSON error that
//! says what is wrong, and changes nothing.

use chapter3::replication::AckMode;

use crate::common::{call, call_with, group, http, peer_http, put, wait_status};

/// What is wrong, method, URL, body, expected status, expected error code ("" for none).
type Case = (
    &'static str,
    reqwest::Method,
    String,
    Option<serde_json::Value>,
    u16,
    &'static str,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_bad_input_gets_a_json_error_and_changes_nothing() {
    let cluster = group(3, AckMode::Quorum, |_| {});
    let (leader, follower) = (cluster.url(0), cluster.url(1));
    put(&leader, "k", "v").await;
    let long = "x".repeat(300);
    let cases: Vec<Case> = vec![
        (
            "key too long",
            reqwest::Method::PUT,
            format!("{leader}/kv/{long}"),
            Some(serde_json::json!({"value": "v"})),
            400,
            "invalid_key",
        ),
        (
            "unknown field",
            reqwest::Method::PUT,
            format!("{leader}/kv/k"),
            Some(serde_json::json!({"value": "v", "if_verison": 1})),
            400,
            "invalid_body",
        ),
        (
            "stale compare-and-set",
            reqwest::Method::PUT,
            format!("{leader}/kv/k"),
            Some(serde_json::json!({"value": "v", "if_version": 7})),
            409,
            "version_mismatch",
        ),
        (
            "delete of a missing key",
            reqwest::Method::DELETE,
            format!("{leader}/kv/nope"),
            None,
            404,
            "not_found",
        ),
        (
            "write on a follower",
            reqwest::Method::DELETE,
            format!("{follower}/kv/k"),
            None,
            421,
            "not_leader",
        ),
        (
            "append that is not JSON of an append",
            reqwest::Method::POST,
            format!("{follower}/internal/append"),
            Some(serde_json::json!({"term": "x"})),
            400,
            "invalid_body",
        ),
        (
            "snapshot with missing fields",
            reqwest::Method::POST,
            format!("{follower}/internal/snapshot"),
            Some(serde_json::json!({})),
            400,
            "invalid_body",
        ),
        (
            "append from a stale term",
            reqwest::Method::POST,
            format!("{follower}/internal/append"),
            Some(
                serde_json::json!({"term": 0, "leader_id": 0, "leader_url": "http://x", "prev_index": 0, "prev_term": 0, "entries": [], "leader_commit": 0}),
            ),
            200,
            "",
        ),
        (
            "append from a node that is not a member",
            reqwest::Method::POST,
            format!("{follower}/internal/append"),
            Some(
                serde_json::json!({"term": 1, "leader_id": 9, "leader_url": "http://x", "prev_index": 0, "prev_term": 0, "entries": [], "leader_commit": 0}),
            ),
            400,
            "invalid_body",
        ),
        (
            "append with an absurd term (it would fence the real leader)",
            reqwest::Method::POST,
            format!("{follower}/internal/append"),
            Some(
                serde_json::json!({"term": u64::MAX, "leader_id": 0, "leader_url": "http://x", "prev_index": 0, "prev_term": 0, "entries": [], "leader_commit": 0}),
            ),
            400,
            "invalid_body",
        ),
        (
            "append with misnumbered entries",
            reqwest::Method::POST,
            format!("{follower}/internal/append"),
            Some(
                serde_json::json!({"term": 1, "leader_id": 0, "leader_url": "http://x", "prev_index": 1, "prev_term": 1, "entries": [{"index": 3, "term": 1, "key": "k", "value": "w"}], "leader_commit": 1}),
            ),
            400,
            "invalid_body",
        ),
        (
            "append with entries past the last possible index",
            reqwest::Method::POST,
            format!("{follower}/internal/append"),
            Some(
                serde_json::json!({"term": 1, "leader_id": 0, "leader_url": "http://x", "prev_index": u64::MAX, "prev_term": 1, "entries": [{"index": u64::MAX, "term": 1, "key": "k", "value": "w"}], "leader_commit": 1}),
            ),
            400,
            "invalid_body",
        ),
        (
            "unknown route",
            reqwest::Method::GET,
            format!("{leader}/internal/nothing"),
            None,
            404,
            "not_found",
        ),
    ];
    let peer = peer_http(&cluster);
    for (what, method, url, body, code, error) in cases {
        let (got, answer) = call_with(&peer, method, &url, body)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e:#}"));
        assert_eq!(got, code, "{what}: {answer}");
        if error.is_empty() {
            assert_eq!(answer["result"], "stale_term", "{what}: {answer}");
        } else {
            assert_eq!(answer["error"], error, "{what}: {answer}");
            assert!(
                answer["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{what}: {answer}"
            );
        }
    }
    // Valid JSON that is not an object, on every route that takes a body.
    for body in harness::json_body::NOT_OBJECTS {
        let body: serde_json::Value = serde_json::from_str(body).expect("valid JSON");
        for url in [
            format!("{leader}/kv/k"),
            format!("{follower}/internal/append"),
            format!("{follower}/internal/snapshot"),
        ] {
            let method = if url.ends_with("/kv/k") {
                reqwest::Method::PUT
            } else {
                reqwest::Method::POST
            };
            let (got, answer) = call_with(&peer, method, &url, Some(body.clone()))
                .await
                .unwrap_or_else(|e| panic!("{url}: {e:#}"));
            assert_eq!(
                (got, answer["error"].as_str()),
                (400, Some("invalid_body")),
                "{url} with {body}: {answer}"
            );
        }
    }
    // Without the cluster's key, no internal route does anything.
    for path in ["append", "snapshot", "promote"] {
        let (got, answer) = call(
            reqwest::Method::POST,
            &format!("{follower}/internal/{path}"),
            Some(serde_json::json!({})),
        )
        .await
        .unwrap_or_else(|e| panic!("{path}: {e:#}"));
        assert_eq!(
            (got, answer["error"].as_str()),
            (401, Some("unauthorized")),
            "{path} without the key: {answer}"
        );
    }
    for i in 0..3 {
        let s = wait_status(&cluster, i, "every node to hold the one write", |s| {
            s.applied_index == 1
        })
        .await;
        assert_eq!(
            (s.last_index, s.term),
            (1, 1),
            "node {i}: no bad request wrote anything or changed the term"
        );
        assert_eq!(s.leader_id, Some(0), "node {i} still follows node 0");
    }
    let body = http()
        .get(format!("{leader}/kv/k"))
        .send()
        .await
        .expect("GET k")
        .json::<serde_json::Value>()
        .await
        .expect("JSON");
    assert_eq!(
        body["value"], "v",
        "the bad requests left the one good write as it was: {body}"
    );
    // And the group still takes writes: every node applies the next one.
    let version = put(&leader, "after", "still serving").await;
    for i in 0..3 {
        wait_status(
            &cluster,
            i,
            "every node to apply a write made after the bad input",
            |s| s.applied_index >= version,
        )
        .await;
    }
}
