//! Helpers shared by chapter 4's tests.

#![allow(dead_code)]

use std::time::Duration;

use chapter4::api::{ClusterView, Status};
use chapter4::bench;
use chapter4::holds::Holds;
use chapter4::ring::{Member, Placement, Ring};
use harness::TestNode;
use harness::cluster_key::{ClusterKey, peer_client};
use serde_json::Value;

/// How long anything a test waits for may take before the test fails (a generous bound
/// for a loaded 2-core machine; the waits poll and usually end in milliseconds).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The secret every test cluster's nodes share (the tests' [`http`] client sends it).
pub fn cluster_key() -> ClusterKey {
    ClusterKey::new("chapter4-test-cluster-key").expect("a valid key")
}

/// The placement the loopback tests use unless they say otherwise.
pub const CONSISTENT: Placement = Placement::Consistent { vnodes: 64 };

/// `n` founding members on loopback (ids 1..=n), each with its own data directory.
pub struct TestCluster {
    pub dir: tempfile::TempDir,
    pub nodes: Vec<TestNode>,
}

impl TestCluster {
    pub fn start(n: usize, placement: Placement) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let nodes = bench::start_cluster(n, placement, dir.path(), &cluster_key(), |_| {})
            .expect("starting loopback nodes should always work");
        Self { dir, nodes }
    }

    /// The URL of the node with this id.
    pub fn url(&self, id: u64) -> String {
        self.node(id).url()
    }

    pub fn node(&self, id: u64) -> &TestNode {
        self.nodes
            .iter()
            .find(|n| n.id() == id)
            .unwrap_or_else(|| panic!("no node {id} in this test"))
    }

    pub fn node_mut(&mut self, id: u64) -> &mut TestNode {
        self.nodes
            .iter_mut()
            .find(|n| n.id() == id)
            .unwrap_or_else(|| panic!("no node {id} in this test"))
    }

    /// Starts a node outside the cluster (no members), ready to be joined.
    pub fn start_outside(&mut self, id: u64) -> String {
        self.start_outside_holding(id, &Holds::default())
    }

    /// Starts a node outside the cluster that stops wherever the test arms `holds`.
    pub fn start_outside_holding(&mut self, id: u64, holds: &Holds) -> String {
        let (node, url) =
            bench::start_outside(id, CONSISTENT, self.dir.path(), &cluster_key(), |c| {
                c.holds = holds.clone()
            })
            .expect("starting a loopback node should always work");
        self.nodes.push(node);
        url
    }

    pub async fn stop(mut self) {
        for node in &mut self.nodes {
            let _ = node.stop().await;
        }
    }
}

/// A fresh HTTP client (no pooled connection can outlive a stopped node) that sends the
/// cluster's key, as an operator's `chapter4 join` does.
pub fn http() -> reqwest::Client {
    peer_client(Duration::from_secs(30), &cluster_key()).expect("building an HTTP client")
}

/// An answer: status, JSON body, `x-served-by` and `x-hops`.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub served_by: Option<u64>,
    pub hops: Option<u32>,
}

/// One raw request. A handler that reached an unfinished exercise makes this fail with
/// the exercise's message.
pub async fn call(
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> anyhow::Result<Answer> {
    let mut request = http().request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

pub async fn send(request: reqwest::RequestBuilder) -> anyhow::Result<Answer> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let number = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
    };
    let served_by = number("x-served-by");
    let hops = number("x-hops").map(|h| h as u32);
    let text = response.text().await?;
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if body["error"] == "not_implemented" {
        anyhow::bail!("{}", body["message"].as_str().unwrap_or_default());
    }
    Ok(Answer {
        status,
        body,
        served_by,
        hops,
    })
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
        Ok(a) if a.status == 200 => a.body["version"].as_u64().unwrap_or_default(),
        Ok(a) => panic!("PUT {key} at {base}: {} {}", a.status, a.body),
        Err(e) => panic!("PUT {key} at {base}: {e:#}"),
    }
}

/// `GET {base}/kv/{key}`: the answer, whatever it is.
pub async fn get(base: &str, key: &str) -> Answer {
    call(reqwest::Method::GET, &format!("{base}/kv/{key}"), None)
        .await
        .unwrap_or_else(|e| panic!("GET {key} at {base}: {e:#}"))
}

/// A membership change through `via`; panics with the node's message if refused.
pub async fn change(via: &str, path: &str, body: Value) -> ClusterView {
    let answer = call(reqwest::Method::POST, &format!("{via}{path}"), Some(body))
        .await
        .unwrap_or_else(|e| panic!("POST {path} at {via}: {e:#}"));
    assert_eq!(
        answer.status, 200,
        "POST {path} at {via} was refused: {}",
        answer.body
    );
    serde_json::from_value(answer.body).expect("a cluster view")
}

pub async fn join(via: &str, id: u64, url: &str) -> ClusterView {
    change(
        via,
        "/cluster/join",
        serde_json::json!({ "id": id, "url": url }),
    )
    .await
}

pub async fn leave(via: &str, id: u64) -> ClusterView {
    change(via, "/cluster/leave", serde_json::json!({ "id": id })).await
}

/// A node's `/status`.
pub async fn status(base: &str) -> Status {
    let answer = call(reqwest::Method::GET, &format!("{base}/status"), None)
        .await
        .unwrap_or_else(|e| panic!("GET /status at {base}: {e:#}"));
    serde_json::from_value(answer.body).expect("a status")
}

/// A node's `/cluster`.
pub async fn view(base: &str) -> ClusterView {
    let answer = call(reqwest::Method::GET, &format!("{base}/cluster"), None)
        .await
        .unwrap_or_else(|e| panic!("GET /cluster at {base}: {e:#}"));
    serde_json::from_value(answer.body).expect("a cluster view")
}

/// Waits until the node at `base` holds exactly `keys` keys.
pub async fn wait_keys(base: &str, keys: usize, what: &str) {
    harness::eventually(PATIENCE, what, || async {
        let s = status(base).await;
        if s.keys == keys {
            Ok(())
        } else {
            Err(format!("node {} holds {} keys", s.id, s.keys))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

/// `n` members with ids 1..=n and placeholder URLs.
pub fn members(n: usize) -> Vec<Member> {
    bench::members(1, n)
}

/// A ring of members 1..=n at `epoch`.
pub fn ring(epoch: u64, placement: Placement, n: usize) -> Ring {
    Ring::new(epoch, placement, members(n)).expect("a valid ring")
}

/// `n` random keys from a seeded generator.
pub fn random_keys(seed: u64, n: usize) -> Vec<String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n)
        .map(|_| {
            let len = rng.usize(1..24);
            (0..len).map(|_| rng.alphanumeric()).collect()
        })
        .collect()
}
