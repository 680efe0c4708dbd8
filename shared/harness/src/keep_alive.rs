//! One kept-alive connection through every kind of refusal: the test every chapter runs
//! against its node (see `plumbing::keep_alive` for why a refusal could cost it).
//!
//! [`survives_refusals`] opens a single HTTP/1.1 connection (hyper's client connection,
//! which never reconnects or retries behind the test's back) and sends on it, in turn,
//! valid writes and every refusal a client can provoke: a key of 257 bytes, a body that
//! is not JSON, a body that is JSON but not an object, the wrong `Content-Type`, a body
//! over the limit and, where the node has internal routes, a request without the cluster
//! key. Every answer must come back on the same connection, none may say
//! `Connection: close`, and afterwards every acknowledged write must read back.

use std::time::Duration;

use std::convert::Infallible;

use anyhow::{Context as _, bail, ensure};
use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::Frame;
use hyper::client::conn::http1::SendRequest;

/// A request body as the test's connection sends it.
type Body = BoxBody<Bytes, Infallible>;

/// How long a "slow" body waits after its request's head: long enough for the node to
/// have read the head and answered a refusal before the body arrives, as happens when a
/// client's body crosses the network in a later packet than its head. (Traffic shaping,
/// like the fault schedules' pauses: the test waits on no outcome with it.)
const SLOW_BODY: Duration = Duration::from_millis(10);

/// The node under test.
#[derive(Debug, Clone)]
pub struct Target {
    /// The node's base URL, `http://127.0.0.1:port` (a leader, for a replicated chapter).
    pub base: String,
    /// The client routes' body limit (a longer body is `413`).
    pub body_limit: usize,
    /// An internal route that needs the cluster key, if the node has one (`401` without).
    pub internal: Option<String>,
}

/// What was sent, by kind.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Valid writes acknowledged (and read back).
    pub written: usize,
    /// Refusals answered, each with its expected status.
    pub refused: usize,
}

/// What a replicated node answers when it stopped leading mid-test: a valid request
/// refused for leadership (`421 not_leader`, `503 unavailable`, `504 timeout`). Not a
/// failure of what the test checks: [`survives_refusals_at_leader`] starts over at the
/// next leader.
#[derive(Debug, thiserror::Error)]
#[error(
    "the node stopped leading during the test: request {request} ({what}) answered {status}: {body}"
)]
pub struct LeaderMoved {
    pub request: usize,
    pub what: &'static str,
    pub status: StatusCode,
    pub body: String,
}

/// Whether a valid request's answer says the node no longer leads (see [`LeaderMoved`]).
fn leadership_refusal(status: StatusCode, body: &str) -> bool {
    let code = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|json| json["error"].as_str().map(str::to_string));
    matches!(
        (status.as_u16(), code.as_deref()),
        (421, Some("not_leader")) | (503, Some("unavailable")) | (504, Some("timeout"))
    )
}

/// [`survives_refusals`] against a replicated group, at whichever replica `leader()`
/// names: if the node stops leading mid-test (an election on a loaded machine), the test
/// starts over at the next leader, up to five times in all, and fails only if every try
/// was interrupted.
pub async fn survives_refusals_at_leader<L, F>(
    leader: L,
    target: impl Fn(String) -> Target,
    requests: usize,
    key_for: impl Fn(usize) -> String,
) -> anyhow::Result<Report>
where
    L: Fn() -> F,
    F: std::future::Future<Output = String>,
{
    let mut moved = Vec::new();
    for _ in 0..5 {
        let base = leader().await;
        match survives_refusals(&target(base), requests, &key_for).await {
            Err(e) if e.downcast_ref::<LeaderMoved>().is_some() => moved.push(e.to_string()),
            other => return other,
        }
    }
    bail!(
        "five tries in a row were interrupted by a change of leader: the group never settled \
         ({})",
        moved.join("; ")
    )
}

/// One request of the mix: its method, path, content type, body and the status it must
/// get (`None`: a valid write, `200`).
struct Send {
    what: &'static str,
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Bytes,
    expect: StatusCode,
    /// Send the body [`SLOW_BODY`] after the head.
    slow: bool,
}

