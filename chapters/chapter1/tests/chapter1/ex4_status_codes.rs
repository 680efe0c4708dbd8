//! Exercise 1.4: every error has its status code, and reaches the client as JSON.
//! Book: chapter 1, "Exercise 1.4: status codes".

use std::time::Duration;

use chapter1::ApiError;
use reqwest::Method;
use serde_json::json;

use crate::common::{call, put_json, start_node};

#[test]
fn ex4_each_error_has_its_status() {
    let cases = [
        (
            ApiError::NotFound { key: "k".into() },
            404,
            "the key does not exist",
        ),
        (
            ApiError::NoRoute {
                method: "GET".into(),
                path: "/x".into(),
            },
            404,
            "no route has this path",
        ),
        (
            ApiError::MethodNotAllowed {
                method: "POST".into(),
                path: "/kv/k".into(),
            },
            405,
            "the path exists, not with this method",
        ),
        (
            ApiError::InvalidKey("bad".into()),
            400,
            "the request is wrong: fix it, do not repeat it",
        ),
        (
            ApiError::InvalidBody("bad".into()),
            400,
            "the request is wrong: fix it, do not repeat it",
        ),
        (
            ApiError::UnsupportedMediaType("bad".into()),
            415,
            "it shares the code invalid_body, but its status tells the client to change the \
             content type",
        ),
        (
            ApiError::TooLarge("big".into()),
            413,
            "the body is too large",
        ),
        (
            ApiError::VersionMismatch {
                expected: 1,
                current: 2,
            },
            409,
            "a lost compare-and-set is a conflict with the key's state (412 is for HTTP's own \
             If-Match header, which this API does not use)",
        ),
        (
            ApiError::Timeout(Duration::from_secs(1)),
            504,
            "the server was too slow to answer: its failure, not the client's (408 would say \
             the client was too slow to send)",
        ),
        (
            ApiError::NotImplemented("exercise 1.1".into()),
            500,
            "a handler that reached a todo!() is the server's bug, a 500 like any other (501 \
             would say the server does not know the method)",
        ),
        (ApiError::Internal("bug".into()), 500, "a bug in the server"),
    ];
    for (error, status, why) in cases {
        assert_eq!(
            error.status().as_u16(),
            status,
            "{error:?} ({}) should be {status}: {why}",
            error.code()
        );
    }
}

#[tokio::test]
async fn ex4_errors_reach_the_client_as_json_with_their_status() -> anyhow::Result<()> {
    let mut node = start_node();
    let url = node.url();

    let (status, body) = call(Method::GET, &format!("{url}/kv/missing"), None).await?;
    assert_eq!(
        (status, &body["error"], &body["key"]),
        (404, &json!("not_found"), &json!("missing")),
        "{body}"
    );

    put_json(&format!("{url}/kv/k"), &json!({"value": "v"})).await?;
    let (status, body) = put_json(
        &format!("{url}/kv/k"),
        &json!({"value": "w", "if_version": 0}),
    )
    .await?;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["error"], "version_mismatch",
        "a refused compare-and-set answers with the code version_mismatch: {body}"
    );
    assert_eq!(
        body["current_version"], 1,
        "a conflict reports the current version: {body}"
    );

    let (status, body) = call(Method::GET, &format!("{url}/no/such/route"), None).await?;
    assert_eq!(
        (status, &body["error"]),
        (404, &json!("not_found")),
        "{body}"
    );
    let (status, body) = call(Method::POST, &format!("{url}/kv/k"), None).await?;
    assert_eq!(
        (status, &body["error"]),
        (405, &json!("method_not_allowed")),
        "{body}"
    );
    node.stop().await
}
