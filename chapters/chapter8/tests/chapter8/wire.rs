//! The coordinator's and a worker's routes as a careless or hostile client sees them:
//! every refusal is a JSON error with the right status, changes nothing, and comes back
//! on the same kept-alive connection, which goes on serving.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode, header};
use chapter8::raft::Timing;
use chapter8::server::MAX_INTERNAL_BODY_BYTES;
use chapter8::{Spec, system};
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

fn coordinator_cases() -> Vec<Case> {
    let long = format!(r#"{{"worker": "{}"}}"#, "w".repeat(300));
    vec![
        case(
            "a valid request for a task",
            "/internal/task",
            true,
            r#"{"worker": "kept"}"#,
            StatusCode::OK,
        ),
        case(
            "a heartbeat",
            "/internal/heartbeat",
            true,
            r#"{"worker": "kept"}"#,
            StatusCode::OK,
        ),
        case(
            "a report about a task the job does not have",
            "/internal/report",
            true,
            r#"{"worker": "kept", "report": {"task": {"kind": "Map", "index": 99}, "attempt": 7, "outcome": "Finished"}}"#,
            StatusCode::OK,
        ),
        Case {
            what: "the job's state",
            method: Method::GET,
            path: "/job",
            key: false,
            content_type: "application/json",
            body: Vec::new(),
            expect: StatusCode::OK,
        },
        case(
            "a request without the cluster key",
            "/internal/task",
            false,
            &" ".repeat(64 * 1024),
            StatusCode::UNAUTHORIZED,
        ),
        case(
            "a body that is not JSON",
            "/internal/task",
            true,
            "not json",
            StatusCode::BAD_REQUEST,
        ),
        case(
            "a JSON body that is not an object",
            "/internal/task",
            true,
            r#"["kept"]"#,
            StatusCode::BAD_REQUEST,
        ),
        case(
            "an empty worker name",
            "/internal/task",
            true,
            r#"{"worker": ""}"#,
            StatusCode::BAD_REQUEST,
        ),
        case(
            "a worker name of 300 bytes",
            "/internal/task",
            true,
            &long,
            StatusCode::BAD_REQUEST,
        ),
        case(
            "a report of an unknown kind of task",
            "/internal/report",
            true,
            r#"{"worker": "kept", "report": {"task": {"kind": "Sort", "index": 0}, "attempt": 1, "outcome": "Finished"}}"#,
            StatusCode::BAD_REQUEST,
        ),
        Case {
            content_type: "text/plain",
            ..case(
                "a body without Content-Type: application/json",
                "/internal/task",
                true,
                r#"{"worker": "kept"}"#,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            )
        },
        case(
            "a route that does not exist",
            "/internal/nothing",
            true,
            "{}",
            StatusCode::NOT_FOUND,
        ),
        Case {
            method: Method::DELETE,
            ..case(
                "a method the route does not take",
                "/job",
                false,
                "",
                StatusCode::METHOD_NOT_ALLOWED,
            )
        },
    ]
}

/// The coordinator replica that leads now.
async fn leader(cluster: &Cluster) -> String {
    let client = plumbing::http::client(Duration::from_secs(2)).expect("a client");
    harness::eventually(Duration::from_secs(10), "a coordinator leader", || async {
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
    let cases = coordinator_cases();
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
            .send(Method::GET, "/job", None, "application/json", Vec::new())
            .await?;
        anyhow::ensure!(
            status.is_success() || leadership_moved(status, &body),
            "after a refused 16 MiB body: {status} {body}"
        );
    }
    Ok(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_the_coordinator_refuses_bad_input_with_json_on_a_kept_alive_connection() {
    let spec = Spec {
        maps: 3,
        reduces: 1,
        worker_timeout: 1_000,
        backups: true,
    };
    let cluster = system::start(spec, Timing::FAST, 8).expect("a coordinator");
    let key = cluster
        .cluster_key()
        .expose()
        .unwrap_or_default()
        .to_string();
    for attempt in 1..=5 {
        let base = leader(&cluster).await;
        match mix(&base, &key, 20, true).await {
            Ok(true) => return,
            Ok(false) => eprintln!("try {attempt}: the leader moved mid-test; again at the next"),
            Err(e) => panic!("at the coordinator's leader {base}: {e:#}"),
        }
    }
    panic!("five tries in a row were interrupted by a change of leader");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_workers_routes_refuse_bad_input_with_json() {
    let key = plumbing::cluster_key::ClusterKey::random();
    let secret = key.expose().unwrap_or_default().to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let app = chapter8::worker::app(Default::default(), key);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut connection = Connection::open(&base).await.expect("a connection");
    for (what, path, key, expect) in [
        (
            "no cluster key",
            "/internal/intermediate/0/0",
            None,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "an output it does not hold",
            "/internal/intermediate/0/0",
            Some(secret.as_str()),
            StatusCode::NOT_FOUND,
        ),
        (
            "a map number that is not one",
            "/internal/intermediate/x/0",
            Some(secret.as_str()),
            StatusCode::BAD_REQUEST,
        ),
        (
            "a reduce number that is not one",
            "/internal/intermediate/0/-1",
            Some(secret.as_str()),
            StatusCode::BAD_REQUEST,
        ),
        (
            "a route that does not exist",
            "/nothing",
            None,
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, body) = connection
            .send(Method::GET, path, key, "application/json", Vec::new())
            .await
            .unwrap_or_else(|e| panic!("{what}: {e:#}"));
        assert_eq!(
            status, expect,
            "a worker asked for {what} ({path}) must answer {expect}: {body}"
        );
        let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        assert!(
            json["error"].is_string(),
            "{what}: the refusal must be a JSON error: {body}"
        );
    }
    let (status, body) = connection
        .send(Method::GET, "/health", None, "application/json", Vec::new())
        .await
        .expect("the connection still serves");
    assert_eq!(
        status,
        StatusCode::OK,
        "after every refusal, the same connection still serves: {body}"
    );
}