/// Sends `requests` requests over one connection, cycling through the refusals with a
/// valid write every tenth request, and reads every acknowledged write back on the same
/// connection. `key_for(i)` names the key of the i-th valid write (a key the node
/// serves).
pub async fn survives_refusals(
    target: &Target,
    requests: usize,
    key_for: impl Fn(usize) -> String,
) -> anyhow::Result<Report> {
    // A replicated node that stops leading answers a valid request with a leadership
    // refusal: that ends this try with [`LeaderMoved`], which
    // [`survives_refusals_at_leader`] retries.
    let mut connection = connect(&target.base).await?;
    let mut report = Report::default();
    let mut written = Vec::new();
    let refusals = refusals(target);
    for i in 0..requests {
        // A valid write every tenth request (in a replicated chapter each is a commit),
        // refusals in between.
        let send = if i % 10 == 0 {
            let key = key_for(i);
            let value = format!("value {i}");
            written.push((key.clone(), value.clone()));
            Send {
                what: "a valid write",
                method: Method::PUT,
                path: format!("/kv/{key}"),
                content_type: Some("application/json"),
                body: Bytes::from(serde_json::json!({ "value": value }).to_string()),
                expect: StatusCode::OK,
                slow: false,
            }
        } else {
            // The large refusal (a body over the limit) one time in forty only: it is a
            // megabyte to send and drain. One refusal in thirty-two sends its body late.
            let n = i - i / 10 - 1;
            let pick = if n % 40 == 39 {
                0
            } else {
                1 + n % (refusals.len() - 1)
            };
            let mut send = refusals[pick].clone_send();
            send.slow = n % 32 == 3;
            send
        };
        let (status, body) = exchange(&mut connection, &target.base, &send)
            .await
            .with_context(|| {
                format!(
                    "request {i} ({}) on the kept-alive connection failed: a refusal earlier \
                     on this connection must not cost the client the connection (the node \
                     reads the rest of a refused body, or answers `Connection: close`)",
                    send.what
                )
            })?;
        if send.expect == StatusCode::OK && leadership_refusal(status, &body) {
            return Err(LeaderMoved {
                request: i,
                what: send.what,
                status,
                body,
            }
            .into());
        }
        ensure!(
            status == send.expect,
            "request {i} ({}, {} {}) answered {status}, expected {}: {body}",
            send.what,
            send.method,
            short(&send.path),
            send.expect
        );
        if send.expect == StatusCode::OK {
            report.written += 1;
        } else {
            report.refused += 1;
        }
    }
    for (i, (key, value)) in written.iter().enumerate() {
        let read = Send {
            what: "a read of an acknowledged write",
            method: Method::GET,
            path: format!("/kv/{key}"),
            content_type: None,
            body: Bytes::new(),
            expect: StatusCode::OK,
            slow: false,
        };
        let (status, body) = exchange(&mut connection, &target.base, &read)
            .await
            .with_context(|| format!("reading back write {i} on the same connection"))?;
        if leadership_refusal(status, &body) {
            return Err(LeaderMoved {
                request: requests + i,
                what: read.what,
                status,
                body,
            }
            .into());
        }
        let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        ensure!(
            status == StatusCode::OK && json["value"] == value.as_str(),
            "an acknowledged write must read back: {key:?} answered {status} {body}, expected \
             the value {value:?}"
        );
    }
    Ok(report)
}

impl Send {
    fn clone_send(&self) -> Send {
        Send {
            what: self.what,
            method: self.method.clone(),
            path: self.path.clone(),
            content_type: self.content_type,
            body: self.body.clone(),
            expect: self.expect,
            slow: self.slow,
        }
    }
}

