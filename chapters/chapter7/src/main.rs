//! The `chapter7` binary: run a replica of the sharded store, change its configuration,
//! talk to it, watch the whole thing run, benchmark it.
//!
//! ```text
//! chapter7 demo                                     # the whole store, one line a second
//! export KV_CLUSTER_KEY=$(openssl rand -hex 16)     # the store's secret
//! chapter7 serve --role service --id 0 --addr 127.0.0.1:7000 --data-dir data/0 \
//!     --peer 1=http://127.0.0.1:7001 --peer 2=http://127.0.0.1:7002
//! chapter7 serve --role group --group 1 --id 3 --addr 127.0.0.1:7003 ... # likewise
//! export KV_SERVICE=http://127.0.0.1:7000,http://127.0.0.1:7001,http://127.0.0.1:7002
//! chapter7 join 1=http://127.0.0.1:7003,http://127.0.0.1:7004,http://127.0.0.1:7005
//! chapter7 put greeting hello; chapter7 get greeting
//! chapter7 move 3 2; chapter7 leave 1; chapter7 config
//! chapter7 bench --out results.json                 # moves, unaffected shards, groups
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use chapter7::client::ShardedClient;
use chapter7::controller::Controller;
use chapter7::group::Group;
use chapter7::machine::{DEFAULT_SHARDS, Kind, Machine};
use chapter7::node::{Config, Peer};
use chapter7::raft::{Compaction, Timing};
use chapter7::service::{Change, Service};
use chapter7::{Answer, GroupId};
use clap::{Parser, Subcommand};
use plumbing::cli::KeyArg;

/// A sharded key-value store on self-healing groups: chapter 7 of the course.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one replica (of the configuration service or of a group) until Ctrl-C.
    Serve {
        /// `service` or `group`.
        #[arg(long)]
        role: String,
        /// With `--role group`: the group's id (1, 2, ...).
        #[arg(long)]
        group: Option<GroupId>,
        /// With `--role group`: the configuration service's replicas, comma-separated (the
        /// group confirms each shard step with them before carrying it out).
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "http://127.0.0.1:7000,http://127.0.0.1:7001,http://127.0.0.1:7002",
            env = "KV_SERVICE"
        )]
        service: Vec<String>,
        /// The number of shards (the same for every replica of the store).
        #[arg(long, default_value_t = DEFAULT_SHARDS)]
        shards: usize,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7000")]
        addr: SocketAddr,
        /// The replica's id in its group's Raft log.
        #[arg(long, default_value_t = 0)]
        id: u64,
        /// The other replicas of its log, as `id=url`; repeat for each.
        #[arg(long = "peer", value_parser = parse_peer)]
        peers: Vec<Peer>,
        /// Where its term, vote, snapshot and log live (created if missing).
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Timing preset: `fast` (150-300 ms elections) or `slow` (1-2 s).
        #[arg(long, default_value = "fast")]
        timing: String,
        /// Snapshot once this many applied entries follow the last snapshot.
        #[arg(long, default_value_t = Compaction::DEFAULT.every)]
        snapshot_every: u64,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Groups join, as `id=url,url,url`; the shards are rebalanced and moved.
    Join {
        /// Each joining group and its replicas' addresses.
        #[arg(required = true, value_parser = parse_group)]
        groups: Vec<(GroupId, Vec<String>)>,
        #[command(flatten)]
        service: ServiceArg,
    },
    /// Groups leave; their shards move to the others.
    Leave {
        /// The leaving groups.
        #[arg(required = true)]
        groups: Vec<GroupId>,
        #[command(flatten)]
        service: ServiceArg,
    },
    /// One shard moves to one group.
    Move {
        /// The shard.
        shard: usize,
        /// The group it moves to.
        group: GroupId,
        #[command(flatten)]
        service: ServiceArg,
    },
    /// Finish a change an earlier controller left half done.
    Finish {
        #[command(flatten)]
        service: ServiceArg,
    },
    /// Print the latest configuration, and the pending one, as JSON.
    Config {
        #[command(flatten)]
        service: ServiceArg,
    },
    /// Print a key's value and version as JSON.
    Get {
        /// The key.
        key: String,
        #[command(flatten)]
        service: ServiceArg,
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
        service: ServiceArg,
    },
    /// Delete a key.
    Delete {
        /// The key.
        key: String,
        #[command(flatten)]
        service: ServiceArg,
    },
    /// The live cluster: the whole store in this process (your code, unless built with
    /// `--features solution`), a recorded workload, and a web page that draws the groups,
    /// each shard's owner and the moves, with buttons to crash replicas, cut links, and
    /// join, leave and move; a line a second in the terminal; and (unless --no-script) a
    /// script of joins, leaves, moves and crashes. Runs until Ctrl-C.
    Demo {
        /// Where to serve the page (loopback only; port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:7070")]
        addr: SocketAddr,
        /// Seeds the replicas' timers and the workload's choices.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Concurrent workload clients.
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// Run no script: change the store from the page or another terminal.
        #[arg(long)]
        no_script: bool,
    },
    /// Measure a moving shard's unavailability against its size, unaffected shards'
    /// throughput during moves, throughput against groups, and messages per call.
    Bench {
        /// Write the results as JSON to this file (they are printed in any case).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Shard sizes to move, in KiB, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,256,1024,4096")]
        sizes_kib: Vec<usize>,
        /// Moves per size.
        #[arg(long, default_value_t = 10)]
        moves: usize,
    },
}

#[derive(Debug, clap::Args)]
struct ServiceArg {
    /// The configuration service's replicas, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "http://127.0.0.1:7000,http://127.0.0.1:7001,http://127.0.0.1:7002",
        env = "KV_SERVICE"
    )]
    service: Vec<String>,
    #[command(flatten)]
    key: KeyArg,
}

