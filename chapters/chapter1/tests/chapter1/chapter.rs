//! Chapter-wide tests: the whole server under concurrency and bad input.
//! Book: chapter 1, "The system".

use std::sync::Arc;

use chapter1::{Client, ClientError};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{call, put_json, start_node};

const CLIENTS: usize = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_64_clients_on_distinct_and_shared_keys() -> anyhow::Result<()> {
    let mut node = start_node();
    let client = Arc::new(Client::new(&node.url())?);
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let client = Arc::clone(&client);
        tasks.push(tokio::spawn(async move {
            let mut versions = Vec::new();
            for i in 0..10 {
                versions.push(
                    client
                        .put(&format!("own-{c}"), &format!("{c}:{i}"))
                        .await?
                        .version,
                );
                versions.push(
                    client
                        .put(&format!("shared-{}", i % 4), &format!("{c}:{i}"))
                        .await?
                        .version,
                );
            }
            anyhow::Ok(versions)
        }));
    }
    let mut all_versions = Vec::new();
    for task in tasks {
        all_versions.extend(task.await??);
    }
    all_versions.sort_unstable();
    let expected: Vec<u64> = (1..=(CLIENTS as u64 * 20)).collect();
    assert_eq!(
        all_versions, expected,
        "every acknowledged write got its own version, none skipped or reused"
    );
    for c in 0..CLIENTS {
        let entry = client
            .get(&format!("own-{c}"))
            .await?
            .expect("each client's own key exists");
        assert_eq!(
            entry.value,
            format!("{c}:9"),
            "a client's last write to its own key is the one that stays"
        );
    }
    for k in 0..4 {
        let entry = client
            .get(&format!("shared-{k}"))
            .await?
            .expect("each shared key exists");
        let last = (0..10).filter(|i| i % 4 == k).max().unwrap_or_default();
        assert!(
            entry.value.ends_with(&format!(":{last}")),
            "shared-{k} holds some client's last write to it, not {:?}",
            entry.value
        );
    }
    node.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_compare_and_set_counters_lose_no_increment() -> anyhow::Result<()> {
    const COUNTERS: usize = 4;
    const INCREMENTS: usize = 8;
    let mut node = start_node();
    let client = Arc::new(Client::new(&node.url())?);
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let client = Arc::clone(&client);
        tasks.push(tokio::spawn(async move {
            let mut retries = 0u64;
            for i in 0..INCREMENTS {
                let key = format!("counter-{}", (c + i) % COUNTERS);
                // Read, add one, write back only if nobody wrote in between; else retry.
                // Each refusal means another client's write succeeded in between, and
                // there are only CLIENTS * INCREMENTS of those: more refusals than that
                // is a bug (a version check that never matches), not bad luck.
                let mut refusals = 0;
                loop {
                    let (count, version) = match client.get(&key).await? {
                        Some(entry) => (entry.value.parse::<u64>()?, entry.version),
                        None => (0, 0),
                    };
                    match client.put_if(&key, &(count + 1).to_string(), version).await {
                        Ok(_) => break,
                        Err(ClientError::VersionMismatch { current }) => {
                            retries += 1;
                            refusals += 1;
                            anyhow::ensure!(
                                refusals <= CLIENTS * INCREMENTS,
                                "client {c}: {refusals} refusals in a row for {key}: it read \
                                 version {version} and the server says the key is at {current}. \
                                 With a correct compare-and-set each refusal means another \
                                 write succeeded, and there are only {} writes in all",
                                CLIENTS * INCREMENTS
                            );
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            anyhow::Ok(retries)
        }));
    }
    let mut retries = 0;
    for task in tasks {
        retries += task.await??;
    }
    let mut total = 0;
    for k in 0..COUNTERS {
        total += client
            .get(&format!("counter-{k}"))
            .await?
            .map_or(0, |e| e.value.parse::<usize>().unwrap_or(0));
    }
    assert_eq!(
        total,
        CLIENTS * INCREMENTS,
        "{CLIENTS} clients each added {INCREMENTS}; the counters must sum to that ({retries} retries on conflicts)"
    );
    node.stop().await
}

#[tokio::test]
async fn chapter_the_largest_valid_body_is_taken_and_one_byte_more_is_not() -> anyhow::Result<()> {
    // The limit is tested from both sides: a store that refused a 2 KiB value would pass
    // every test that only sends small ones.
    const LIMIT: usize = 1024 * 1024;
    let mut node = start_node();
    let url = format!("{}/kv/big", node.url());
    let wrapper = r#"{"value":""}"#.len();
    let largest = "v".repeat(LIMIT - wrapper);
    let (status, body) = put_json(&url, &json!({ "value": largest })).await?;
    assert_eq!(status, 200, "a body of exactly 1 MiB is taken: {body}");
    let (status, read) = call(Method::GET, &url, None).await?;
    assert_eq!(
        status, 200,
        "the 1 MiB value is stored and can be read back: {read}"
    );
    assert_eq!(
        read["value"].as_str().map(str::len),
        Some(largest.len()),
        "the whole value is read back"
    );
    let (status, body) = put_json(&url, &json!({ "value": format!("{largest}v") })).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("too_large")),
        "one byte more is refused"
    );
    node.stop().await
}

/// One bad request and the error it must get.
struct BadInput {
    what: &'static str,
    method: Method,
    path: String,
    body: Option<(&'static str, Vec<u8>)>,
    status: u16,
    code: &'static str,
    hint: &'static str,
}

impl BadInput {
    fn new(what: &'static str, method: Method, path: impl Into<String>) -> Self {
        let path = path.into();
        Self {
            what,
            method,
            path,
            body: None,
            status: 0,
            code: "",
            hint: "",
        }
    }
    fn body(mut self, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some((content_type, body.into()));
        self
    }
    fn json(self, body: impl Into<Vec<u8>>) -> Self {
        self.body("application/json", body)
    }
    /// The status, error code, and a word the message must contain.
    fn expect(mut self, status: u16, code: &'static str, hint: &'static str) -> Self {
        (self.status, self.code, self.hint) = (status, code, hint);
        self
    }
}

#[tokio::test]
async fn chapter_every_bad_input_gets_its_documented_error_and_loses_nothing() -> anyhow::Result<()>
{
    use Method as M;
    let mut node = start_node();
    let url = node.url();
    let (_, kept) = put_json(&format!("{url}/kv/kept"), &json!({"value": "precious"})).await?;

    let too_big = format!("{{\"value\": \"{}\"}}", "x".repeat(1024 * 1024));
    let cases = [
        BadInput::new(
            "key over 256 bytes",
            M::GET,
            format!("/kv/{}", "k".repeat(257)),
        )
        .expect(400, "invalid_key", "257"),
        BadInput::new("control character in key", M::GET, "/kv/a%0Ab").expect(
            400,
            "invalid_key",
            "control",
        ),
        BadInput::new("empty key", M::PUT, "/kv/")
            .json(r#"{"value":"v"}"#)
            .expect(400, "invalid_key", "empty"),
        BadInput::new("key not UTF-8", M::GET, "/kv/%FF").expect(400, "invalid_key", "UTF-8"),
        BadInput::new("body over 1 MiB", M::PUT, "/kv/k")
            .json(too_big)
            .expect(413, "too_large", "1 MiB"),
        BadInput::new("malformed JSON", M::PUT, "/kv/k")
            .json(r#"{"value": "#)
            .expect(400, "invalid_body", "not valid JSON"),
        BadInput::new("value not a string", M::PUT, "/kv/k")
            .json(r#"{"value": 5}"#)
            .expect(400, "invalid_body", "string"),
        BadInput::new("misspelt field", M::PUT, "/kv/k")
            .json(r#"{"valeu": "x"}"#)
            .expect(400, "invalid_body", "valeu"),
        BadInput::new("negative if_version", M::PUT, "/kv/k")
            .json(r#"{"value": "x", "if_version": -1}"#)
            .expect(400, "invalid_body", "if_version"),
        BadInput::new("no content type", M::PUT, "/kv/k")
            .body("", r#"{"value": "x"}"#)
            .expect(415, "invalid_body", "Content-Type"),
        BadInput::new("text content type", M::PUT, "/kv/k")
            .body("text/plain", "x")
            .expect(415, "invalid_body", "application/json"),
        BadInput::new("unknown route", M::GET, "/kv/a/b").expect(404, "not_found", "no route"),
        BadInput::new("unknown method", M::PATCH, "/kv/k")
            .json("{}")
            .expect(405, "method_not_allowed", "PATCH"),
    ];
    // Valid JSON that is not an object (serde alone would take the first three for one),
    // and a field given twice.
    let shapes = harness::json_body::NOT_OBJECTS.map(|body| {
        BadInput::new("a body that is not a JSON object", M::PUT, "/kv/k")
            .json(body)
            .expect(400, "invalid_body", "JSON object")
    });
    let twice = BadInput::new("a field given twice", M::PUT, "/kv/k")
        .json(r#"{"value": "a", "value": "b"}"#)
        .expect(400, "invalid_body", "duplicate");
    for case in cases.into_iter().chain(shapes).chain([twice]) {
        let what = case.what;
        let (status, body) = call(case.method, &format!("{url}{}", case.path), case.body).await?;
        assert_eq!(status, case.status, "{what}: status (body {body})");
        assert_eq!(body["error"], case.code, "{what}: error code (body {body})");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(case.hint),
            "{what}: the message should mention {:?}: {message:?}",
            case.hint
        );
        let (health, _) = call(Method::GET, &format!("{url}/health"), None).await?;
        assert_eq!(health, 200, "{what}: the node still answers /health");
    }
    let (status, after) = call(Method::GET, &format!("{url}/kv/kept"), None).await?;
    assert_eq!(
        (status, &after),
        (200, &kept),
        "bad requests changed nothing that was stored"
    );
    let (_, status_body) = call(Method::GET, &format!("{url}/status"), None).await?;
    assert_eq!(
        status_body["last_version"], 1,
        "no bad request took a version: {status_body}"
    );
    node.stop().await
}

#[tokio::test]
async fn chapter_keys_with_reserved_url_characters_round_trip() -> anyhow::Result<()> {
    let mut node = start_node();
    let client = Client::new(&node.url())?;
    for key in [
        "with space",
        "a/b",
        "q?x=1",
        "hash#tag",
        "100%",
        "clé",
        "🦀",
    ] {
        client.put(key, key).await?;
        let entry = client
            .get(key)
            .await?
            .unwrap_or_else(|| panic!("{key:?} was just written"));
        assert_eq!(
            (entry.key.as_str(), entry.value.as_str()),
            (key, key),
            "the client encodes keys as one path segment"
        );
    }
    node.stop().await
}

#[tokio::test]
async fn chapter_health_and_status_describe_the_node() -> anyhow::Result<()> {
    let mut node = start_node();
    let url = node.url();
    let (status, health) = call(Method::GET, &format!("{url}/health"), None).await?;
    assert_eq!(
        (status, &health["status"], &health["id"]),
        (200, &json!("ok"), &json!(1)),
        "GET /health answers 200 with status ok and the node's id: {health}"
    );
    put_json(&format!("{url}/kv/a"), &json!({"value": "1"})).await?;
    put_json(&format!("{url}/kv/b"), &json!({"value": "2"})).await?;
    let (_, body) = call(Method::GET, &format!("{url}/status"), None).await?;
    assert_eq!(
        body["role"], "standalone",
        "a chapter 1 node has no peers, so its role is standalone: {body}"
    );
    assert_eq!(
        (&body["keys"], &body["last_version"]),
        (&Value::from(2), &Value::from(2)),
        "{body}"
    );
    node.stop().await
}

#[tokio::test]
async fn chapter_a_stopped_node_shuts_down_gracefully_and_refuses_connections() -> anyhow::Result<()>
{
    let mut node = start_node();
    let client = Client::new(&node.url())?;
    client.put("k", "v").await?;
    node.stop().await?;
    assert!(
        matches!(client.get("k").await, Err(ClientError::Transport { .. })),
        "after a graceful stop nothing listens on the address"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_kept_alive_connection_survives_every_refusal() -> anyhow::Result<()> {
    let mut node = start_node();
    let target = harness::keep_alive::Target {
        base: node.url(),
        body_limit: chapter1::validate::MAX_BODY_BYTES,
        internal: None,
    };
    let report =
        harness::keep_alive::survives_refusals(&target, 2_000, |i| format!("kept-{i}")).await?;
    assert_eq!(
        report.written + report.refused,
        2_000,
        "every request of the mix was answered on the one connection: {report:?}"
    );
    node.stop().await
}

#[test]
fn chapter_a_key_is_percent_encoded_only_where_it_must_be() {
    use chapter1::client::encode_segment;
    assert_eq!(
        encode_segment("user-42_a.b~C"),
        "user-42_a.b~C",
        "unreserved characters (RFC 3986: letters, digits, - . _ ~) stay as they are, so a \
         key reads plainly in URLs and logs"
    );
    assert_eq!(
        encode_segment("a/b c\n%é"),
        "a%2Fb%20c%0A%25%C3%A9",
        "every other byte is percent-encoded, so any key reaches the server unchanged"
    );
}
