//! The `chapter6` binary: run a node of a self-healing group whose log forgets, talk to
//! it, benchmark it.
//!
//! ```text
//! export KV_CLUSTER_KEY=$(openssl rand -hex 16)             # the group's secret
//! chapter6 serve --id 0 --addr 127.0.0.1:7000 --data-dir data/0 \
//!     --peer 1=http://127.0.0.1:7001 --peer 2=http://127.0.0.1:7002
//! chapter6 put greeting hello --nodes http://127.0.0.1:7000,http://127.0.0.1:7001
//! chapter6 get greeting                                    # KV_NODES from the environment
//! chapter6 status --node http://127.0.0.1:7001             # snapshot, log size, indexes
//! chapter6 watch --nodes ...                               # who leads, every 100 ms
//! chapter6 bench --out results.json                        # what snapshots buy
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use chapter6::bench::{self, BenchOptions};
use chapter6::raft::Compaction;
use chapter6::{Client, Config, Peer, Timing};
use clap::{Parser, Subcommand};
use plumbing::cli::KeyArg;

/// A self-healing replicated key-value group whose log forgets: chapter 6 of the course.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one node of a group until Ctrl-C (or SIGTERM).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7000")]
        addr: SocketAddr,
        /// The node's id.
        #[arg(long, default_value_t = 0)]
        id: u64,
        /// The other nodes, as `id=url`; repeat for each.
        #[arg(long = "peer", value_parser = parse_peer)]
        peers: Vec<Peer>,
        /// Where the term, vote and log live (created if missing).
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Timing preset: `fast` (150-300 ms elections, 50 ms heartbeats) or `slow`
        /// (1-2 s, 100 ms: at most 10 heartbeats a second).
        #[arg(long, default_value = "fast")]
        timing: String,
        /// Election timeout range in ms, `min-max` (overrides the preset's).
        #[arg(long, value_parser = parse_range)]
        election_ms: Option<(u64, u64)>,
        /// Heartbeat interval in ms (overrides the preset's).
        #[arg(long)]
        heartbeat_ms: Option<u64>,
        /// How long a command may wait to be committed before a 504.
        #[arg(long, default_value_t = 3000)]
        write_timeout_ms: u64,
        /// Snapshot the state machine once this many applied entries follow the last
        /// snapshot (etcd's --snapshot-count).
        #[arg(long, default_value_t = Compaction::DEFAULT.every)]
        snapshot_every: u64,
        /// The most snapshot bytes per InstallSnapshot message.
        #[arg(long, default_value_t = Compaction::DEFAULT.chunk_bytes)]
        snapshot_chunk_bytes: usize,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Print a key's value and version as JSON.
    Get {
        /// The key.
        key: String,
        #[command(flatten)]
        nodes: NodesArg,
    },
    /// Store a value; with --if-version, compare-and-set.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// Write only if the key is at this version (0: only if absent).
        #[arg(long)]
        if_version: Option<u64>,
        #[command(flatten)]
        nodes: NodesArg,
    },
    /// Delete a key.
    Delete {
        /// The key.
        key: String,
        #[command(flatten)]
        nodes: NodesArg,
    },
    /// Print one node's status: role, term, vote, leader, indexes.
    Status {
        /// The node to ask.
        #[arg(long, default_value = "http://127.0.0.1:7000")]
        node: String,
    },
    /// The live cluster: nodes of this chapter (your code, unless built with `--features
    /// solution`) in this process behind fault-injecting proxies, a small recorded
    /// workload, and a web page that shows every node's role, term, timer and log live and
    /// crashes, cuts and heals on a click. Runs until Ctrl-C.
    Demo {
        /// Nodes in the group (3 to 9).
        #[arg(long, default_value_t = 5)]
        nodes: usize,
        /// Where to serve the page (loopback only; port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:7070")]
        addr: SocketAddr,
        /// Timing preset: `slow` (1-2 s elections, easy to watch) or `fast` (150-300 ms).
        #[arg(long, default_value = "slow")]
        timing: String,
        /// Seeds the network's faults and the workload's choices.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// On Ctrl-C, save the run (frames, events, history) to this file; the page's
        /// "Open a recording" replays it.
        #[arg(long)]
        record: Option<PathBuf>,
    },
    /// Print every node's role and term whenever they change, until Ctrl-C.
    Watch {
        #[command(flatten)]
        nodes: NodesArg,
    },
    /// Measure what snapshots buy: disk held over a long run, a far-behind follower's
    /// catch-up and a restart, against history length, with and without snapshots.
    Bench {
        /// Writes in the long run.
        #[arg(long, default_value_t = 100_000)]
        writes: u64,
        /// Distinct keys the writes cycle over.
        #[arg(long, default_value_t = 10_000)]
        keys: u64,
        /// History lengths for catch-up and restart, comma-separated.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "10,100,1000,10000,100000"
        )]
        histories: Vec<u64>,
        /// Where to put the groups' data (a fresh folder inside it; removed after).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Write the results as JSON to this file (they are printed in any case).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
