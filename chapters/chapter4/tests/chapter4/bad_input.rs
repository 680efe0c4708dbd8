//! Bad membership requests, bad bodies and unknown nodes: every one gets a JSON error and
//! changes nothing.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{CONSISTENT, TestCluster, call, http, put, send};

/// What is wrong, method, path, body, expected status, expected error code.
type BadCase = (
    &'static str,
    Method,
    &'static str,
    Option<Value>,
    u16,
    &'static str,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_bad_membership_requests_and_unknown_nodes_get_json_errors_and_change_nothing() {
    let mut cluster = TestCluster::start(2, CONSISTENT);
    let base = cluster.url(1);
    let other = cluster.url(2);
    let outside = cluster.start_outside(9);
    let version = put(&base, "kept", "value").await;
    let cases: Vec<BadCase> = vec![
        (
            "leave of an unknown node",
            Method::POST,
            "/cluster/leave",
            Some(json!({"id": 77})),
            404,
            "not_found",
        ),
        (
            "join with an id already taken elsewhere",
            Method::POST,
            "/cluster/join",
            Some(json!({"id": 2, "url": "http://127.0.0.1:1"})),
            409,
            "conflict",
        ),
        (
            "join with a URL that is not http://",
            Method::POST,
            "/cluster/join",
            Some(json!({"id": 5, "url": "ftp://x"})),
            400,
            "invalid_body",
        ),
        (
            "join without an id",
            Method::POST,
            "/cluster/join",
            Some(json!({"url": "http://127.0.0.1:1"})),
            400,
            "invalid_body",
        ),
        (
            "join with a typo in a field",
            Method::POST,
            "/cluster/join",
            Some(json!({"id": 5, "ur1": "http://x"})),
            400,
            "invalid_body",
        ),
        (
            "join with a negative id",
            Method::POST,
            "/cluster/join",
            Some(json!({"id": -1, "url": "http://x"})),
            400,
            "invalid_body",
        ),
        (
            "a ring change that skips an epoch",
            Method::POST,
            "/internal/ring",
            Some(json!({
            "from": {"epoch": 1, "placement": {"kind": "consistent", "vnodes": 64}, "members": []},
            "to": {"epoch": 3, "placement": {"kind": "consistent", "vnodes": 64}, "members": []}})),
            400,
            "invalid_body",
        ),
        (
            "a ring with a duplicate member",
            Method::POST,
            "/internal/ring",
            Some(json!({
            "from": {"epoch": 1, "placement": {"kind": "mod_n"}, "members": [{"id": 1, "url": "http://a"}, {"id": 1, "url": "http://b"}]},
            "to": {"epoch": 2, "placement": {"kind": "mod_n"}, "members": []}})),
            400,
            "invalid_body",
        ),
        (
            "a ring with 0 vnodes",
            Method::POST,
            "/internal/ring",
            Some(json!({
            "from": {"epoch": 1, "placement": {"kind": "consistent", "vnodes": 0}, "members": []},
            "to": {"epoch": 2, "placement": {"kind": "consistent", "vnodes": 0}, "members": []}})),
            400,
            "invalid_body",
        ),
        (
            "a stale ring change",
            Method::POST,
            "/internal/ring",
            Some(json!({
            "from": {"epoch": 0, "placement": {"kind": "consistent", "vnodes": 64}, "members": []},
            "to": {"epoch": 1, "placement": {"kind": "consistent", "vnodes": 64}, "members": [{"id": 1, "url": "http://127.0.0.1:1"}]}})),
            409,
            "conflict",
        ),
        (
            "a handoff that is not JSON",
            Method::POST,
            "/internal/handoff",
            None,
            415,
            "invalid_body",
        ),
        (
            "a release with a string epoch",
            Method::POST,
            "/internal/release",
            Some(json!({"epoch": "1", "to": 2})),
            400,
            "invalid_body",
        ),
        (
            "GET on the join route",
            Method::GET,
            "/cluster/join",
            None,
            405,
            "method_not_allowed",
        ),
    ];
    for (what, method, path, body, status, code) in cases {
        let answer = call(method.clone(), &format!("{base}{path}"), body)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e:#}"));
        assert_eq!(
            answer.status, status,
            "{what}: {method} {path} -> {}",
            answer.body
        );
        assert_eq!(answer.body["error"], code, "{what}: {}", answer.body);
        assert!(
            answer.body["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}: every error says what went wrong: {}",
            answer.body
        );
    }
    // Valid JSON that is not an object, on every route that takes a body.
    for body in harness::json_body::NOT_OBJECTS {
        let body: Value = serde_json::from_str(body).expect("valid JSON");
        for (method, path) in [
            (Method::PUT, "/kv/k"),
            (Method::POST, "/cluster/join"),
            (Method::POST, "/cluster/leave"),
            (Method::POST, "/internal/ring"),
            (Method::POST, "/internal/handoff"),
            (Method::POST, "/internal/release"),
        ] {
            let answer = call(method, &format!("{base}{path}"), Some(body.clone()))
                .await
                .unwrap_or_else(|e| panic!("{path}: {e:#}"));
            assert_eq!(
                (answer.status, answer.body["error"].as_str()),
                (400, Some("invalid_body")),
                "{path} with {body}: {}",
                answer.body
            );
        }
    }
    // Without the cluster's key, nobody changes the membership or talks as a node.
    for path in [
        "/cluster/join",
        "/cluster/leave",
        "/internal/ring",
        "/internal/handoff",
        "/internal/release",
    ] {
        let answer = send(
            harness::cluster::http_client(Duration::from_secs(10))
                .expect("a client")
                .post(format!("{base}{path}"))
                .json(&json!({"id": 3, "url": "http://127.0.0.1:9"})),
        )
        .await
        .expect("an answer");
        assert_eq!(
            (answer.status, answer.body["error"].as_str()),
            (401, Some("unauthorized")),
            "{path} without the key: {}",
            answer.body
        );
    }
    // A hops header that is not a number.
    let answer = send(
        http()
            .get(format!("{base}/kv/kept"))
            .header("x-hops", "many"),
    )
    .await
    .expect("an answer");
    assert_eq!(
        (answer.status, answer.body["error"].as_str()),
        (400, Some("invalid_request")),
        "an x-hops header that is not a number is a 400 invalid_request: {}",
        answer.body
    );
    // A node outside any cluster says so instead of pretending the key is absent.
    let answer = crate::common::get(&outside, "kept").await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert!(
        answer.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("not in a cluster")),
        "{}",
        answer.body
    );
    // Nothing changed.
    for url in [&base, &other] {
        let view = crate::common::view(url).await;
        assert_eq!(view.ring.epoch(), 1, "no membership change went through");
        assert_eq!(
            view.ring.members().len(),
            2,
            "no membership change went through: the ring still has its two members"
        );
        let answer = crate::common::get(url, "kept").await;
        assert_eq!(
            answer.body["version"].as_u64(),
            Some(version),
            "the key written before the bad requests keeps its version: {}",
            answer.body
        );
    }
    cluster.stop().await;
}
