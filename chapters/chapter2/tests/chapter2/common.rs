//! Helpers shared by chapter 2's tests.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chapter2::Config;
use chapter2::store::{Store, StoreError};
use chapter2::wal::{FsyncPolicy, LogOptions};
use harness::TestNode;
use harness::disk::{Disk, SimDisk};
use serde_json::Value;

/// The data directory used on simulated disks.
pub const DIR: &str = "/data";

/// How long a store call or a recovery may take before the test calls it stuck: far
/// beyond what any of them needs, and a bug that waits for ever fails the test instead
/// of hanging it.
pub const STUCK: Duration = Duration::from_secs(10);

/// Awaits a store call, failing the test if it never finishes (a durability wait whose
/// condition can never hold, say).
pub async fn bounded<T>(call: impl Future<Output = T>) -> T {
    harness::eventually::within(STUCK, "a store call", call)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Opens a store on a simulated disk.
pub fn open(disk: &SimDisk, fsync: FsyncPolicy, compact_after_bytes: u64) -> Store {
    try_open(disk, fsync, compact_after_bytes)
        .unwrap_or_else(|e| panic!("the store should open: {e}"))
}

/// Opens a store on a simulated disk, or says why it could not.
pub fn try_open(
    disk: &SimDisk,
    fsync: FsyncPolicy,
    compact_after_bytes: u64,
) -> Result<Store, String> {
    let options = LogOptions {
        fsync,
        compact_after_bytes,
    };
    // A fresh mount: whatever the previous store's threads still do after a crash is fenced off.
    let mount = Arc::new(disk.mount());
    // Recovery replays the log: a replay loop that stops advancing fails the test.
    harness::eventually::finishes(STUCK, "opening the store (recovery)", move || {
        Store::open(mount, Path::new(DIR), options).map_err(|e| e.to_string())
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A put that must succeed; an unfinished exercise's message becomes the failure.
pub async fn put(store: &Store, key: &str, value: &str) -> u64 {
    match bounded(store.put(key, value.to_string(), None)).await {
        Ok(version) => version,
        Err(StoreError::Unavailable(message)) => panic!("{message}"),
        Err(e) => panic!("put({key}) failed: {e}"),
    }
}

/// The bytes of the log file on a simulated disk.
pub fn log_bytes(disk: &SimDisk) -> Vec<u8> {
    disk.read(&Path::new(DIR).join(chapter2::wal::LOG_FILE))
        .unwrap_or_default()
}

/// Starts a node (your code, or the reference) with `config`.
pub fn start_node(config: Config) -> TestNode {
    TestNode::start(1, move |ctx| {
        chapter2::run(ctx.listener, config.clone(), ctx.shutdown)
    })
    .expect("binding 127.0.0.1:0 and starting a runtime should always work")
}

/// A node on a simulated disk.
pub fn sim_config(disk: &SimDisk) -> Config {
    Config {
        data_dir: DIR.into(),
        disk: Arc::new(disk.mount()),
        ..Config::default()
    }
}

/// One raw request; returns the status and the body as JSON. A handler that reached an
/// unfinished exercise makes this fail with the exercise's message.
pub async fn call(
    method: reqwest::Method,
    url: &str,
    body: Option<(&str, Vec<u8>)>,
) -> anyhow::Result<(u16, Value)> {
    let http = reqwest::Client::builder().no_proxy().build()?;
    let mut request = http.request(method, url);
    if let Some((content_type, bytes)) = body {
        request = request.header("content-type", content_type).body(bytes);
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

/// `PUT url` with a JSON body.
pub async fn put_json(url: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
    call(
        reqwest::Method::PUT,
        url,
        Some(("application/json", body.to_string().into_bytes())),
    )
    .await
}
