//! The chapter's benchmark: how fast is one node, and how much of that is our code?
//!
//! It starts the chapter's server and, beside it, a server whose handler returns a
//! constant entry (no store, no validation, no middleware). Both are measured by the
//! same load generator, through the same typed client, in the same run, at each client
//! count: GET on the constant handler, GET on the store, PUT on the store. The ratio
//! of the store's GET throughput to the constant handler's is the cost of our code
//! on top of HTTP itself.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use harness::TestNode;
use harness::load::LoadSpec;
use harness::machine::{Machine, today};
pub use harness::results::chapter1::BenchResults;

use crate::api::Entry;
use crate::client::Client;
use crate::server::Config;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Client counts to run at, e.g. `[1, 16, 64]`.
    pub clients: Vec<usize>,
    /// Measured time per run.
    pub duration: Duration,
    /// Warm-up time per run.
    pub warmup: Duration,
    /// Distinct keys read and written.
    pub keys: usize,
    /// Bytes per value.
    pub value_bytes: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            clients: vec![1, 16, 64],
            duration: Duration::from_secs(3),
            warmup: Duration::from_millis(500),
            keys: 1000,
            value_bytes: 100,
        }
    }
}

/// Runs the benchmark and returns its results.
pub async fn run(options: &BenchOptions) -> anyhow::Result<BenchResults> {
    let mut node = TestNode::start(1, |ctx| {
        crate::server::run(ctx.listener, Config::default(), ctx.shutdown)
    })?;
    let mut constant = TestNode::start(2, |ctx| async move {
        axum::serve(ctx.listener, constant_app())
            .with_graceful_shutdown(ctx.shutdown)
            .await?;
        Ok(())
    })?;
    let store = Arc::new(Client::new(&node.url())?);
    let baseline = Arc::new(Client::new(&constant.url())?);
    let value = "v".repeat(options.value_bytes);
    for k in 0..options.keys {
        store.put(&format!("k{k}"), &value).await?;
    }

    let keys = options.keys as u64;
    let mut runs = Vec::new();
    for &clients in &options.clients {
        let spec = |name: &str| LoadSpec {
            name: name.to_string(),
            clients,
            duration: options.duration,
            warmup: options.warmup,
        };
        let client = Arc::clone(&baseline);
        runs.push(
            harness::load::run(&spec("constant GET"), move |_, seq| {
                let client = Arc::clone(&client);
                async move { client.get(&format!("k{}", seq % keys)).await.map(drop) }
            })
            .await,
        );
        let client = Arc::clone(&store);
        runs.push(
            harness::load::run(&spec("GET"), move |c, seq| {
                let client = Arc::clone(&client);
                async move {
                    client
                        .get(&format!("k{}", (seq * 7 + c as u64) % keys))
                        .await
                        .map(drop)
                }
            })
            .await,
        );
        let (client, value) = (Arc::clone(&store), value.clone());
        runs.push(
            harness::load::run(&spec("PUT"), move |c, seq| {
                let (client, value) = (Arc::clone(&client), value.clone());
                async move {
                    client
                        .put(&format!("k{}", (seq * 7 + c as u64) % keys), &value)
                        .await
                        .map(drop)
                }
            })
            .await,
        );
    }
    node.stop().await?;
    constant.stop().await?;
    Ok(BenchResults {
        benchmark: "chapter1".into(),
        date: today(),
        machine: Machine::detect(),
        runs,
    })
}

/// A server that answers every `GET /kv/{key}` with the same entry: HTTP and JSON, nothing else.
fn constant_app() -> Router {
    Router::new().route(
        "/kv/{key}",
        get(|Path(key): Path<String>| async move {
            Json(Entry {
                key,
                value: "v".repeat(100),
                version: 1,
            })
        }),
    )
}
