//! The chapter's benchmark: what snapshots buy, measured on the real disk.
//!
//! It runs [`crate::replicas`] (three replicas of the real core, state machine and
//! storage in one thread, no network: fsyncs are real, HTTP is left out so the numbers
//! show the log and not the transport), with snapshots every [`SNAPSHOT_EVERY`] entries
//! and without:
//!
//! - **Held**: a long run of writes over a fixed set of keys; the leader's log file,
//!   snapshot file and in-memory entries, sampled as it goes.
//! - **Catch-up**: for each history length N, a follower is down for N writes, then
//!   restarts; the time until it holds the leader's state, and what it was sent.
//! - **Restart**: over the same history, the time another replica takes to recover from
//!   its files to a state machine ready to serve.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use harness::machine::{Machine as Host, today};
pub use harness::results::chapter6::{BenchResults, Held, HistoryRun, LongRun};
use plumbing::disk::RealDisk;

use crate::api::Status;
use crate::raft::{Compaction, Message};
use crate::replicas::{Group, Replica, put};

/// The snapshot interval the benchmark compares with no snapshots.
pub const SNAPSHOT_EVERY: u64 = 1_000;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Writes in the long run.
    pub writes: u64,
    /// Distinct keys the writes cycle over.
    pub keys: u64,
    /// History lengths for catch-up and restart.
    pub histories: Vec<u64>,
    /// Where the groups' data folders go (a fresh folder inside; removed after).
    pub dir: PathBuf,
}

/// Writes per round (one leader `Ready`).
const BATCH: u64 = 64;

fn modes() -> [(&'static str, Compaction); 2] {
    [
        ("no snapshots", Compaction::NEVER),
        (
            "snapshots",
            Compaction {
                every: SNAPSHOT_EVERY,
                chunk_bytes: Compaction::DEFAULT.chunk_bytes,
            },
        ),
    ]
}

/// The commands of writes `from..to`, over `keys` keys.
fn writes(from: u64, to: u64, keys: u64) -> Vec<crate::api::Command> {
    (from..to)
        .map(|k| put(format!("key{:06}", k % keys), format!("value{k:08}")))
        .collect()
}

/// The long run in one mode.
fn long_run(
    options: &BenchOptions,
    root: &Path,
    mode: (&str, Compaction),
) -> anyhow::Result<LongRun> {
    let mut group = Group::elected(Arc::new(RealDisk), root, mode.1)?;
    let step = (options.writes / 40).max(BATCH);
    let mut points = Vec::new();
    let mut done = 0;
    while done < options.writes {
        let to = (done + BATCH).min(options.writes);
        group.write(writes(done, to, options.keys))?;
        done = to;
        if done % step < BATCH || done == options.writes {
            let leader = group.replica(0);
            points.push(Held {
                writes: done,
                log_bytes: leader.storage.log_bytes(),
                snapshot_bytes: leader.raft.snapshot().data.len() as u64,
                log_entries: leader.raft.log().len() as u64,
            });
        }
    }
    Ok(LongRun {
        mode: mode.0.into(),
        every: (mode.1.every != u64::MAX).then_some(mode.1.every),
        points,
    })
}

/// Catch-up and restart over a history of `n` writes, in one mode.
fn history(
    options: &BenchOptions,
    root: &Path,
    n: u64,
    mode: (&str, Compaction),
) -> anyhow::Result<HistoryRun> {
    let mut group = Group::elected(Arc::new(RealDisk), root, mode.1)?;
    group.crash(2);
    let mut done = 0;
    while done < n {
        let to = (done + BATCH).min(n);
        group.write(writes(done, to, options.keys))?;
        done = to;
    }
    group.heartbeat()?; // the follower learns the last commit index
    // Restart: replica 1 from its files to a machine that has applied everything.
    group.crash(1);
    let started = Instant::now();
    let mut replica = Replica::start(1, Arc::new(RealDisk), root, mode.1)?;
    let tail: Vec<_> = replica.raft.log().to_vec();
    for entry in &tail {
        replica.machine.apply(entry);
    }
    let restart_ms = started.elapsed().as_secs_f64() * 1000.0;
    drop(replica);
    group.restart(1)?; // back in the group, its machine rebuilt by the core's hand-outs
    // Catch-up: replica 2, down for all of it.
    let target = group.replica(0).raft.commit_index();
    let started = Instant::now();
    group.restart(2)?;
    let (mut entries_sent, mut pieces_sent) = (0, 0);
    for _ in 0..1_000 {
        for (_, to, message) in group.heartbeat()? {
            match message {
                Message::Append { entries, .. } if to == 2 => entries_sent += entries.len() as u64,
                Message::InstallSnapshot { .. } if to == 2 => pieces_sent += 1,
                _ => {}
            }
        }
        if group.replica(2).machine.applied_index() >= target {
            break;
        }
    }
    anyhow::ensure!(
        group.replica(2).machine.applied_index() >= target,
        "the follower did not catch up after 1,000 heartbeats"
    );
    Ok(HistoryRun {
        mode: mode.0.into(),
        writes: n,
        catch_up_ms: started.elapsed().as_secs_f64() * 1000.0,
        entries_sent,
        pieces_sent,
        restart_ms,
    })
}

/// Runs every measurement.
pub fn run(options: &BenchOptions) -> anyhow::Result<BenchResults> {
    let scratch = tempfile::Builder::new()
        .prefix("chapter6-bench-")
        .tempdir_in(&options.dir)?;
    let progress = indicatif::ProgressBar::new((2 + 2 * options.histories.len()) as u64);
    let mut long_runs = Vec::new();
    let mut histories = Vec::new();
    for (i, mode) in modes().into_iter().enumerate() {
        progress.set_message(format!("long run, {}", mode.0));
        long_runs.push(long_run(
            options,
            &scratch.path().join(format!("long{i}")),
            mode,
        )?);
        progress.inc(1);
        for &n in &options.histories {
            progress.set_message(format!("{n} writes, {}", mode.0));
            let root = scratch.path().join(format!("history{i}-{n}"));
            histories.push(history(options, &root, n, mode)?);
            progress.inc(1);
        }
    }
    progress.finish_and_clear();
    Ok(BenchResults {
        benchmark: "chapter6-snapshots".into(),
        date: today(),
        machine: Host::detect(),
        keys: options.keys,
        long_runs,
        histories,
    })
}

/// Every node's `/status` (`None` for a node that does not answer).
pub async fn statuses(http: &reqwest::Client, urls: &[String]) -> Vec<Option<Status>> {
    let mut calls = tokio::task::JoinSet::new();
    for (i, url) in urls.iter().enumerate() {
        let http = http.clone();
        let url = format!("{url}/status");
        calls.spawn(async move {
            let status = async { http.get(&url).send().await?.json::<Status>().await }.await;
            (i, status.ok())
        });
    }
    let mut out = vec![None; urls.len()];
    while let Some(Ok((i, status))) = calls.join_next().await {
        out[i] = status;
    }
    out
}
