//! Helpers shared by chapter 3's tests.

use std::time::Duration;

use chapter3::api::{LogEntry, Status};
use chapter3::replication::{AckMode, AppendRequest, LeaderLog, LogView};
use chapter3::{Config, Peer};
use harness::cluster::{Cluster, http_client};
use serde_json::Value;

/// How long anything a test waits for may take before the test fails (a generous bound
/// for a loaded 2-core machine; the waits poll and usually end in milliseconds).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A group of `n` nodes on loopback behind fault-injecting proxies; node 0 leads.
pub fn group(n: usize, mode: AckMode, tune: fn(&mut Config)) -> Cluster {
    Cluster::start(n, 7, move |ctx| {
        let mut config = Config {
            id: ctx.id,
            peers: ctx
                .peers
                .iter()
                .map(|p| Peer {
                    id: p.id,
                    url: p.url.clone(),
                })
                .collect(),
            leader_id: 0,
            advertise_url: format!("http://{}", ctx.addr),
            ack_mode: mode,
            data_dir: ctx.data_dir.clone(),
            heartbeat: Duration::from_millis(20),
            peer_timeout: Duration::from_millis(500),
            cluster_key: ctx.cluster_key.clone(),
            ..Config::default()
        };
        tune(&mut config);
        chapter3::run(ctx.listener, config, ctx.shutdown)
    })
    .expect("starting a loopback cluster should always work")
}

/// A fresh HTTP client (no pooled connection can outlive a killed node).
pub fn http() -> reqwest::Client {
    http_client(Duration::from_secs(15)).expect("building an HTTP client")
}

/// A client that sends the cluster's key, as the nodes (and `chapter3 promote`) do.
pub fn peer_http(cluster: &Cluster) -> reqwest::Client {
    harness::cluster_key::peer_client(Duration::from_secs(15), cluster.cluster_key())
        .expect("building an HTTP client")
}

/// One raw request; returns the status and the JSON body. A handler that reached an
/// unfinished exercise makes this fail with the exercise's message.
pub async fn call(
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    call_with(&http(), method, url, body).await
}

/// [`call`] with a given client (e.g. [`peer_http`], for internal routes).
pub async fn call_with(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut request = client.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if json["error"] == "not_implemented" {
        anyhow::bail!("{}", json["message"].as_str().unwrap_or_default());
    }
    Ok((status, json))
}

/// `PUT {base}/kv/{key}` that must be acknowledged; returns the version.
pub async fn put(base: &str, key: &str, value: &str) -> u64 {
    match call(
        reqwest::Method::PUT,
        &format!("{base}/kv/{key}"),
        Some(serde_json::json!({ "value": value })),
    )
    .await
    {
        Ok((200, body)) => body["version"].as_u64().unwrap_or_default(),
        Ok((status, body)) => panic!("PUT {key} at {base}: {status} {body}"),
        Err(e) => panic!("PUT {key} at {base}: {e:#}"),
    }
}

/// A node's `/status`.
pub async fn status(base: &str) -> anyhow::Result<Status> {
    let (code, body) = call(reqwest::Method::GET, &format!("{base}/status"), None).await?;
    anyhow::ensure!(code == 200, "GET /status answered {code}: {body}");
    Ok(serde_json::from_value(body)?)
}

/// Waits until node `i`'s status satisfies `ok`.
pub async fn wait_status(
    cluster: &Cluster,
    i: usize,
    what: &str,
    ok: impl Fn(&Status) -> bool,
) -> Status {
    let url = cluster.direct_url(i);
    harness::eventually(PATIENCE, what, || {
        let url = url.clone();
        let ok = &ok;
        async move {
            match status(&url).await {
                Ok(s) if ok(&s) => Ok(s),
                Ok(s) => Err(format!(
                    "node {i}: role {} term {} last_index {} commit {} applied {} snapshot {}",
                    s.role, s.term, s.last_index, s.commit_index, s.applied_index, s.snapshot_index
                )),
                Err(e) => Err(format!("{e:#}")),
            }
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// An in-memory log for the core's unit tests.
#[derive(Debug, Clone, Default)]
pub struct MemLog {
    pub term: u64,
    pub snapshot_index: u64,
    pub snapshot_term: u64,
    pub entries: Vec<LogEntry>,
    pub applied: u64,
}

/// An entry with a made-up write.
pub fn entry(index: u64, term: u64) -> LogEntry {
    LogEntry {
        index,
        term,
        key: format!("k{index}"),
        value: Some(format!("v{index}-t{term}")),
    }
}

impl MemLog {
    /// A log whose entries 1, 2, ... have the given terms.
    pub fn with_terms(terms: &[u64]) -> Self {
        let entries: Vec<LogEntry> = terms
            .iter()
            .enumerate()
            .map(|(i, &t)| entry(i as u64 + 1, t))
            .collect();
        Self {
            term: terms.last().copied().unwrap_or(1),
            entries,
            ..Self::default()
        }
    }

    fn get(&self, index: u64) -> Option<&LogEntry> {
        let offset = index.checked_sub(self.snapshot_index + 1)?;
        self.entries.get(offset as usize)
    }
}

impl LogView for MemLog {
    fn current_term(&self) -> u64 {
        self.term
    }
    fn last_index(&self) -> u64 {
        self.entries.last().map_or(self.snapshot_index, |e| e.index)
    }
    fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.snapshot_index {
            return Some(self.snapshot_term);
        }
        self.get(index).map(|e| e.term)
    }
    fn snapshot_index(&self) -> u64 {
        self.snapshot_index
    }
    fn snapshot_term(&self) -> u64 {
        self.snapshot_term
    }
    fn applied_index(&self) -> u64 {
        self.applied
    }
}

impl LeaderLog for MemLog {
    fn last_index(&self) -> u64 {
        LogView::last_index(self)
    }
    fn snapshot_index(&self) -> u64 {
        self.snapshot_index
    }
    fn term_at(&self, index: u64) -> Option<u64> {
        LogView::term_at(self, index)
    }
}

/// An append request from the leader of `term`.
pub fn append(term: u64, prev: (u64, u64), entries: Vec<LogEntry>, commit: u64) -> AppendRequest {
    AppendRequest {
        term,
        leader_id: 0,
        leader_url: "http://leader".into(),
        prev_index: prev.0,
        prev_term: prev.1,
        entries,
        leader_commit: commit,
    }
}
