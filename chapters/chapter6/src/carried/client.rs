//! Carried from `solutions/chapter5/client.rs` by `cargo xtask exercises`:
//! chapter 5's client, exercise 5.7, finished. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs of this chapter's own: `api::{CLIENT_ID_HEADER, DeleteResponse, Entry, ErrorBody, PutRequest, REQUEST_ID_HEADER}`, `machine::KEPT_PER_CLIENT`.
//!
//! A client that rides out failovers: it finds the leader, retries, and never writes twice.
//!
//! The client knows every node's address. It sends each request
//! to the leader it last heard of; a `421 not_leader` names the new one (follow it at
//! once); a refused connection, a `503` (the leader stepped down mid-request) or a `504`
//! (not committed in time) means "try again shortly", with exponential backoff and
//! jitter, rotating through the nodes, until the deadline. A write's fate is unknown
//! after a `503`, a `504` or a dropped connection, so every write carries this client's
//! id and a request number that the retries repeat: the servers apply it once.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, Url};

use crate::api::{
    CLIENT_ID_HEADER, DeleteResponse, Entry, ErrorBody, PutRequest, REQUEST_ID_HEADER,
};

/// Everything a call can fail with, as a caller needs to tell the cases apart.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The key does not exist.
    #[error("key not found")]
    NotFound,
    /// A compare-and-set lost: the key is at `current` (0 if absent). Retry from there.
    #[error("version mismatch: the key is at version {current}")]
    VersionMismatch {
        /// The key's version now.
        current: u64,
    },
    /// No leader could be found before the retry deadline.
    #[error("{}", match leader {
        Some(url) => format!("not the leader; the leader is at {url}"),
        None => "not the leader, and it does not know which node is".to_string(),
    })]
    NotLeader {
        /// The leader's address, if the node knew it.
        leader: Option<String>,
    },
    /// The server refused the request as invalid (4xx): fix the request, do not retry it.
    #[error("request rejected ({status} {code}): {message}")]
    Rejected {
        /// The HTTP status.
        status: StatusCode,
        /// The error code, e.g. `invalid_key`.
        code: String,
        /// The server's explanation.
        message: String,
    },
    /// The server failed (5xx): the request may be retried later.
    #[error("the server failed ({status} {code}): {message}")]
    Server {
        /// The HTTP status.
        status: StatusCode,
        /// The error code, e.g. `timeout`.
        code: String,
        /// The server's explanation.
        message: String,
    },
    /// The server answered something that is not the API (a bug or the wrong server).
    #[error("unexpected response ({status}): {detail}")]
    Protocol {
        /// The HTTP status.
        status: StatusCode,
        /// What was wrong with it.
        detail: String,
    },
    /// No answer: connection refused, reset, timed out. (The cause is the error's
    /// `source`; print it with `{:#}` in anyhow, or walk `Error::source`.)
    #[error("no answer from {url} (is a node running there?)")]
    Transport {
        /// The URL called.
        url: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
}

impl ClientError {
    /// Whether trying again (maybe elsewhere) may succeed: no leader known, a node that
    /// cannot be reached, a `503` or a `504`. Everything else is the answer.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::NotLeader { .. } | ClientError::Transport { .. } => true,
            ClientError::Server { status, .. } => {
                *status == StatusCode::SERVICE_UNAVAILABLE || *status == StatusCode::GATEWAY_TIMEOUT
            }
            _ => false,
        }
    }
}

/// How long and how often to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Give up after this long (the last error is returned).
    pub deadline: Duration,
    /// The first pause between attempts.
    pub backoff_min: Duration,
    /// The longest pause (each failure doubles it up to here).
    pub backoff_max: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            deadline: Duration::from_secs(10),
            backoff_min: Duration::from_millis(10),
            backoff_max: Duration::from_millis(200),
        }
    }
}

/// A client of a whole group. Cheap to share (`Arc`); up to
/// [`KEPT_PER_CLIENT`](crate::machine::KEPT_PER_CLIENT) writes may be in flight at once.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    nodes: Vec<Url>,
    leader: Mutex<Option<Url>>,
    rotation: AtomicUsize,
    client_id: String,
    next_request: AtomicU64,
    retry: Retry,
    attempts: Arc<AtomicU64>,
}

