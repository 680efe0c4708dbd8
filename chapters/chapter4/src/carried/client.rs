//! Carried from `solutions/chapter1/client.rs` by `cargo xtask exercises`:
//! chapter 1's client, exercise 1.5, finished. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs of this chapter's own: `api::{DeleteResponse, Entry, ErrorBody, PutRequest}`.
//!
//! A typed client for the key-value API.
//!
//! Over the wire an error is a status code and a JSON body;
//! in Rust it should be a value a caller can `match` on. A compare-and-set loop, for
//! instance, must tell "someone else wrote first" (retry with the current version)
//! from "the server is down" (give up or wait) from "my key is invalid" (a bug).

use std::time::Duration;

use reqwest::{StatusCode, Url};

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

/// A client of one node.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
}

impl Client {
    /// A client of the node at `base` (`http://127.0.0.1:7000`, or just
    /// `127.0.0.1:7000`), with a 10 s timeout per request.
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let base = if base.contains("://") {
            base.to_string()
        } else {
            format!("http://{base}")
        };
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()?;
        let base = Url::parse(&base)
            .map_err(|e| anyhow::anyhow!("{base:?} is not a node address: {e}"))?;
        Ok(Self { http, base })
    }

    /// The node's base URL, without a trailing `/`.
    pub fn base(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// `/kv/<key>`, with the key percent-encoded as one path segment.
    fn key_url(&self, key: &str) -> String {
        format!("{}/kv/{}", self.base(), encode_segment(key))
    }

    /// The value and version of `key`, or `None` if it does not exist.
    pub async fn get(&self, key: &str) -> Result<Option<Entry>, ClientError> {
        match self.send(self.http.get(self.key_url(key))).await {
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
        self.send(self.http.put(self.key_url(key)).json(&body))
            .await
    }

    /// Stores `value` under `key` only if the key is at `version` (0: only if absent).
    pub async fn put_if(&self, key: &str, value: &str, version: u64) -> Result<Entry, ClientError> {
        let body = PutRequest {
            value: value.to_string(),
            if_version: Some(version),
        };
        self.send(self.http.put(self.key_url(key)).json(&body))
            .await
    }

    /// Deletes `key`; returns the version of the delete.
    pub async fn delete(&self, key: &str) -> Result<u64, ClientError> {
        let response: DeleteResponse = self.send(self.http.delete(self.key_url(key))).await?;
        Ok(response.version)
    }

    /// Sends a request and decodes a success body as `T`, or an error as [`ClientError`].
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let transport = |source: reqwest::Error| ClientError::Transport {
            url: source
                .url()
                .map_or_else(|| self.base.to_string(), Url::to_string),
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
