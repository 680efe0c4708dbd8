//! The `chapter1` binary: run a node, talk to it, benchmark it.
//!
//! ```text
//! chapter1 serve --addr 127.0.0.1:7000          # run a node until Ctrl-C
//! chapter1 put greeting hello                    # talk to it
//! chapter1 get greeting
//! chapter1 put greeting bonjour --if-version 1   # compare-and-set
//! chapter1 delete greeting
//! chapter1 demo                                  # all of the above, in one process
//! chapter1 bench --out results.json              # the chapter's benchmark
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use chapter1::bench::{self, BenchOptions};
use chapter1::{Client, ClientError, Config};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// A key-value server and its client: chapter 1 of the course.
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
    /// Measure GET and PUT throughput and latency against a constant-returning handler.
    Bench {
        /// Client counts, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
        clients: Vec<usize>,
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let default_level = if matches!(cli.command, Command::Serve { .. }) {
        "info"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .init();

    match cli.command {
        Command::Serve { addr, id } => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            chapter1::run(
                listener,
                Config {
                    id,
                    ..Config::default()
                },
                shutdown_signal(),
            )
            .await
        }
        Command::Get { key, node } => match Client::new(&node.node)?.get(&key).await? {
            Some(entry) => print_json(&entry),
            None => anyhow::bail!("key {key:?} not found"),
        },
        Command::Put {
            key,
            value,
            if_version,
            node,
        } => {
            let client = Client::new(&node.node)?;
            let entry = match if_version {
                Some(version) => client.put_if(&key, &value, version).await?,
                None => client.put(&key, &value).await?,
            };
            print_json(&entry)
        }
        Command::Delete { key, node } => {
            let version = Client::new(&node.node)?.delete(&key).await?;
            print_json(&serde_json::json!({ "key": key, "version": version }))
        }
        Command::Demo => demo().await,
        Command::Bench {
            clients,
            seconds,
            out,
        } => {
            let options = BenchOptions {
                clients,
                duration: Duration::from_secs_f64(seconds),
                ..BenchOptions::default()
            };
            let results = bench::run(&options).await?;
            print_bench(&results);
            if let Some(out) = out {
                std::fs::write(&out, serde_json::to_string_pretty(&results)?)
                    .with_context(|| format!("writing {}", out.display()))?;
                eprintln!("results written to {}", out.display());
            }
            Ok(())
        }
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}

/// Starts a node on a free port and walks through the API, as the CLI would.
async fn demo() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(chapter1::run(listener, Config::default(), async move {
        let _ = stopped.await;
    }));
    println!("a node is listening on {url}\n");
    let client = Client::new(&url)?;

    let step = |cmd: &str| println!("$ chapter1 {cmd} --node {url}");
    step("put greeting hello");
    print_outcome(client.put("greeting", "hello").await);
    step("get greeting");
    print_outcome(client.get("greeting").await);
    let version = client.get("greeting").await?.map_or(0, |e| e.version);
    step(&format!("put greeting bonjour --if-version {version}"));
    print_outcome(client.put_if("greeting", "bonjour", version).await);
    step(&format!(
        "put greeting hola --if-version {version}    # stale version: refused"
    ));
    print_outcome(client.put_if("greeting", "hola", version).await);
    step("delete greeting");
    print_outcome(client.delete("greeting").await);
    step("get greeting");
    print_outcome(client.get("greeting").await);
    step("put 'bad\\nkey' x    # a control character: refused");
    print_outcome(client.put("bad\nkey", "x").await);

    let _ = stop.send(());
    server.await??;
    println!(
        "\nthe node shut down gracefully. Next: `chapter1 serve` in one terminal, the commands above in another."
    );
    Ok(())
}

fn print_outcome<T: serde::Serialize>(outcome: Result<T, ClientError>) {
    match outcome {
        Ok(value) => println!("{}\n", serde_json::to_string(&value).unwrap_or_default()),
        Err(e) => println!("error: {e}\n"),
    }
}

fn print_bench(results: &bench::BenchResults) {
    println!(
        "{} on {} ({})",
        results.benchmark, results.machine, results.date
    );
    println!(
        "{:>14} {:>8} {:>12} {:>9} {:>9} {:>9} {:>7}",
        "target", "clients", "ops/s", "p50 µs", "p99 µs", "p999 µs", "errors"
    );
    for run in &results.runs {
        println!(
            "{:>14} {:>8} {:>12.0} {:>9} {:>9} {:>9} {:>7}",
            run.name,
            run.clients,
            run.throughput,
            run.latency_us.p50,
            run.latency_us.p99,
            run.latency_us.p999,
            run.errors
        );
    }
}