/// Every refusal a client can provoke on the node; the first is the large one.
fn refusals(target: &Target) -> Vec<Send> {
    let json = Some("application/json");
    let put = |what, path: String, content_type, body: Bytes, expect| Send {
        what,
        method: Method::PUT,
        path,
        content_type,
        body,
        expect,
        slow: false,
    };
    let over = "x".repeat(target.body_limit + 1);
    let mut all = vec![
        put(
            "a body over the limit",
            "/kv/large".into(),
            json,
            Bytes::from(serde_json::json!({ "value": over }).to_string()),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        put(
            "a key of 257 bytes",
            format!("/kv/{}", "k".repeat(257)),
            json,
            Bytes::from_static(br#"{"value": "v"}"#),
            StatusCode::BAD_REQUEST,
        ),
        put(
            "a body that is not JSON",
            "/kv/k".into(),
            json,
            Bytes::from_static(b"not json at all"),
            StatusCode::BAD_REQUEST,
        ),
        put(
            "a JSON body that is not an object",
            "/kv/k".into(),
            json,
            Bytes::from_static(br#"["v", 3]"#),
            StatusCode::BAD_REQUEST,
        ),
        put(
            "a body without Content-Type: application/json",
            "/kv/k".into(),
            Some("text/plain"),
            Bytes::from_static(br#"{"value": "v"}"#),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ];
    if let Some(internal) = &target.internal {
        all.push(Send {
            what: "an internal request without the cluster key",
            method: Method::POST,
            path: internal.clone(),
            content_type: json,
            body: Bytes::from(vec![b' '; 64 * 1024]),
            expect: StatusCode::UNAUTHORIZED,
            slow: false,
        });
    }
    all
}

/// One HTTP/1.1 connection to `base`, kept open.
async fn connect(base: &str) -> anyhow::Result<SendRequest<Body>> {
    let address = base
        .strip_prefix("http://")
        .with_context(|| format!("{base} is not an http:// address"))?;
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .with_context(|| format!("connecting to {address}"))?;
    // A slow body is a second small write: without this, Nagle's algorithm holds it for
    // the node's delayed acknowledgement, 40 ms each time.
    stream.set_nodelay(true)?;
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .context("the HTTP/1.1 handshake")?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// Sends one request on the connection and reads the whole answer; fails if the
/// connection is gone or the answer closes it.
async fn exchange(
    connection: &mut SendRequest<Body>,
    base: &str,
    send: &Send,
) -> anyhow::Result<(StatusCode, String)> {
    let host = base.trim_start_matches("http://");
    let mut request = Request::builder()
        .method(send.method.clone())
        .uri(&send.path)
        .header(header::HOST, host);
    if let Some(content_type) = send.content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let body: Body = if send.slow {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(1);
        let data = send.body.clone();
        tokio::spawn(async move {
            tokio::time::sleep(SLOW_BODY).await;
            let _ = tx.send(Ok(Frame::data(data))).await;
        });
        request = request.header(header::CONTENT_LENGTH, send.body.len());
        StreamBody::new(tokio_stream_from(rx)).boxed()
    } else {
        Full::new(send.body.clone()).boxed()
    };
    let request = request.body(body)?;
    let answer = tokio::time::timeout(Duration::from_secs(30), async {
        connection
            .ready()
            .await
            .context("the connection is closed")?;
        let response = connection
            .send_request(request)
            .await
            .context("the connection closed before the answer")?;
        let status = response.status();
        let closes = response
            .headers()
            .get(header::CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        let body = response
            .into_body()
            .collect()
            .await
            .context("the connection closed in the middle of the answer")?
            .to_bytes();
        let body = String::from_utf8_lossy(&body).into_owned();
        if closes {
            bail!(
                "the node answered {status} with `Connection: close` to a body it could have \
                 read: {}",
                short(&body)
            );
        }
        anyhow::Ok((status, body))
    })
    .await
    .context("no answer within 30 s")??;
    Ok(answer)
}

/// `text` cut short for a message.
fn short(text: &str) -> String {
    match text.char_indices().nth(120) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// A stream of the frames a channel carries (what [`StreamBody`] reads).
fn tokio_stream_from<T>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_leadership_refusal_is_taken_for_a_moved_leader() {
        let body = |code: &str| format!(r#"{{"error": "{code}", "message": "..."}}"#);
        for (status, code) in [(421, "not_leader"), (503, "unavailable"), (504, "timeout")] {
            let status = StatusCode::from_u16(status).expect("a status");
            assert!(
                leadership_refusal(status, &body(code)),
                "{status} {code} says the node no longer leads: the test starts over"
            );
        }
        for (status, code) in [
            (400, "invalid_body"),
            (503, "overloaded"),
            (500, "internal"),
        ] {
            let status = StatusCode::from_u16(status).expect("a status");
            assert!(
                !leadership_refusal(status, &body(code)),
                "{status} {code} is not about leadership: it fails the test"
            );
        }
        assert!(
            !leadership_refusal(StatusCode::SERVICE_UNAVAILABLE, "not json"),
            "a 503 without the JSON error body is not taken for a leadership refusal"
        );
    }
}