impl Client {
    /// A client of the group whose nodes are at `nodes` (`http://127.0.0.1:7000` or
    /// `127.0.0.1:7000`), with a fresh random client id.
    pub fn new<S: AsRef<str>>(nodes: &[S]) -> anyhow::Result<Self> {
        let nodes = nodes
            .iter()
            .map(|n| parse_node(n.as_ref()).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(
            !nodes.is_empty(),
            "a client needs at least one node address"
        );
        Ok(Client {
            http: plumbing::http::client(Duration::from_secs(5))?,
            nodes,
            leader: Mutex::new(None),
            rotation: AtomicUsize::new(0),
            client_id: format!("c{:016x}", fastrand::u64(..)),
            next_request: AtomicU64::new(1),
            retry: Retry::default(),
            attempts: Arc::default(),
        })
    }

    /// The same client with another retry policy.
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// This client's id, sent as `x-client-id`.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The leader this client last heard of.
    pub fn leader(&self) -> Option<Url> {
        self.leader
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many HTTP requests this client has sent (retries included).
    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }

    fn set_leader(&self, url: Option<Url>) {
        *self.leader.lock().unwrap_or_else(PoisonError::into_inner) = url;
    }

    /// The known leader, else the next node in turn.
    fn target(&self) -> Url {
        self.leader().unwrap_or_else(|| self.next_node())
    }

    /// The next node in turn.
    fn next_node(&self) -> Url {
        let i = self.rotation.fetch_add(1, Ordering::Relaxed);
        self.nodes[i % self.nodes.len()].clone()
    }

    /// Reads a key (through the leader's log: never stale). `Ok(None)` if absent.
    pub async fn get(&self, key: &str) -> Result<Option<Entry>, ClientError> {
        match self.call(Method::GET, &key_path(key), None, false).await {
            Ok(entry) => Ok(Some(entry)),
            Err(ClientError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes a key.
    pub async fn put(&self, key: &str, value: &str) -> Result<Entry, ClientError> {
        let body = PutRequest {
            value: value.to_string(),
            if_version: None,
        };
        self.call(Method::PUT, &key_path(key), Some(&body), true)
            .await
    }

    /// Writes a key only if it is at `version` (0: only if absent).
    pub async fn put_if(&self, key: &str, value: &str, version: u64) -> Result<Entry, ClientError> {
        let body = PutRequest {
            value: value.to_string(),
            if_version: Some(version),
        };
        self.call(Method::PUT, &key_path(key), Some(&body), true)
            .await
    }

    /// Deletes a key; returns the delete's version.
    pub async fn delete(&self, key: &str) -> Result<u64, ClientError> {
        let response: DeleteResponse = self
            .call(Method::DELETE, &key_path(key), None, true)
            .await?;
        Ok(response.version)
    }

    /// Sends a request until it gets an answer or the deadline passes: follows `421`
    /// hints, backs off on retryable errors, and repeats a write's request id.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&PutRequest>,
        write: bool,
    ) -> Result<T, ClientError> {
        let request = write.then(|| self.next_request.fetch_add(1, Ordering::Relaxed));
        let deadline = Instant::now() + self.retry.deadline;
        let mut backoff = self.retry.backoff_min;
        let mut target = self.target();
        loop {
            match self
                .send_to(&target, method.clone(), path, body, request)
                .await
            {
                Ok(answer) => {
                    self.set_leader(Some(target));
                    return Ok(answer);
                }
                Err(ClientError::NotLeader { leader: Some(url) })
                    if parse_node(&url).is_ok_and(|u| u != target) && Instant::now() < deadline =>
                {
                    target = parse_node(&url).map_err(|detail| ClientError::Protocol {
                        status: StatusCode::MISDIRECTED_REQUEST,
                        detail,
                    })?;
                    self.set_leader(Some(target.clone()));
                }
                Err(e) if e.is_retryable() => {
                    self.set_leader(None);
                    let pause = backoff.mul_f64(0.5 + fastrand::f64());
                    if Instant::now() + pause > deadline {
                        return Err(e);
                    }
                    tokio::time::sleep(pause).await;
                    backoff = (backoff * 2).min(self.retry.backoff_max);
                    target = self.next_node();
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends one request to `base` and decodes a success body as `T`, or an error as
    /// [`ClientError`].
    async fn send_to<T: serde::de::DeserializeOwned>(
        &self,
        base: &Url,
        method: Method,
        path: &str,
        body: Option<&PutRequest>,
        request: Option<u64>,
    ) -> Result<T, ClientError> {
        self.attempts.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}{path}", base.as_str().trim_end_matches('/'));
        let mut builder = self.http.request(method, &url);
        if let Some(body) = body {
            builder = builder.json(body);
        }
        if let Some(seq) = request {
            builder = builder
                .header(CLIENT_ID_HEADER, &self.client_id)
                .header(REQUEST_ID_HEADER, seq.to_string());
        }
        let transport = |source: reqwest::Error| ClientError::Transport {
            url: url.clone(),
            source,
        };
        let response = builder.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
                status,
                detail: format!("undecodable success body: {e}"),
            })
        } else {
            Err(error_from_response(status, &bytes))
        }
    }
}

/// A node's address as a URL; `127.0.0.1:7000` is taken as `http://127.0.0.1:7000`.
pub fn parse_node(address: &str) -> Result<Url, String> {
    let address = if address.contains("://") {
        address.to_string()
    } else {
        format!("http://{address}")
    };
    Url::parse(&address).map_err(|e| format!("{address:?} is not a node address: {e}"))
}

/// `/kv/<key>`, with the key percent-encoded as one path segment.
fn key_path(key: &str) -> String {
    format!("/kv/{}", encode_segment(key))
}

/// Percent-encodes every byte but the unreserved ones (RFC 3986), so that any key,
/// `/`, `?`, `#`, `%` and control characters included, reaches the server unchanged.
/// (`Url::path_segments_mut` would not do: URL parsing silently drops tabs and newlines.)
pub fn encode_segment(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Turns an error response (status and raw body) into the [`ClientError`] a caller
/// can act on.
pub fn error_from_response(status: StatusCode, body: &[u8]) -> ClientError {
    let error: ErrorBody = match serde_json::from_slice(body) {
        Ok(error) => error,
        Err(_) => {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            return ClientError::Protocol {
                status,
                detail: format!("not a JSON error body: {text:?}"),
            };
        }
    };
    match (error.error.as_str(), error.current_version) {
        ("not_found", _) => ClientError::NotFound,
        ("not_leader", _) => ClientError::NotLeader {
            leader: error.leader.flatten(),
        },
        ("version_mismatch", Some(current)) => ClientError::VersionMismatch { current },
        ("version_mismatch", None) => ClientError::Protocol {
            status,
            detail: "a version_mismatch error without current_version".to_string(),
        },
        _ if status.is_client_error() => ClientError::Rejected {
            status,
            code: error.error,
            message: error.message,
        },
        _ => ClientError::Server {
            status,
            code: error.error,
            message: error.message,
        },
    }
}
