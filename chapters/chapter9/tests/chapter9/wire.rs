//! A replica's routes as a careless or hostile client sees them: every refusal is a JSON
//! error with the right status, changes nothing, and comes back on the same kept-alive
//! connection, which goes on serving; and the Gossip Glomers gateway's likewise.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode, header};
use chapter9::client::ClusterClient;
use chapter9::gossip::Gateway;
use chapter9::raft::Timing;
use chapter9::server::{MAX_BODY_BYTES, MAX_INTERNAL_BODY_BYTES};
use chapter9::{clients, coordinator_of, system};
use harness::cluster::Cluster;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;

/// One HTTP/1.1 connection, kept open; no reconnection behind the test's back.
struct Connection {
    base: String,
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    async fn open(base: &str) -> anyhow::Result<Connection> {
        let address = base.trim_start_matches("http://");
        let stream = tokio::net::TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Connection {
            base: base.to_string(),
            sender,
        })
    }

    /// Sends one request; fails if the connection is lost or the answer closes it.
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        key: Option<&str>,
        content_type: &str,
        body: impl Into<Bytes>,
    ) -> anyhow::Result<(StatusCode, String)> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.base.trim_start_matches("http://"))
            .header(header::CONTENT_TYPE, content_type);
        if let Some(key) = key {
            request = request.header(plumbing::cluster_key::CLUSTER_KEY_HEADER, key);
        }
        let request = request.body(Full::new(body.into()))?;
        tokio::time::timeout(Duration::from_secs(30), async {
            self.sender.ready().await?;
            let response = self.sender.send_request(request).await?;
            let status = response.status();
            let closes = response
                .headers()
                .get(header::CONNECTION)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
            let body = response.into_body().collect().await?.to_bytes();
            let body = String::from_utf8_lossy(&body).into_owned();
            anyhow::ensure!(!closes, "{path} answered {status} with Connection: close");
            Ok((status, body))
        })
        .await?
    }
}

/// A request of the mix: what it is, and the status it must get.
struct Case {
    what: &'static str,
    method: Method,
    path: &'static str,
    key: bool,
    content_type: &'static str,
    body: Vec<u8>,
    expect: StatusCode,
}

fn case(what: &'static str, path: &'static str, key: bool, body: &str, expect: StatusCode) -> Case {
    Case {
        what,
        method: Method::POST,
        path,
        key,
        content_type: "application/json",
        body: body.as_bytes().to_vec(),
        expect,
    }
}

/// A consumer group that group 0 coordinates.
fn local_group() -> String {
    (0..)
        .map(|i| format!("readers-{i}"))
        .find(|g| coordinator_of(g, clients::GROUPS) == 0)
        .expect("some name hashes to group 0")
}

