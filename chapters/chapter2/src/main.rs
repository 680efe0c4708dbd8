//! The `chapter2` binary: run a durable node, talk to it, benchmark it.
//!
//! ```text
//! chapter2 serve --data-dir data --fsync group   # run a node until Ctrl-C (or kill -9 it)
//! chapter2 put greeting hello                    # talk to it
//! chapter2 get greeting
//! chapter2 put greeting bonjour --if-version 1   # compare-and-set
//! chapter2 delete greeting
//! chapter2 demo                                  # all of the above, in one process
//! chapter2 bench --out results.json              # the chapter's benchmark
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use chapter2::api::DeleteResponse;
use chapter2::bench::{self, BenchOptions};
use chapter2::wal::{FsyncPolicy, LogOptions};
use chapter2::{Client, Config};
use clap::{Parser, Subcommand};
use plumbing::cli::Kv;

/// A durable key-value server and its client: chapter 2 of the course.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a node until Ctrl-C (or SIGTERM), then finish in-flight requests and exit.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7000")]
        addr: SocketAddr,
        /// The node's id, shown in /health, /status and the logs.
        #[arg(long, default_value_t = 1)]
        id: u64,
        /// Where the log and the snapshot live (created if missing).
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// When to fsync: after every write, once per group of writes, or never (UNSAFE:
        /// a machine crash loses acknowledged writes; for benchmarks only).
        #[arg(long, value_enum, default_value_t = FsyncPolicy::Group)]
        fsync: FsyncPolicy,
        /// Compact (snapshot, then empty the log) once the log exceeds this many bytes.
        #[arg(long, default_value_t = 64 * 1024 * 1024)]
        compact_after_bytes: u64,
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
    /// Start a node in this process and run a short session against it, printing each step.
    Demo,
    /// Measure durable PUTs with fsync per write and with group commit, this disk's own
    /// fsync latency, and recovery time.
    Bench {
        /// Client counts, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,16,64,256")]
        clients: Vec<usize>,
        /// Where to put the benchmark's data (a fresh folder inside it; removed after).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Records written for the recovery measurement.
        #[arg(long, default_value_t = 1_000_000)]
        recovery_records: u64,
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
            data_dir,
            fsync,
            compact_after_bytes,
        } => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            if fsync == FsyncPolicy::Never {
                tracing::warn!(
                    "--fsync never: a machine crash loses acknowledged writes. Benchmarks only!"
                );
            }
            let log = LogOptions {
                fsync,
                compact_after_bytes,
            };
            let config = Config {
                id,
                data_dir,
                log,
                ..Config::default()
            };
            chapter2::run(listener, config, plumbing::api::shutdown_signal()).await
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
            println!(
                "{}",
                execute(
                    &client,
                    &Kv::Put {
                        key,
                        value,
                        if_version
                    }
                )
                .await?
            );
            Ok(())
        }
        Command::Delete { key, node } => {
            let client = Client::new(&node.node)?;
            println!("{}", execute(&client, &Kv::Delete { key }).await?);
            Ok(())
        }
        Command::Demo => demo().await,
        Command::Bench {
            clients,
            seconds,
            out,
            dir,
            recovery_records,
        } => {
            let options = BenchOptions {
                clients,
                duration: Duration::from_secs_f64(seconds),
                dir,
                recovery_records,
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

/// Starts a node on a free port and walks through the API, as the CLI would.
async fn demo() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let data = tempfile::tempdir()?;
    let config = Config {
        data_dir: data.path().to_path_buf(),
        ..Config::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(chapter2::run(listener, config, async move {
        let _ = stopped.await;
    }));
    println!("a node is listening on {url}\n");
    let client = Client::new(&url)?;

    let key = || "greeting".to_string();
    let put = |value: &str, if_version| Kv::Put {
        key: key(),
        value: value.into(),
        if_version,
    };
    let script = [
        (put("hello", None), ""),
        (Kv::Get { key: key() }, ""),
        (
            put("bonjour", Some(1)),
            "compare-and-set at the current version",
        ),
        (put("hola", Some(1)), "version 1 is stale now: refused"),
        (Kv::Delete { key: key() }, ""),
        (Kv::Get { key: key() }, ""),
        (
            Kv::Put {
                key: "bad\nkey".into(),
                value: "x".into(),
                if_version: None,
            },
            "a control character: refused",
        ),
    ];
    for (command, note) in &script {
        let note = if note.is_empty() {
            String::new()
        } else {
            format!("    # {note}")
        };
        println!("$ chapter2 {command} --node {url}{note}");
        match execute(&client, command).await {
            Ok(line) => println!("{line}\n"),
            Err(e) => println!("error: {e}\n"),
        }
    }

    let _ = stop.send(());
    server.await??;
    println!(
        "\nthe node shut down gracefully. Next: `chapter2 serve` in one terminal, the commands above in another."
    );
    Ok(())
}

fn print_bench(results: &bench::BenchResults) {
    println!(
        "{} on {} ({})",
        results.benchmark, results.machine, results.date
    );
    let fsync = &results.fsync_latency_us;
    println!(
        "fsync latency: p50 {} µs, p99 {} µs, mean {:.0} µs",
        fsync.p50, fsync.p99, fsync.mean
    );
    println!(
        "{:>8} {:>8} {:>12} {:>9} {:>9} {:>9} {:>12}",
        "policy", "clients", "writes/s", "p50 µs", "p99 µs", "p999 µs", "writes/fsync"
    );
    for (run, syncs) in results.runs.iter().zip(&results.syncs) {
        println!(
            "{:>8} {:>8} {:>12.0} {:>9} {:>9} {:>9} {:>12.1}",
            run.name,
            run.clients,
            run.throughput,
            run.latency_us.p50,
            run.latency_us.p99,
            run.latency_us.p999,
            syncs.writes_per_fsync
        );
    }
    let recovery = &results.recovery;
    println!(
        "recovery: {} records ({:.0} MiB) in {:.2} s",
        recovery.records,
        recovery.log_bytes as f64 / (1024.0 * 1024.0),
        recovery.seconds
    );
}
