//! The `chapter9` binary: one replica of a group of a replicated, partitioned log.
//!
//! ```text
//! export KV_CLUSTER_KEY=$(openssl rand -hex 16)
//! chapter9 replica --groups 2 --group 0 --id 0 --addr 127.0.0.1:7000 --data-dir g0r0 \
//!     --topic events:4 --peer 1=http://127.0.0.1:7001 --peer 2=http://127.0.0.1:7002
//!
//! chapter9 gossip --addr 127.0.0.1:7080    # Gossip Glomers' log API on a cluster here
//! chapter9 bench --out results.json         # throughput, latency, rebalances, semantics
//! chapter9 demo                             # the log on the live page, at :7070
//! ```
//!
//! Every replica of a cluster must be given the same groups and topics: a partition's
//! group is computed from them (exercise 9.1).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use chapter9::node::{Config, Peer};
use chapter9::raft::Timing;
use chapter9::{Retention, Spec, Topic};
use clap::{Parser, Subcommand};
use plumbing::cli::KeyArg;

/// A replicated, partitioned log with consumer groups: chapter 9 of the course.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one replica of one group until Ctrl-C (or SIGTERM).
    Replica {
        #[arg(long, default_value = "127.0.0.1:7000")]
        addr: SocketAddr,
        #[arg(long, default_value_t = 0)]
        id: u64,
        /// The other replicas of this group, as `id=url`; repeat for each.
        #[arg(long = "peer", value_parser = parse_peer)]
        peers: Vec<Peer>,
        /// Where the replica's term, vote and log live (created if missing).
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// How many groups the cluster has, and which one this replica is of.
        #[arg(long, default_value_t = 1)]
        groups: u32,
        #[arg(long, default_value_t = 0)]
        group: u32,
        /// A topic, as `name:partitions`; repeat for each.
        #[arg(long = "topic", value_parser = parse_topic, required = true)]
        topics: Vec<Topic>,
        /// A consumer silent for longer than this leaves its group.
        #[arg(long, default_value_t = 3000)]
        session_timeout_ms: u64,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Serve Gossip Glomers' Kafka-style log (send, poll, commit_offsets,
    /// list_committed_offsets, as JSON bodies of `POST /`) from a cluster of two groups
    /// of three replicas started here.
    Gossip {
        /// Where to serve it (loopback only).
        #[arg(long, default_value = "127.0.0.1:7080")]
        addr: SocketAddr,
    },
    /// Run the log on the live page: groups, partitions, a consumer group, with buttons
    /// to crash a group's leader or a consumer.
    Demo {
        /// Where to serve the page (loopback only).
        #[arg(long, default_value = "127.0.0.1:7070")]
        addr: SocketAddr,
        /// Seeds the replicas' election timers.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Measure throughput against producers and partitions, a message's time from send
    /// to consumer, a rebalance's pause, exactly once against at least once; write the
    /// results for the book's figure.
    Bench {
        /// Messages per throughput run.
        #[arg(long, default_value_t = 400)]
        messages: usize,
        /// Runs of each measurement (the figure shows the median).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Where to write the results (JSON), e.g. book/src/figures/chapter9-bench.json.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    plumbing::cli::main(run(Cli::parse()))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Replica {
            addr,
            id,
            peers,
            data_dir,
            groups,
            group,
            topics,
            session_timeout_ms,
            key,
        } => {
            plumbing::cli::init_logs("info");
            anyhow::ensure!(groups > 0, "a cluster has at least one group");
            anyhow::ensure!(group < groups, "group {group} is not one of 0..{groups}");
            let spec = Spec {
                groups,
                topics,
                session_timeout: session_timeout_ms,
            };
            let listener = tokio::net::TcpListener::bind(addr).await?;
            let config = Config {
                id,
                peers,
                advertise_url: format!("http://{}", listener.local_addr()?),
                data_dir,
                timing: Timing::FAST,
                cluster_key: key.key()?,
                machine: chapter9::machine::Machine::new(spec, group),
                ..Config::default()
            };
            chapter9::server::run(listener, config, plumbing::api::shutdown_signal()).await
        }
        Command::Gossip { addr } => gossip(addr).await,
        Command::Demo { addr, seed } => {
            plumbing::cli::init_logs("warn");
            chapter9::demo::run(chapter9::demo::DemoOptions { addr, seed }).await
        }
        Command::Bench {
            messages,
            runs,
            out,
        } => {
            let options = chapter9::bench::BenchOptions {
                messages: messages.max(8),
                runs: runs.max(1),
            };
            let results = chapter9::bench::run(&options).await?;
            chapter9::bench::print(&results);
            if let Some(out) = out {
                plumbing::cli::save_json(&out, &results)?;
            }
            Ok(())
        }
    }
}

/// A cluster for Gossip Glomers' API, and its gateway on `addr`.
async fn gossip(addr: SocketAddr) -> anyhow::Result<()> {
    plumbing::cli::init_logs("warn");
    anyhow::ensure!(addr.ip().is_loopback(), "the gateway binds loopback only");
    let spec = chapter9::gossip::spec();
    let groups = chapter9::system::start(&spec, Timing::FAST, 1)?;
    let client = chapter9::system::client(&groups)?;
    let producer = format!("gateway-{}", std::process::id());
    let gateway = std::sync::Arc::new(chapter9::gossip::Gateway::new(client, producer));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "Gossip Glomers' log API at http://{}/ (two groups of three replicas here); Ctrl-C stops",
        listener.local_addr()?
    );
    axum::serve(listener, gateway.router())
        .with_graceful_shutdown(plumbing::api::shutdown_signal())
        .await?;
    drop(groups);
    Ok(())
}

fn parse_topic(text: &str) -> Result<Topic, String> {
    let (name, partitions) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not `name:partitions`, e.g. `events:4`"))?;
    let partitions: u32 = partitions
        .parse()
        .map_err(|e| format!("{partitions:?} is not a number of partitions: {e}"))?;
    if name.is_empty() || partitions == 0 {
        return Err(format!(
            "{text:?}: a topic needs a name and at least one partition"
        ));
    }
    Ok(Topic {
        name: name.to_string(),
        partitions,
        retention: Retention::default(),
    })
}

fn parse_peer(text: &str) -> Result<Peer, String> {
    let (id, url) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not `id=url`, e.g. `1=http://127.0.0.1:7001`"))?;
    let id = id
        .parse()
        .map_err(|e| format!("{id:?} is not a node id: {e}"))?;
    Ok(Peer {
        id,
        url: url.trim_end_matches('/').to_string(),
    })
}