fn cases() -> Vec<Case> {
    let group = local_group();
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let in0 = r#"{"topic": "in", "index": 0}"#;
    let join = leak(format!(
        r#"{{"group": "{group}", "topic": "in", "member": "kept"}}"#
    ));
    let stale = leak(format!(
        r#"{{"group": "{group}", "member": "kept", "generation": 0, "offsets": {{"0": 1}}}}"#
    ));
    let stranger = leak(format!(
        r#"{{"group": "{group}", "member": "stranger", "generation": 1, "offsets": {{}}}}"#
    ));
    let long = leak(format!(
        r#"{{"group": "{group}", "topic": "in", "member": "{}"}}"#,
        "m".repeat(300)
    ));
    vec![
        case(
            "a valid produce",
            "/produce",
            false,
            leak(format!(
                r#"{{"partition": {in0}, "batch": {{"sequence": null, "records": [["k", "v"]]}}}}"#
            )),
            StatusCode::OK,
        ),
        case(
            "a valid read",
            "/read",
            false,
            leak(format!(r#"{{"partition": {in0}, "from": 0}}"#)),
            StatusCode::OK,
        ),
        case("a join", "/join", false, join, StatusCode::OK),
        case(
            "a produce to a partition another group holds",
            "/produce",
            false,
            r#"{"partition": {"topic": "in", "index": 1}, "batch": {"sequence": null, "records": []}}"#,
            StatusCode::MISDIRECTED_REQUEST,
        ),
        case(
            "a read of a topic the cluster does not have",
            "/read",
            false,
            r#"{"partition": {"topic": "nope", "index": 0}, "from": 0}"#,
            StatusCode::NOT_FOUND,
        ),
        case(
            "a commit from generation 0",
            "/commit",
            false,
            stale,
            StatusCode::CONFLICT,
        ),
        case(
            "a commit from a member not in the group",
            "/commit",
            false,
            stranger,
            StatusCode::CONFLICT,
        ),
        case(
            "a member name of 300 bytes",
            "/join",
            false,
            long,
            StatusCode::BAD_REQUEST,
        ),
        case(
            "an empty producer name",
            "/expected",
            false,
            leak(format!(r#"{{"partition": {in0}, "producer": ""}}"#)),
            StatusCode::BAD_REQUEST,
        ),
        case(
            "a body that is not JSON",
            "/produce",
            false,
            "not json",
            StatusCode::BAD_REQUEST,
        ),
        case(
            "a JSON body that is not an object",
            "/read",
            false,
            "[1]",
            StatusCode::BAD_REQUEST,
        ),
        case(
            "an offset that is not a number",
            "/read",
            false,
            leak(format!(r#"{{"partition": {in0}, "from": -1}}"#)),
            StatusCode::BAD_REQUEST,
        ),
        Case {
            content_type: "text/plain",
            ..case(
                "a body without Content-Type: application/json",
                "/join",
                false,
                join,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            )
        },
        case(
            "chapter 6's messages without the cluster key",
            "/internal/raft",
            false,
            leak(" ".repeat(64 * 1024)),
            StatusCode::UNAUTHORIZED,
        ),
        case(
            "a route that does not exist",
            "/nothing",
            false,
            "{}",
            StatusCode::NOT_FOUND,
        ),
        Case {
            method: Method::GET,
            ..case(
                "a method the route does not take",
                "/produce",
                false,
                "",
                StatusCode::METHOD_NOT_ALLOWED,
            )
        },
    ]
}

/// The replica of the group that leads now.
async fn leader(cluster: &Cluster) -> String {
    let client = plumbing::http::client(Duration::from_secs(2)).expect("a client");
    harness::eventually(Duration::from_secs(10), "a leader of group 0", || async {
        for i in 0..cluster.len() {
            let url = cluster.direct_url(i);
            if let Ok(r) = client.get(format!("{url}/status")).send().await
                && let Ok(status) = r.json::<serde_json::Value>().await
                && status["role"] == "leader"
            {
                return Ok(url);
            }
        }
        Err("no replica says it leads".to_string())
    })
    .await
    .expect("a leader")
}

/// Whether a valid request's answer says the replica no longer leads.
fn leadership_moved(status: StatusCode, body: &str) -> bool {
    let code = serde_json::from_str::<serde_json::Value>(body).unwrap_or_default();
    matches!(
        (status.as_u16(), code["error"].as_str()),
        (421, Some("not_leader")) | (503, Some("unavailable")) | (504, Some("timeout"))
    )
}

/// Sends `rounds` of the mix on one connection to `base`; `Ok(false)` if the replica
/// stopped leading on the way (a valid request refused for leadership).
async fn mix(base: &str, key: &str, rounds: usize, big: bool) -> anyhow::Result<bool> {
    let mut connection = Connection::open(base).await?;
    let cases = cases();
    for round in 0..rounds {
        for case in &cases {
            let (status, body) = connection
                .send(
                    case.method.clone(),
                    case.path,
                    case.key.then_some(key),
                    case.content_type,
                    case.body.clone(),
                )
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "round {round}, {}: {e:#}: a refusal earlier on this kept-alive \
                         connection must not cost the client the connection",
                        case.what
                    )
                })?;
            if case.expect == StatusCode::OK && leadership_moved(status, &body) {
                return Ok(false);
            }
            anyhow::ensure!(
                status == case.expect,
                "{} ({} {}) answered {status}, expected {}: {body}",
                case.what,
                case.method,
                case.path,
                case.expect
            );
            if !status.is_success() {
                let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                anyhow::ensure!(
                    json["error"].is_string() && json["message"].is_string(),
                    "{} answered {status} without a JSON error body: {body}",
                    case.what
                );
            }
        }
    }
    if big {
        let (status, body) = connection
            .send(
                Method::POST,
                "/internal/raft",
                Some(key),
                "application/json",
                vec![b' '; MAX_INTERNAL_BODY_BYTES + 1],
            )
            .await?;
        anyhow::ensure!(
            status == StatusCode::PAYLOAD_TOO_LARGE,
            "a body over the internal limit answered {status}: {body}"
        );
        let (status, body) = connection
            .send(
                Method::POST,
                "/produce",
                None,
                "application/json",
                vec![b' '; MAX_BODY_BYTES + 1],
            )
            .await?;
        anyhow::ensure!(
            status == StatusCode::PAYLOAD_TOO_LARGE,
            "a producer's body over its limit answered {status}: {body}"
        );
        let (status, body) = connection
            .send(Method::GET, "/status", None, "application/json", Vec::new())
            .await?;
        anyhow::ensure!(
            status.is_success() || leadership_moved(status, &body),
            "after a refused 16 MiB body: {status} {body}"
        );
    }
    Ok(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_replica_refuses_bad_input_with_json_on_a_kept_alive_connection() {
    let spec = clients::spec(1_000);
    let cluster = system::start_group(&spec, 0, Timing::FAST, 8).expect("group 0");
    let key = cluster
        .cluster_key()
        .expose()
        .unwrap_or_default()
        .to_string();
    for attempt in 1..=5 {
        let base = leader(&cluster).await;
        match mix(&base, &key, 10, true).await {
            Ok(true) => return,
            Ok(false) => eprintln!("try {attempt}: the leader moved mid-test; again at the next"),
            Err(e) => panic!("at group 0's leader {base}: {e:#}"),
        }
    }
    panic!("five tries in a row were interrupted by a change of leader");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_the_gossip_gateway_refuses_bad_input_with_json() {
    // No cluster behind it: the refusals never reach one.
    let http = plumbing::http::client(Duration::from_secs(1)).expect("a client");
    let gateway = Arc::new(Gateway::new(
        ClusterClient::new(http, vec![Vec::new(); 2]),
        "gateway-wire".into(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, gateway.router()).await });
    let mut connection = Connection::open(&base).await.expect("a connection");
    for (what, body, expect, error) in [
        (
            "a body that is not JSON",
            "nope",
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "a body without a type",
            r#"{"key": "k"}"#,
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "a send without a key",
            r#"{"type": "send", "msg": 1}"#,
            StatusCode::OK,
            Some(12),
        ),
        (
            "a message the challenge does not have",
            r#"{"type": "txn"}"#,
            StatusCode::OK,
            Some(10),
        ),
    ] {
        let (status, answer) = connection
            .send(Method::POST, "/", None, "application/json", body)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e:#}: the connection must survive every refusal"));
        assert_eq!(status, expect, "{what} must answer {expect}: {answer}");
        let json: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
        match error {
            None => assert!(
                json["error"].is_string(),
                "{what}: a refused body is a JSON error: {answer}"
            ),
            Some(code) => assert_eq!(
                (json["type"].as_str(), json["code"].as_u64()),
                (Some("error"), Some(code)),
                "{what}: the challenge's error body, code {code}: {answer}"
            ),
        }
    }
}
