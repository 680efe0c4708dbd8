//! The cluster's secret: what lets a node tell its peers from everyone else.
//!
//! Every route under `/internal/` changes a node's state on a peer's word (append these
//! entries, adopt this term, install this ring). Anyone who can reach the port could
//! speak that word, so each internal request carries the cluster's key in the
//! [`CLUSTER_KEY_HEADER`] header, and a node answers `401 unauthorized` (JSON) to one
//! without it or with another key, before reading its body.
//!
//! A node reads its key from `--cluster-key` or the [`CLUSTER_KEY_ENV`] environment
//! variable. [`ClusterKey::check_bind`] refuses to serve a non-loopback address without
//! a key; on loopback a node may run without one (every internal request is then
//! accepted) and says so loudly in its log.
//!
//! Peers send the key with [`peer_client`]; the test harness gives every cluster it
//! starts a fresh random key ([`ClusterKey::random`]), handed to each node when it starts.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The header that carries the key on every internal request.
pub const CLUSTER_KEY_HEADER: &str = "x-cluster-key";
/// The environment variable a node reads its key from (as `--cluster-key`).
pub const CLUSTER_KEY_ENV: &str = "KV_CLUSTER_KEY";
/// The longest key accepted.
pub const MAX_KEY_BYTES: usize = 256;

/// A cluster's secret, or none (loopback only). Its `Debug` never shows the key.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClusterKey(Option<Arc<str>>);

impl fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(_) => f.write_str("ClusterKey(<secret>)"),
            None => f.write_str("ClusterKey(none)"),
        }
    }
}

impl ClusterKey {
    /// No key: every internal request is accepted. Allowed on loopback only.
    pub fn none() -> Self {
        ClusterKey(None)
    }

    /// A key from the command line or environment: 16 to 256 visible ASCII characters
    /// (it travels in an HTTP header, and a short one is guessed).
    pub fn new(key: &str) -> Result<Self, String> {
        if key.len() < 16 || key.len() > MAX_KEY_BYTES {
            return Err(format!(
                "a cluster key must be 16 to {MAX_KEY_BYTES} characters long (this one has {})",
                key.len()
            ));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(
                "a cluster key must be visible ASCII characters (no spaces or control characters)"
                    .into(),
            );
        }
        Ok(ClusterKey(Some(key.into())))
    }

    /// From an optional value (as clap hands `--cluster-key` / `KV_CLUSTER_KEY` over).
    pub fn from_option(key: Option<&str>) -> Result<Self, String> {
        key.map_or(Ok(ClusterKey::none()), ClusterKey::new)
    }

    /// A fresh random key (for a cluster the harness, a demo or a benchmark starts).
    pub fn random() -> Self {
        let key: String = (0..32)
            .map(|_| fastrand::alphanumeric())
            .collect::<String>();
        ClusterKey(Some(key.into()))
    }

    /// The key, to hand to another process (`--cluster-key`), if there is one.
    pub fn expose(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// Whether a request carrying `header` may use an internal route.
    pub fn admits(&self, header: Option<&HeaderValue>) -> bool {
        match (&self.0, header) {
            (None, _) => true,
            (Some(key), Some(sent)) => constant_time_eq(key.as_bytes(), sent.as_bytes()),
            (Some(_), None) => false,
        }
    }

    /// Refuses to serve `addr` without a key unless it is a loopback address, where it
    /// warns instead: anyone on the network could otherwise rewrite the node's state.
    pub fn check_bind(&self, addr: SocketAddr) -> Result<(), String> {
        match (&self.0, addr.ip().is_loopback()) {
            (Some(_), _) => Ok(()),
            (None, true) => {
                tracing::warn!(
                    %addr,
                    "NO CLUSTER KEY: internal routes accept anyone who can reach this port; \
                     pass --cluster-key or set {CLUSTER_KEY_ENV} (required off loopback)"
                );
                Ok(())
            }
            (None, false) => Err(format!(
                "refusing to serve {addr} without a cluster key: anyone on the network could \
                 send this node internal messages; pass --cluster-key or set {CLUSTER_KEY_ENV}"
            )),
        }
    }

    /// The headers an internal request carries.
    pub fn headers(&self) -> reqwest::header::HeaderMap {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(value) = self
            .0
            .as_deref()
            .and_then(|k| reqwest::header::HeaderValue::from_str(k).ok())
        {
            headers.insert(CLUSTER_KEY_HEADER, value);
        }
        headers
    }
}

/// Compares without stopping at the first difference, so the time a refusal takes
/// says nothing about how much of the key was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A reqwest client for node-to-node calls that sends `key` on every request (see
/// [`crate::http::client`] for the rest of its settings).
pub fn peer_client(timeout: Duration, key: &ClusterKey) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(timeout)
        .default_headers(key.headers())
        .build()?)
}

/// Middleware for the internal routes: a request without the cluster's key, or with
/// another, is answered `401` JSON before its body is read, and changes nothing.
///
/// ```ignore
/// let internal = Router::new()
///     .route("/internal/raft", post(raft))
///     .layer(axum::middleware::from_fn_with_state(key, require_cluster_key));
/// ```
pub async fn require_cluster_key(
    State(key): State<ClusterKey>,
    request: Request,
    next: Next,
) -> Response {
    if key.admits(request.headers().get(CLUSTER_KEY_HEADER)) {
        return next.run(request).await;
    }
    let sent = request.headers().contains_key(CLUSTER_KEY_HEADER);
    tracing::warn!(
        path = %request.uri().path(),
        key_sent = sent,
        "refused an internal request without the cluster's key"
    );
    let message = if sent {
        "the x-cluster-key header does not match this cluster's key"
    } else {
        "internal routes are for the cluster's nodes: send the cluster's key in the x-cluster-key header"
    };
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(serde_json::json!({ "error": "unauthorized", "message": message })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_admits_itself_only() {
        let key = ClusterKey::new("0123456789abcdef").expect("a valid key");
        assert!(key.admits(Some(&HeaderValue::from_static("0123456789abcdef"))));
        assert!(!key.admits(Some(&HeaderValue::from_static("0123456789abcdeX"))));
        assert!(!key.admits(Some(&HeaderValue::from_static("0123456789abcde"))));
        assert!(!key.admits(None));
        assert!(ClusterKey::none().admits(None));
    }

    #[test]
    fn short_or_invisible_keys_are_refused() {
        assert!(ClusterKey::new("short").is_err());
        assert!(ClusterKey::new("0123456789 abcdef").is_err());
        assert!(ClusterKey::new(&"k".repeat(MAX_KEY_BYTES + 1)).is_err());
        assert_eq!(ClusterKey::from_option(None), Ok(ClusterKey::none()));
    }

    #[test]
    fn no_key_is_refused_off_loopback_only() {
        let none = ClusterKey::none();
        assert!(
            none.check_bind("127.0.0.1:7000".parse().expect("addr"))
                .is_ok()
        );
        assert!(
            none.check_bind("0.0.0.0:7000".parse().expect("addr"))
                .is_err()
        );
        assert!(
            ClusterKey::random()
                .check_bind("0.0.0.0:7000".parse().expect("addr"))
                .is_ok()
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = ClusterKey::new("0123456789abcdef").expect("a valid key");
        assert!(!format!("{key:?}").contains("0123"));
    }
}
