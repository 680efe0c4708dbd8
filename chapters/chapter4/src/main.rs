//! The `chapter4` binary: run a partitioned cluster, change its membership, talk to it.
//!
//! ```text
//! chapter4 serve --id 1 --addr 127.0.0.1:7001 --data-dir data/1 \
//!     --member 1=http://127.0.0.1:7001 --member 2=http://127.0.0.1:7002 \
//!     --member 3=http://127.0.0.1:7003          # one of three founding members
//! chapter4 serve --id 4 --addr 127.0.0.1:7004 --data-dir data/4   # a node outside
//! chapter4 join --via http://127.0.0.1:7001 --id 4 --url http://127.0.0.1:7004
//! chapter4 cluster --node http://127.0.0.1:7002 # members, shares, the last change
//! chapter4 put greeting hello --node http://127.0.0.1:7002      # any node will do
//! chapter4 get greeting --routed                # straight to the owner, by the map
//! chapter4 leave --via http://127.0.0.1:7001 --id 2
//! chapter4 demo                                 # three nodes, a join, a leave
//! chapter4 bench --out results.json             # the chapter's benchmark
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

mod demo;

use anyhow::Context as _;
use chapter4::api::{ClusterView, DeleteResponse, JoinRequest, LeaveRequest};
use chapter4::bench::{self, BenchOptions};
use chapter4::wal::{FsyncPolicy, LogOptions};
use chapter4::{Client, ClusterClient, Config, Member, Placement};
use clap::{Parser, Subcommand, ValueEnum};
use plumbing::cli::KeyArg;
use plumbing::cli::Kv;
use plumbing::cluster_key::ClusterKey;

