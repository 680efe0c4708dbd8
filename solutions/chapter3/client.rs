//! A typed client for the key-value API, that finds the leader by itself.
//!
//! Exercise 3.5 lives here. Chapter 2's client, plus one rule: a write sent to a follower
//! comes back as `421 not_leader` with the leader's address, and the client follows it
//! (a few hops at most) and remembers where the leader is for the next write. Reads go
//! to the node the client was made for, leader or follower: a follower's answer carries
//! `applied_index`, so a caller can see how stale it may be.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};

use crate::api::{DeleteResponse, Entry, ErrorBody, PutRequest};

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
    /// The node is a follower, and the leader it named (if any) could not be reached in
    /// [`MAX_REDIRECTS`] hops.
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

/// How many `421` redirects one call follows before giving up.
pub const MAX_REDIRECTS: usize = 3;

/// A client of a replicated group, made with the address of any one node.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    /// Where writes go: the base, until a `421` names the leader.
    leader: Arc<Mutex<Url>>,
}

impl Client {
    /// A client of the node at `base` (`http://127.0.0.1:7000`, or just
    /// `127.0.0.1:7000`), with a 10 s timeout per request.
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()?;
        let base = parse_node(base).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Self {
            http,
            leader: Arc::new(Mutex::new(base.clone())),
            base,
        })
    }

    /// Where this client sends writes now: the node it was made for, or the leader a
    /// `421` named.
    pub fn leader(&self) -> Url {
        self.leader
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_leader(&self, url: Url) {
        *self.leader.lock().unwrap_or_else(PoisonError::into_inner) = url;
    }

    /// The value and version of `key`, or `None` if it does not exist, from the node
    /// this client was made for. A follower's answer may be stale: see `applied_index`.
    pub async fn get(&self, key: &str) -> Result<Option<Entry>, ClientError> {
        let base = self.base.clone();
        match self.send_to(&base, Method::GET, &key_path(key), None).await {
            Ok(entry) => Ok(Some(entry)),
            Err(ClientError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores `value` under `key` unconditionally.
    pub async fn put(&self, key: &str, value: &str) -> Result<Entry, ClientError> {
        let body = PutRequest {
            value: value.to_string(),
            if_version: None,
        };
        self.write(Method::PUT, &key_path(key), Some(&body)).await
    }

    /// Stores `value` under `key` only if the key is at `version` (0: only if absent).
    pub async fn put_if(&self, key: &str, value: &str, version: u64) -> Result<Entry, ClientError> {
        let body = PutRequest {
            value: value.to_string(),
            if_version: Some(version),
        };
        self.write(Method::PUT, &key_path(key), Some(&body)).await
    }

    /// Deletes `key`; returns the version of the delete.
    pub async fn delete(&self, key: &str) -> Result<u64, ClientError> {
        let response: DeleteResponse = self.write(Method::DELETE, &key_path(key), None).await?;
        Ok(response.version)
    }

    // ANCHOR: write
    /// Sends a write to the leader, following `421 not_leader` redirects.
    async fn write<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&PutRequest>,
    ) -> Result<T, ClientError> {
        // EXERCISE 3.5: follow `421 not_leader` to the leader, and remember it
        // HINT: Two nodes that each name the other as leader must not keep the client forever.
        let mut target = self.leader();
        let mut hops = 0;
        loop {
            match self.send_to(&target, method.clone(), path, body).await {
                Err(ClientError::NotLeader { leader: Some(url) }) if hops < MAX_REDIRECTS => {
                    hops += 1;
                    target = parse_node(&url).map_err(|detail| ClientError::Protocol {
                        status: StatusCode::MISDIRECTED_REQUEST,
                        detail,
                    })?;
                    self.set_leader(target.clone());
                }
                outcome => return outcome,
            }
        }
        // END EXERCISE 3.5
    }
    // ANCHOR_END: write

    /// Sends one request to `base` and decodes a success body as `T`, or an error as
    /// [`ClientError`].
    async fn send_to<T: serde::de::DeserializeOwned>(
        &self,
        base: &Url,
        method: Method,
        path: &str,
        body: Option<&PutRequest>,
    ) -> Result<T, ClientError> {
        let url = format!("{}{path}", base.as_str().trim_end_matches('/'));
        let mut request = self.http.request(method, &url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let transport = |source: reqwest::Error| ClientError::Transport {
            url: url.clone(),
            source,
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            serde_json::from_slice(&body).map_err(|e| ClientError::Protocol {
                status,
                detail: format!("undecodable success body: {e}"),
            })
        } else {
            Err(error_from_response(status, &body))
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
fn encode_segment(key: &str) -> String {
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