struct NodesArg {
    /// The group's nodes, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "http://127.0.0.1:7000,http://127.0.0.1:7001,http://127.0.0.1:7002",
        env = "KV_NODES"
    )]
    nodes: Vec<String>,
}

fn parse_peer(text: &str) -> Result<Peer, String> {
    let (id, url) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not `id=url`, e.g. `1=http://127.0.0.1:7001`"))?;
    let id = id
        .parse()
        .map_err(|e| format!("{id:?} is not a node id: {e}"))?;
    let url = chapter6::client::parse_node(url)?;
    Ok(Peer {
        id,
        url: url.as_str().trim_end_matches('/').to_string(),
    })
}

fn parse_range(text: &str) -> Result<(u64, u64), String> {
    let (min, max) = text
        .split_once('-')
        .ok_or_else(|| format!("{text:?} is not `min-max`, e.g. `150-300`"))?;
    let number = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|e| format!("{s:?} is not a number of milliseconds: {e}"))
    };
    Ok((number(min)?, number(max)?))
}

fn main() -> ExitCode {
    plumbing::cli::main(run(Cli::parse()))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    plumbing::cli::init_logs(match cli.command {
        Command::Serve { .. } => "info",
        // The page is the demo's output: a node's 503 while it has no leader is expected.
        Command::Demo { .. } => "warn,tower_http=off",
        _ => "warn",
    });

    match cli.command {
        Command::Serve {
            addr,
            id,
            peers,
            data_dir,
            timing,
            election_ms,
            heartbeat_ms,
            write_timeout_ms,
            snapshot_every,
            snapshot_chunk_bytes,
            key,
        } => {
            let compaction = Compaction {
                every: snapshot_every,
                chunk_bytes: snapshot_chunk_bytes,
            };
            compaction.validate().map_err(anyhow::Error::msg)?;
            let cluster_key = key.key()?;
            let mut timing = preset(&timing)?;
            if let Some((min, max)) = election_ms {
                timing.election_min_ms = min;
                timing.election_max_ms = max;
            }
            if let Some(heartbeat) = heartbeat_ms {
                timing.heartbeat_ms = heartbeat;
            }
            timing.validate().map_err(anyhow::Error::msg)?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            let config = Config {
                id,
                peers,
                advertise_url: format!("http://{}", listener.local_addr()?),
                data_dir,
                timing,
                compaction,
                write_timeout: Duration::from_millis(write_timeout_ms),
                cluster_key,
                ..Config::default()
            };
            chapter6::run(listener, config, plumbing::api::shutdown_signal()).await
        }
        Command::Demo {
            nodes,
            addr,
            timing,
            seed,
            record,
        } => demo(nodes, addr, preset(&timing)?, seed, record).await,
        Command::Get { key, nodes } => {
            let client = Client::new(&nodes.nodes)?;
            let answer = client.get(&key).await?;
            match answer {
                Some(entry) => println!("{}", serde_json::to_string_pretty(&entry)?),
                None => anyhow::bail!("key {key:?} not found"),
            }
            Ok(())
        }
        Command::Put {
            key,
            value,
            if_version,
            nodes,
        } => {
            let client = Client::new(&nodes.nodes)?;
            let entry = match if_version {
                Some(version) => client.put_if(&key, &value, version).await,
                None => client.put(&key, &value).await,
            }?;
            println!("{}", serde_json::to_string_pretty(&entry)?);
            Ok(())
        }
        Command::Delete { key, nodes } => {
            let client = Client::new(&nodes.nodes)?;
            let version = client.delete(&key).await?;
            println!("{}", serde_json::json!({ "key": key, "version": version }));
            Ok(())
        }
        Command::Status { node } => {
            let http = plumbing::http::client(Duration::from_secs(5))?;
            let base = chapter6::client::parse_node(&node).map_err(anyhow::Error::msg)?;
            let url = format!("{}/status", base.as_str().trim_end_matches('/'));
            let body: serde_json::Value = http
                .get(&url)
                .send()
                .await
                .with_context(|| format!("no answer from {url} (is a node running there?)"))?
                .json()
                .await?;
            println!("{}", serde_json::to_string_pretty(&body)?);
            Ok(())
        }
        Command::Watch { nodes } => watch(nodes.nodes).await,
        Command::Bench {
            writes,
            keys,
            histories,
            dir,
            out,
        } => {
            let options = BenchOptions {
                writes,
                keys,
                histories,
                dir,
            };
            let results = tokio::task::spawn_blocking(move || bench::run(&options)).await??;
            println!(
                "{} on {} ({})",
                results.benchmark, results.machine, results.date
            );
            for run in &results.long_runs {
                if let Some(last) = run.points.last() {
                    println!(
                        "{:>13}: after {} writes the log file is {} bytes ({} entries in memory), the snapshot {} bytes",
                        run.mode,
                        last.writes,
                        last.log_bytes,
                        last.log_entries,
                        last.snapshot_bytes
                    );
                }
            }
            println!(
                "{:>13} {:>8} {:>13} {:>13} {:>8} {:>11}",
                "mode", "writes", "catch-up ms", "entries sent", "pieces", "restart ms"
            );
            for h in &results.histories {
                println!(
                    "{:>13} {:>8} {:>13.1} {:>13} {:>8} {:>11.1}",
                    h.mode, h.writes, h.catch_up_ms, h.entries_sent, h.pieces_sent, h.restart_ms
                );
            }
            if let Some(path) = out {
                plumbing::cli::save_json(&path, &results)?;
            }
            Ok(())
        }
    }
}