/// A partitioned key-value store: chapter 4 of the course.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Which placement `serve` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PlacementArg {
    /// Member number `hash % N`.
    ModN,
    /// Consistent hashing with `--vnodes` tokens per member.
    Consistent,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a node until Ctrl-C (or SIGTERM), then finish in-flight requests and exit.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7001")]
        addr: SocketAddr,
        /// The node's id (unique in the cluster).
        #[arg(long, default_value_t = 1)]
        id: u64,
        /// The URL others reach this node at (default: http:// + --addr).
        #[arg(long)]
        url: Option<String>,
        /// A founding member, `id=url`; repeat for each, this node included. None: the
        /// node starts outside any cluster and waits to be joined. Ignored once the data
        /// directory holds a membership.
        #[arg(long = "member", value_parser = parse_member)]
        members: Vec<Member>,
        /// How keys are placed (every member must agree).
        #[arg(long, value_enum, default_value_t = PlacementArg::Consistent)]
        placement: PlacementArg,
        /// Tokens per member with consistent hashing.
        #[arg(long, default_value_t = 128)]
        vnodes: u32,
        /// Where the log, the snapshot and the membership live (created if missing).
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// When to fsync (see chapter 2).
        #[arg(long, value_enum, default_value_t = FsyncPolicy::Group)]
        fsync: FsyncPolicy,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Add a running node to the cluster; returns once its keys have moved to it.
    Join {
        /// Any member, to carry out the change.
        #[arg(long, default_value = "http://127.0.0.1:7001", env = "KV_NODE")]
        via: String,
        /// The new node's id.
        #[arg(long)]
        id: u64,
        /// The new node's URL.
        #[arg(long)]
        url: String,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Remove a member; returns once its keys have moved to the others.
    Leave {
        /// Any member, to carry out the change.
        #[arg(long, default_value = "http://127.0.0.1:7001", env = "KV_NODE")]
        via: String,
        /// The member's id.
        #[arg(long)]
        id: u64,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Print a node's view of the cluster.
    Cluster {
        #[command(flatten)]
        node: NodeArg,
        /// Print the raw JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print a key's value and version as JSON.
    Get {
        /// The key.
        key: String,
        #[command(flatten)]
        node: NodeArg,
    },
    /// Store a value; with --if-version, only if the key is at that version.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// Compare-and-set: write only if the key is at this version (0: only if absent).
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
    /// Start three nodes in this process, add a fourth, remove one, printing each step.
    Demo,
    /// Balance against vnodes, keys moved per join, and routing throughput.
    Bench {
        /// Where to put the routing part's data (a fresh folder inside it; removed after).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Concurrent writers in the routing part.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Measured seconds per routing run.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Write the results as JSON to this file (they are printed in any case).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
struct NodeArg {
    /// The node to talk to (any member: it forwards to the key's owner).
    #[arg(long, default_value = "http://127.0.0.1:7001", env = "KV_NODE")]
    node: String,
    /// Fetch the cluster's map from --node and send the request straight to the owner.
    #[arg(long)]
    routed: bool,
}

fn parse_member(s: &str) -> Result<Member, String> {
    let (id, url) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not id=url, e.g. 2=http://127.0.0.1:7002"))?;
    let id = id
        .parse()
        .map_err(|_| format!("{id:?} is not a node id (a whole number)"))?;
    Ok(Member {
        id,
        url: url.trim_end_matches('/').to_string(),
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
            url,
            members,
            placement,
            vnodes,
            data_dir,
            fsync,
            key,
        } => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            let placement = match placement {
                PlacementArg::ModN => Placement::ModN,
                PlacementArg::Consistent => Placement::Consistent { vnodes },
            };
            let config = Config {
                id,
                advertise_url: url,
                members,
                placement,
                data_dir,
                log: LogOptions {
                    fsync,
                    ..LogOptions::default()
                },
                cluster_key: key.key()?,
                ..Config::default()
            };
            chapter4::run(listener, config, plumbing::api::shutdown_signal()).await
        }
        Command::Join { via, id, url, key } => {
            let view: ClusterView =
                admin(&via, "/cluster/join", &JoinRequest { id, url }, &key.key()?).await?;
            print_view(&view);
            Ok(())
        }
        Command::Leave { via, id, key } => {
            let view: ClusterView =
                admin(&via, "/cluster/leave", &LeaveRequest { id }, &key.key()?).await?;
            print_view(&view);
            Ok(())
        }
        Command::Cluster { node, json } => {
            let view = fetch_view(&node.node).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                print_view(&view);
            }
            Ok(())
        }
        Command::Get { key, node } => one(&node, &Kv::Get { key }).await,
        Command::Put {
            key,
            value,
            if_version,
            node,
        } => {
            one(
                &node,
                &Kv::Put {
                    key,
                    value,
                    if_version,
                },
            )
            .await
        }
        Command::Delete { key, node } => one(&node, &Kv::Delete { key }).await,
        Command::Demo => demo::demo().await,
        Command::Bench {
            dir,
            clients,
            seconds,
            out,
        } => {
            let options = BenchOptions {
                dir,
                clients,
                duration: Duration::from_secs_f64(seconds),
                ..BenchOptions::default()
            };
            let results = bench::run(&options).await?;
            print_bench(&results);
            if let Some(out) = out {
                plumbing::cli::save_json(&out, &results)?;
            }
            Ok(())
        }
    }
}

/// Runs one key-value command at `--node`, or at the key's owner with `--routed`.
async fn one(node: &NodeArg, command: &Kv) -> anyhow::Result<()> {
    let client = if node.routed {
        ClusterClient::connect(&node.node)
            .await?
            .client_for(command.key())
    } else {
        Client::new(&node.node)?
    };
    println!("{}", execute(&client, command).await?);
    Ok(())
}

/// A membership request to `via`; waits as long as the change takes.
async fn admin<T: serde::Serialize, R: serde::de::DeserializeOwned>(
    via: &str,
    path: &str,
    body: &T,
    key: &ClusterKey,
) -> anyhow::Result<R> {
    let http = plumbing::cluster_key::peer_client(Duration::from_secs(120), key)?;
    let url = format!("{}{path}", via.trim_end_matches('/'));
    let response = http
        .post(&url)
        .json(body)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let bytes = response.bytes().await?;
    if !status.is_success() {
        let error = chapter4::client::error_from_response(status, &bytes);
        return Err(anyhow::Error::from(error).context(format!("POST {url}")));
    }
    Ok(serde_json::from_slice(&bytes)?)
}

async fn fetch_view(node: &str) -> anyhow::Result<ClusterView> {
    let http = plumbing::http::client(Duration::from_secs(10))?;
    let url = format!("{}/cluster", node.trim_end_matches('/'));
    Ok(http
        .get(&url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?
        .error_for_status()?
        .json()
        .await?)
}

fn print_view(view: &ClusterView) {
    println!(
        "node {}'s view: epoch {}, {}, {} member(s)",
        view.me,
        view.ring.epoch(),
        view.ring.placement(),
        view.members.len()
    );
    for member in &view.members {
        println!(
            "  node {:>3}  {:<28} {:>6.2}% of the keys",
            member.id,
            member.url,
            member.share * 100.0
        );
    }
    if let Some(change) = &view.last_change {
        match (change.moved_share, change.moved_arcs) {
            (Some(share), Some(arcs)) => println!(
                "last change: epoch {} -> {}, {:.2}% of the key space moved, in {arcs} arcs",
                change.from_epoch,
                change.to_epoch,
                share * 100.0
            ),
            _ => println!(
                "last change: epoch {} -> {} (mod-N: most keys moved)",
                change.from_epoch, change.to_epoch
            ),
        }
    }
    if !view.pending.is_empty() {
        println!("still pulling keys from: {:?}", view.pending);
    }
    if let Some(fault) = &view.fault {
        println!("FAULT: {fault}");
    }
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

fn print_bench(results: &bench::BenchResults) {
    println!(
        "{} on {} ({})",
        results.benchmark, results.machine, results.date
    );
    println!(
        "balance, {} nodes (largest share / mean share; mod-N: {:.3}):",
        results.balance_nodes, results.mod_n_max_over_mean
    );
    println!(
        "{:>8} {:>10} {:>10} {:>10}",
        "vnodes", "max/mean", "worst", "min/mean"
    );
    for p in &results.balance {
        println!(
            "{:>8} {:>10.3} {:>10.3} {:>10.3}",
            p.vnodes, p.max_over_mean, p.worst_max_over_mean, p.min_over_mean
        );
    }
    println!(
        "keys moved when N nodes become N+1 (consistent: {} vnodes):",
        results.movement_vnodes
    );
    println!(
        "{:>4} {:>8} {:>11} {:>9} {:>8}",
        "N", "ideal", "consistent", "sampled", "mod-N"
    );
    for p in &results.movement {
        println!(
            "{:>4} {:>8.3} {:>11.3} {:>9.3} {:>8.3}",
            p.nodes, p.ideal, p.consistent, p.consistent_sampled, p.mod_n_sampled
        );
    }
    println!("routing, 3 nodes, {} writers:", results.clients);
    for run in &results.routing {
        println!(
            "{:>14}: {:>8.0} writes/s, p50 {} µs, p99 {} µs",
            run.routing,
            run.report.throughput,
            run.report.latency_us.p50,
            run.report.latency_us.p99
        );
    }
}
