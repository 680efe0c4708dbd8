//! `chapter6 demo`: the live cluster. Five nodes of this chapter (yours, without
//! `--features solution`) in this process behind the harness's per-link proxies, a few
//! clients writing and reading through [`Client`], and a web page that draws every node's
//! role, term, election timer and log (from just after its snapshot), and crashes, cuts and heals on a click. See
//! [`harness::dashboard`] for the page and its state API.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use harness::dashboard::Exec;
pub use harness::dashboard::{Dashboard, Options};
use harness::history::{KvOp, KvOutput, Outcome};
use harness::node::NodeContext;

use crate::client::{Client, ClientError, Retry};
use crate::node::{Config, Peer};
use crate::raft::{Compaction, Timing};

/// How often the live cluster's nodes snapshot: often enough to watch logs shrink.
pub const DEMO_COMPACTION: Compaction = Compaction {
    every: 200,
    chunk_bytes: 64 * 1024,
};

/// Starts the group, the workload and the page.
pub async fn start(options: Options, timing: Timing) -> anyhow::Result<Dashboard> {
    timing.validate().map_err(anyhow::Error::msg)?;
    let seed = options.seed;
    Dashboard::start(
        options,
        move |ctx| node_in_cluster(ctx, timing, DEMO_COMPACTION, seed),
        |urls, n| clients(urls, n, timing),
    )
    .await
}

/// Runs one node of a harness [`Cluster`](harness::cluster::Cluster): its peers are the
/// cluster's proxies, its data directory and key the cluster's. The live cluster and the
/// chapter's loopback tests start their nodes this way.
pub fn node_in_cluster(
    ctx: NodeContext,
    timing: Timing,
    compaction: Compaction,
    seed: u64,
) -> impl Future<Output = anyhow::Result<()>> {
    let config = Config {
        id: ctx.id,
        peers: ctx
            .peers
            .iter()
            .map(|p| Peer {
                id: p.id,
                url: p.url.clone(),
            })
            .collect(),
        advertise_url: format!("http://{}", ctx.addr),
        data_dir: ctx.data_dir.clone(),
        timing,
        compaction,
        seed: Some(seed),
        cluster_key: ctx.cluster_key.clone(),
        ..Config::default()
    };
    crate::run(ctx.listener, config, ctx.shutdown)
}

/// `n` clients of the group at `urls`, each giving up on a call after a few election
/// timeouts (so a call outlives a failover but not a group with no majority).
fn clients(urls: &[String], n: usize, timing: Timing) -> anyhow::Result<Exec> {
    let deadline = Duration::from_millis(4 * timing.election_max_ms).max(Duration::from_secs(2));
    let clients = (0..n)
        .map(|_| {
            Ok(Arc::new(Client::new(urls)?.with_retry(Retry {
                deadline,
                ..Retry::default()
            })))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Arc::new(move |c, op| {
        let client = Arc::clone(&clients[c % clients.len()]);
        Box::pin(async move { run_op(&client, &op).await })
    }))
}

/// Runs one recorded operation through the retrying client: an answer is its output;
/// anything else (the client gave up) leaves the outcome unknown.
pub async fn run_op(client: &Client, op: &KvOp) -> Outcome {
    let output = match op {
        KvOp::Get { key } => client
            .get(key)
            .await
            .map(|e| KvOutput::Value(e.map(|e| (e.value, e.version)))),
        KvOp::Put {
            key,
            value,
            if_version,
        } => {
            let put = match if_version {
                None => client.put(key, value).await,
                Some(version) => client.put_if(key, value, *version).await,
            };
            match put {
                Err(ClientError::VersionMismatch { current }) => Ok(KvOutput::Mismatch { current }),
                other => other.map(|e| KvOutput::Written { version: e.version }),
            }
        }
        KvOp::Delete { key } => match client.delete(key).await {
            Err(ClientError::NotFound) => Ok(KvOutput::NotFound),
            other => other.map(|version| KvOutput::Deleted { version }),
        },
    };
    output.map_or(Outcome::Unknown, Outcome::Ok)
}
