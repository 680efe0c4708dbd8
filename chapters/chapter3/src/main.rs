//! The `chapter3` binary: run a replica, talk to a group, benchmark the modes.
//!
//! ```text
//! chapter3 serve --id 0 --addr 127.0.0.1:7000 --leader 0 \
//!     --peer 1=http://127.0.0.1:7001 --peer 2=http://127.0.0.1:7002 --data-dir data/0
//! chapter3 put greeting hello --node http://127.0.0.1:7001   # a follower: redirected
//! chapter3 get greeting --node http://127.0.0.1:7002         # served by a follower
//! chapter3 status --node http://127.0.0.1:7000               # role, indexes, lag
//! chapter3 promote --node http://127.0.0.1:7001              # hand failover
//! chapter3 demo                                              # a group in one process
//! chapter3 bench --out results.json                          # the chapter's benchmark
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use chapter3::api::DeleteResponse;
use chapter3::bench::{self, BenchOptions};
use chapter3::{AckMode, Client, Config, Peer};
use clap::{Parser, Subcommand};
use plumbing::cli::KeyArg;
use plumbing::cli::Kv;
use plumbing::cluster_key::ClusterKey;

/// A replicated key-value group, one leader and its followers: chapter 3 of the course.
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
        /// The id of the node that starts as the leader.
        #[arg(long, default_value_t = 0)]
        leader: u64,
        /// When the leader acknowledges a write: its own disk, a majority, or every node.
        #[arg(long, value_enum, default_value_t = AckMode::Quorum)]
        ack: AckMode,
        /// How long a write may wait for its acknowledgements before a 504.
        #[arg(long, default_value_t = 5000)]
        write_timeout_ms: u64,
        /// Where the log, snapshot and term live (created if missing).
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Snapshot and empty the log once it exceeds this many bytes.
        #[arg(long, default_value_t = 64 * 1024 * 1024)]
        compact_after_bytes: u64,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Print a key's value and version as JSON (with how far the node has applied).
    Get {
        /// The key.
        key: String,
        #[command(flatten)]
        node: NodeArg,
    },
    /// Store a value (sent on to the leader); with --if-version, compare-and-set.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// Write only if the key is at this version (0: only if absent).
        #[arg(long)]
        if_version: Option<u64>,
        #[command(flatten)]
        node: NodeArg,
    },
    /// Delete a key.
    Delete {
        /// The key.
        key: String,
        #[command(flatten)]
        node: NodeArg,
    },
    /// Print a node's status: role, term, indexes, and on the leader each follower's lag.
    Status {
        #[command(flatten)]
        node: NodeArg,
    },
    /// Hand failover: make this node the leader of a new term. Only once the old leader is
    /// dead, and only on the follower whose log is most up to date: the highest
    /// `last_term`, then the highest `last_index` (not simply the longest log). Sends the
    /// cluster key (internal route).
    Promote {
        #[command(flatten)]
        node: NodeArg,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Start a three-node group in this process and show replication at work.
    Demo,
    /// Measure write throughput, latency and follower lag per mode, for 3 and 5 nodes.
    Bench {
        /// Group sizes, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "3,5")]
        nodes: Vec<usize>,
        /// Concurrent writers.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Where to put the groups' data (a fresh folder inside it; removed after).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Measured seconds per run.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Write the results as JSON to this file (they are printed in any case).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
struct NodeArg {
    /// The node to talk to.
    #[arg(long, default_value = "http://127.0.0.1:7000", env = "KV_NODE")]
    node: String,
}

fn parse_peer(text: &str) -> Result<Peer, String> {
    let (id, url) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not `id=url`, e.g. `1=http://127.0.0.1:7001`"))?;
    let id = id
        .parse()
        .map_err(|e| format!("{id:?} is not a node id: {e}"))?;
    let url = chapter3::client::parse_node(url)?;
    Ok(Peer {
        id,
        url: url.as_str().trim_end_matches('/').to_string(),
    })
}

fn main() -> ExitCode {
    plumbing::cli::main(run(Cli::parse()))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    plumbing::cli::init_logs(if matches!(cli.command, Command::Serve { .. }) {
        "info"
    } else {
        "warn"
    });

    match cli.command {
        Command::Serve {
            addr,
            id,
            peers,
            leader,
            ack,
            write_timeout_ms,
            data_dir,
            compact_after_bytes,
            key,
        } => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            let config = Config {
                id,
                peers,
                leader_id: leader,
                advertise_url: format!("http://{}", listener.local_addr()?),
                ack_mode: ack,
                write_timeout: Duration::from_millis(write_timeout_ms),
                data_dir,
                compact_after_bytes,
                cluster_key: key.key()?,
                ..Config::default()
            };
            chapter3::run(listener, config, plumbing::api::shutdown_signal()).await
        }
        Command::Get { key, node } => {
            let client = Client::new(&node.node)?;
            println!("{}", execute(&client, &Kv::Get { key }).await?);
            Ok(())
        }
        Command::Put {
            key,
            value,
            if_version,
            node,
        } => {
            let client = Client::new(&node.node)?;
            let command = Kv::Put {
                key,
                value,
                if_version,
            };
            println!("{}", execute(&client, &command).await?);
            Ok(())
        }
        Command::Delete { key, node } => {
            let client = Client::new(&node.node)?;
            println!("{}", execute(&client, &Kv::Delete { key }).await?);
            Ok(())
        }
        Command::Status { node } => {
            println!(
                "{}",
                node_call(
                    &node.node,
                    reqwest::Method::GET,
                    "status",
                    &ClusterKey::none()
                )
                .await?
            );
            Ok(())
        }
        Command::Promote { node, key } => {
            println!(
                "{}",
                node_call(
                    &node.node,
                    reqwest::Method::POST,
                    "internal/promote",
                    &key.key()?
                )
                .await?
            );
            Ok(())
        }
        Command::Demo => demo().await,
        Command::Bench {
            nodes,
            clients,
            dir,
            seconds,
            out,
        } => {
            let options = BenchOptions {
                nodes,
                clients,
                duration: Duration::from_secs_f64(seconds),
                dir,
                ..BenchOptions::default()
            };
            let results = bench::run(&options).await?;
            println!(
                "{} on {} ({}), {} writers",
                results.benchmark, results.machine, results.date, results.clients
            );
            println!(
                "{:>6} {:>6} {:>10} {:>8} {:>8} {:>10} {:>8}",
                "mode", "nodes", "writes/s", "p50 µs", "p99 µs", "lag mean", "lag max"
            );
            for run in &results.runs {
                println!(
                    "{:>6} {:>6} {:>10.0} {:>8} {:>8} {:>10.1} {:>8}",
                    run.mode.clone(),
                    run.nodes,
                    run.report.throughput,
                    run.report.latency_us.p50,
                    run.report.latency_us.p99,
                    run.lag.mean,
                    run.lag.max
                );
            }
            if let Some(out) = out {
                plumbing::cli::save_json(&out, &results)?;
            }
            Ok(())
        }
    }
}

/// A `GET /status` or `POST /internal/promote`, printed as pretty JSON.
async fn node_call(
    node: &str,
    method: reqwest::Method,
    path: &str,
    key: &ClusterKey,
) -> anyhow::Result<String> {
    let base = chapter3::client::parse_node(node).map_err(|e| anyhow::anyhow!("{e}"))?;
    let url = format!("{}/{path}", base.as_str().trim_end_matches('/'));
    let response = plumbing::cluster_key::peer_client(Duration::from_secs(10), key)?
        .request(method, &url)
        .send()
        .await
        .with_context(|| format!("no answer from {url} (is a node running there?)"))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await?;
    anyhow::ensure!(status.is_success(), "{url} answered {status}: {body}");
    Ok(serde_json::to_string_pretty(&body)?)
}

/// Runs one command and returns what the CLI prints on success (a JSON line).
async fn execute(client: &Client, command: &Kv) -> anyhow::Result<String> {
    let json = match command {
        Kv::Get { key } => match client.get(key).await? {
            Some(entry) => serde_json::to_string(&entry)?,
            None => anyhow::bail!("key {key:?} not found"),
        },
        Kv::Put {
            key,
            value,
            if_version: Some(version),
        } => serde_json::to_string(&client.put_if(key, value, *version).await?)?,
        Kv::Put {
            key,
            value,
            if_version: None,
        } => serde_json::to_string(&client.put(key, value).await?)?,
        Kv::Delete { key } => {
            let version = client.delete(key).await?;
            serde_json::to_string(&DeleteResponse {
                key: key.clone(),
                version,
            })?
        }
    };
    Ok(json)
}

/// Starts three nodes in this process and shows a write, a redirect, a follower read.
async fn demo() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut nodes = bench::start_group(3, AckMode::Quorum, data.path(), |_| {})?;
    let urls: Vec<String> = nodes.iter().map(|n| n.url()).collect();
    println!(
        "a group of three: leader {}, followers {} and {}\n",
        urls[0], urls[1], urls[2]
    );
    let steps = [
        (
            0,
            Kv::Put {
                key: "greeting".into(),
                value: "hello".into(),
                if_version: None,
            },
            "the leader: replicated to a majority, then acknowledged",
        ),
        (
            1,
            Kv::Put {
                key: "greeting".into(),
                value: "bonjour".into(),
                if_version: Some(1),
            },
            "a follower: 421 not_leader, and the client follows it",
        ),
        (
            2,
            Kv::Get {
                key: "greeting".into(),
            },
            "a follower's read: see applied_index and served_by",
        ),
        (
            0,
            Kv::Delete {
                key: "greeting".into(),
            },
            "",
        ),
    ];
    for (node, command, note) in &steps {
        let url = &urls[*node];
        let client = Client::new(url)?;
        let note = if note.is_empty() {
            String::new()
        } else {
            format!("    # {note}")
        };
        println!("$ chapter3 {command} --node {url}{note}");
        // A follower may not have applied the latest write yet: the read shows how far it got.
        match execute(&client, command).await {
            Ok(line) => println!("{line}\n"),
            Err(e) => println!("error: {e}\n"),
        }
    }
    println!("$ chapter3 status --node {}", urls[0]);
    println!(
        "{}\n",
        node_call(
            &urls[0],
            reqwest::Method::GET,
            "status",
            &ClusterKey::none()
        )
        .await?
    );
    for node in &mut nodes {
        node.stop().await?;
    }
    println!(
        "the group shut down. Next: the book's \"try it\" runs three `chapter3 serve` in three terminals."
    );
    Ok(())
}