impl ServiceArg {
    fn controller(&self) -> anyhow::Result<Controller> {
        Controller::new(&self.service, &self.key.key()?, Duration::from_secs(30))
    }

    fn client(&self) -> anyhow::Result<ShardedClient> {
        let name = format!("cli-{}-{}", std::process::id(), fastrand::u32(..));
        ShardedClient::new(&name, &self.service, Duration::from_secs(10))
    }
}

fn parse_peer(text: &str) -> Result<Peer, String> {
    let (id, url) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not `id=url`, e.g. `1=http://127.0.0.1:7001`"))?;
    let id = id
        .parse()
        .map_err(|e| format!("{id:?} is not a replica id: {e}"))?;
    Ok(Peer {
        id,
        url: url.trim_end_matches('/').to_string(),
    })
}

fn parse_group(text: &str) -> Result<(GroupId, Vec<String>), String> {
    let (id, urls) = text.split_once('=').ok_or_else(|| {
        format!("{text:?} is not `group=url,url,...`, e.g. `1=http://127.0.0.1:7003`")
    })?;
    let id = id
        .parse()
        .map_err(|e| format!("{id:?} is not a group id: {e}"))?;
    Ok((id, urls.split(',').map(str::to_string).collect()))
}

fn main() -> ExitCode {
    plumbing::cli::main(run(Cli::parse()))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    plumbing::cli::init_logs(match cli.command {
        Command::Serve { .. } => "info",
        _ => "warn,tower_http=off",
    });
    match cli.command {
        Command::Serve {
            role,
            group,
            service,
            shards,
            addr,
            id,
            peers,
            data_dir,
            timing,
            snapshot_every,
            key,
        } => {
            anyhow::ensure!(shards > 0, "a store needs at least one shard");
            let machine = match (role.as_str(), group) {
                ("service", None) => Machine::new(Kind::Service(Service::new(shards))),
                ("group", Some(g)) if g > 0 => Machine::new(Kind::Group(Group::new(g, shards))),
                _ => anyhow::bail!(
                    "use --role service, or --role group --group N with N ≥ 1 (got {role:?}, {group:?})"
                ),
            };
            let compaction = Compaction {
                every: snapshot_every,
                ..Compaction::DEFAULT
            };
            compaction.validate().map_err(anyhow::Error::msg)?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            let config = Config {
                id,
                peers,
                advertise_url: format!("http://{}", listener.local_addr()?),
                data_dir,
                timing: preset(&timing)?,
                compaction,
                cluster_key: key.key()?,
                machine,
                ..Config::default()
            };
            chapter7::server::run(listener, config, service, plumbing::api::shutdown_signal()).await
        }
        Command::Join { groups, service } => {
            let groups: BTreeMap<_, _> = groups.into_iter().collect();
            change(&service, Change::Join(groups)).await
        }
        Command::Leave { groups, service } => change(&service, Change::Leave(groups)).await,
        Command::Move {
            shard,
            group,
            service,
        } => change(&service, Change::Move { shard, group }).await,
        Command::Finish { service } => {
            let config = service.controller()?.finish_pending().await?;
            println!("{}", serde_json::to_string_pretty(&config)?);
            Ok(())
        }
        Command::Config { service } => {
            let answer = service.controller()?.query().await?;
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(())
        }
        Command::Get { key, service } => match service.client()?.get(&key).await? {
            Some((value, version)) => {
                let entry = serde_json::json!({ "key": key, "value": value, "version": version });
                println!("{}", serde_json::to_string_pretty(&entry)?);
                Ok(())
            }
            None => anyhow::bail!("key {key:?} not found"),
        },
        Command::Put {
            key,
            value,
            if_version,
            service,
        } => match service.client()?.put(&key, &value, if_version).await? {
            Answer::Written { version } => {
                let entry = serde_json::json!({ "key": key, "value": value, "version": version });
                println!("{}", serde_json::to_string_pretty(&entry)?);
                Ok(())
            }
            Answer::Mismatch { current } => {
                anyhow::bail!("version mismatch: the key is at version {current}")
            }
            other => anyhow::bail!("unexpected answer {other:?}"),
        },
        Command::Delete { key, service } => match service.client()?.delete(&key).await? {
            Answer::Deleted { version } => {
                println!("{}", serde_json::json!({ "key": key, "version": version }));
                Ok(())
            }
            Answer::NotFound => anyhow::bail!("key {key:?} not found"),
            other => anyhow::bail!("unexpected answer {other:?}"),
        },
        Command::Demo {
            addr,
            seed,
            clients,
            no_script,
        } => {
            let options = chapter7::demo::DemoOptions {
                seed,
                timing: Timing::default(),
                clients,
                shards: DEFAULT_SHARDS,
                addr,
            };
            chapter7::demo::run(options, !no_script).await
        }
        Command::Bench {
            out,
            sizes_kib,
            moves,
        } => {
            let results =
                chapter7::bench::run(&chapter7::bench::BenchOptions { sizes_kib, moves }).await?;
            chapter7::bench::print(&results);
            if let Some(path) = out {
                plumbing::cli::save_json(&path, &results)?;
            }
            Ok(())
        }
    }
}

/// Runs one change with a fresh controller and prints the configuration it made.
async fn change(service: &ServiceArg, change: Change) -> anyhow::Result<()> {
    let config = service.controller()?.change(&change).await?;
    println!("{}", serde_json::to_string_pretty(&config)?);
    Ok(())
}

/// A timing preset by name.
fn preset(name: &str) -> anyhow::Result<Timing> {
    match name {
        "fast" => Ok(Timing::FAST),
        "slow" => Ok(Timing::SLOW),
        other => anyhow::bail!("unknown timing preset {other:?}: use fast or slow"),
    }
}