/// Polls every node's status and prints a line whenever who leads, or a term, changes.
/// A timing preset by name.
fn preset(name: &str) -> anyhow::Result<Timing> {
    match name {
        "fast" => Ok(Timing::FAST),
        "slow" => Ok(Timing::SLOW),
        other => anyhow::bail!("unknown timing preset {other:?}: use fast or slow"),
    }
}

/// Serves the live cluster until Ctrl-C; then saves the run if asked.
async fn demo(
    nodes: usize,
    addr: SocketAddr,
    timing: Timing,
    seed: u64,
    record: Option<PathBuf>,
) -> anyhow::Result<()> {
    let options = chapter6::demo::Options {
        nodes,
        addr,
        seed,
        title: format!("chapter 5, {nodes} nodes electing their own leader"),
        ..chapter6::demo::Options::default()
    };
    let dashboard = chapter6::demo::start(options, timing).await?;
    // One line a script can read (the browser test does), then what to do.
    println!("live cluster: {}", dashboard.url());
    println!(
        "open it in a browser; crash the leader and watch another take over. Ctrl-C stops \
         the nodes{}.",
        if record.is_some() {
            " and saves the recording"
        } else {
            ""
        }
    );
    plumbing::api::shutdown_signal().await;
    if let Some(path) = record {
        plumbing::cli::save_json(&path, &dashboard.recording())?;
    }
    Ok(())
}

async fn watch(nodes: Vec<String>) -> anyhow::Result<()> {
    let http = plumbing::http::client(Duration::from_millis(500))?;
    let urls: Vec<String> = nodes
        .iter()
        .map(|n| {
            chapter6::client::parse_node(n)
                .map(|u| u.as_str().trim_end_matches('/').to_string())
                .map_err(anyhow::Error::msg)
        })
        .collect::<anyhow::Result<_>>()?;
    let started = std::time::Instant::now();
    let mut last = String::new();
    loop {
        let statuses = bench::statuses(&http, &urls).await;
        let line = statuses
            .iter()
            .zip(&urls)
            .map(|(s, url)| match s {
                Some(s) => format!("{}:{}@{}", s.id, s.role, s.term),
                None => format!("{url}:down"),
            })
            .collect::<Vec<_>>()
            .join("  ");
        if line != last {
            println!("{:>8.3}s  {line}", started.elapsed().as_secs_f64());
            last = line;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}
