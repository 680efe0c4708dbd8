//! The chapter's benchmark: what does durability cost, and how much does group commit
//! win back?
//!
//! 1. This disk's own fsync latency: append 100 bytes and `fdatasync`, 200 times. No
//!    policy that syncs every write can beat one write per fsync latency.
//! 2. Durable PUT throughput and latency at each client count, with fsync per write
//!    (`always`) and with group commit (`group`), each on a fresh node and data folder;
//!    and the writes each fsync covered (from the node's `/status`).
//! 3. Recovery: a log of `recovery_records` records is written, then a store is opened
//!    on it, and the time to replay it is measured.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::TestNode;
use harness::disk::RealDisk;
use harness::load::{LoadSpec, Percentiles};
use harness::machine::{Machine, today};
pub use harness::results::chapter2::{BenchResults, LogCounters, RecoveryResult, SyncCount};
use hdrhistogram::Histogram;

use crate::client::Client;
use crate::record::{Record, encode};
use crate::server::Config;
use crate::store::Store;
use crate::wal::{FsyncPolicy, LOG_FILE, LogOptions};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Client counts to run at.
    pub clients: Vec<usize>,
    /// Measured time per run.
    pub duration: Duration,
    /// Warm-up time per run.
    pub warmup: Duration,
    /// Where the benchmark's data folders go (on the disk to measure).
    pub dir: PathBuf,
    /// Records in the recovery measurement's log.
    pub recovery_records: u64,
    /// Bytes per value.
    pub value_bytes: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            clients: vec![1, 16, 64, 256],
            duration: Duration::from_secs(3),
            warmup: Duration::from_millis(500),
            dir: PathBuf::from("."),
            recovery_records: 1_000_000,
            value_bytes: 100,
        }
    }
}

/// Runs the benchmark.
pub async fn run(options: &BenchOptions) -> anyhow::Result<BenchResults> {
    let scratch = tempfile::Builder::new()
        .prefix("chapter2-bench-")
        .tempdir_in(&options.dir)?;
    let fsync_latency_us = fsync_latency(&scratch.path().join("fsync-probe"), 200)?;
    eprintln!(
        "fsync latency on this disk: p50 {} µs, p99 {} µs",
        fsync_latency_us.p50, fsync_latency_us.p99
    );

    let value = "v".repeat(options.value_bytes);
    let mut runs = Vec::new();
    let mut syncs = Vec::new();
    for &clients in &options.clients {
        for policy in [FsyncPolicy::Always, FsyncPolicy::Group] {
            let name = if policy == FsyncPolicy::Always {
                "always"
            } else {
                "group"
            };
            let data_dir = scratch.path().join(format!("{name}-{clients}"));
            let log = LogOptions {
                fsync: policy,
                ..LogOptions::default()
            };
            let config = Config {
                data_dir,
                log,
                ..Config::default()
            };
            let mut node = TestNode::start(1, move |ctx| {
                crate::server::run(ctx.listener, config.clone(), ctx.shutdown)
            })?;
            let client = Arc::new(Client::new(&node.url())?);
            let spec = LoadSpec {
                name: name.to_string(),
                clients,
                duration: options.duration,
                warmup: options.warmup,
            };
            let value = value.clone();
            let report = harness::load::run(&spec, move |c, seq| {
                let (client, value) = (Arc::clone(&client), value.clone());
                async move {
                    client
                        .put(&format!("k{c}-{}", seq % 1000), &value)
                        .await
                        .map(drop)
                }
            })
            .await;
            let status: serde_json::Value = harness::cluster::http_client(Duration::from_secs(10))?
                .get(format!("{}/status", node.url()))
                .send()
                .await?
                .json()
                .await?;
            let log: LogCounters = serde_json::from_value(status["log"].clone())?;
            let writes_per_fsync = log.records as f64 / log.syncs.max(1) as f64;
            eprintln!(
                "{name:>6} ×{clients:<4} {:>9.0} writes/s, {writes_per_fsync:.1} writes per fsync",
                report.throughput
            );
            syncs.push(SyncCount {
                name: name.to_string(),
                clients,
                log,
                writes_per_fsync,
            });
            runs.push(report);
            node.stop().await?;
        }
    }
    let recovery = recovery_time(
        &scratch.path().join("recovery"),
        options.recovery_records,
        &value,
    )?;
    eprintln!(
        "recovered {} records in {:.2} s",
        recovery.records, recovery.seconds
    );
    Ok(BenchResults {
        benchmark: "chapter2".into(),
        date: today(),
        machine: Machine::detect(),
        fsync_latency_us,
        runs,
        syncs,
        recovery,
    })
}

/// Appends 100 bytes and fdatasyncs, `rounds` times; the latency distribution.
fn fsync_latency(path: &std::path::Path, rounds: usize) -> anyhow::Result<Percentiles> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for _ in 0..rounds {
        let started = Instant::now();
        file.write_all(&[b'x'; 100])?;
        file.sync_data()?;
        histogram.saturating_record(started.elapsed().as_micros().max(1) as u64);
    }
    Ok(Percentiles {
        mean: histogram.mean(),
        p50: histogram.value_at_quantile(0.5),
        p99: histogram.value_at_quantile(0.99),
        p999: histogram.value_at_quantile(0.999),
        max: histogram.max(),
    })
}

/// Writes a log of `records` puts, then times opening a store on it.
fn recovery_time(
    dir: &std::path::Path,
    records: u64,
    value: &str,
) -> anyhow::Result<RecoveryResult> {
    std::fs::create_dir_all(dir)?;
    let mut log = std::io::BufWriter::new(std::fs::File::create(dir.join(LOG_FILE))?);
    // Batches of 16 records, as group commit under load writes them.
    let all: Vec<Record> = (1..=records)
        .map(|version| Record {
            version,
            key: format!("k{}", version % 100_000),
            value: Some(value.to_string()),
        })
        .collect();
    for batch in all.chunks(16) {
        log.write_all(&encode(batch)?)?;
    }
    log.flush()?;
    drop(log);
    let log_bytes = std::fs::metadata(dir.join(LOG_FILE))?.len();
    let started = Instant::now();
    let store = Store::open(Arc::new(RealDisk), dir, LogOptions::default())?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        store.last_version() == records,
        "recovery found {} records of {records}",
        store.last_version()
    );
    Ok(RecoveryResult {
        records,
        log_bytes,
        seconds,
    })
}
