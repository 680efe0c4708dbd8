//! The `chapter8` binary: run a MapReduce job on workers and a replicated coordinator.
//!
//! ```text
//! chapter8 run --input docs/ --job-name wordcount --workers 4 --out out/   # all of it, here
//! chapter8 bench --out results.json               # workers, a straggler, a lost leader
//! chapter8 demo                                   # a job on the live page, at :7070
//! export KV_CLUSTER_KEY=$(openssl rand -hex 16)                      # or by hand:
//! chapter8 coordinator --id 0 --addr 127.0.0.1:7000 --data-dir c0 --input docs/ \
//!     --peer 1=http://127.0.0.1:7001 --peer 2=http://127.0.0.1:7002
//! chapter8 worker --addr 127.0.0.1:7100 --input docs/ --job wordcount --store store/ \
//!     --coordinator http://127.0.0.1:7000,http://127.0.0.1:7001,http://127.0.0.1:7002
//! ```
//!
//! Every process of one job must be given the same input, split size and number of
//! reduces: a split is named by its number.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chapter8::node::{Config, Peer};
use chapter8::raft::Timing;
use chapter8::worker::WorkerConfig;
use chapter8::{Spec, jobs, sequential, split, system};
use clap::{Args, Parser, Subcommand};
use plumbing::cli::KeyArg;

/// A MapReduce whose coordinator cannot be lost: chapter 8 of the course.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The job's shape, the same for every process of it.
#[derive(Debug, Clone, Args)]
struct JobArgs {
    /// The directory whose files are the job's input.
    #[arg(long)]
    input: PathBuf,
    /// About how many bytes one map task reads.
    #[arg(long, default_value_t = 4096)]
    split_bytes: usize,
    /// How many reduce tasks (and output files).
    #[arg(long, default_value_t = 4)]
    reduces: usize,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one replica of a job's coordinator until Ctrl-C (or SIGTERM).
    Coordinator {
        #[arg(long, default_value = "127.0.0.1:7000")]
        addr: SocketAddr,
        #[arg(long, default_value_t = 0)]
        id: u64,
        /// The other replicas, as `id=url`; repeat for each.
        #[arg(long = "peer", value_parser = parse_peer)]
        peers: Vec<Peer>,
        /// Where the replica's term, vote and log live (created if missing).
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[command(flatten)]
        job: JobArgs,
        /// A worker silent for longer than this is lost.
        #[arg(long, default_value_t = 3000)]
        worker_timeout_ms: u64,
        /// Run no backup attempts.
        #[arg(long)]
        no_backups: bool,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Run one worker until the job is done.
    Worker {
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: SocketAddr,
        /// The coordinator's replicas, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        coordinator: Vec<String>,
        #[command(flatten)]
        job: JobArgs,
        /// `wordcount`, `index`, `grep:<pattern>` or `join`.
        #[arg(long)]
        job_name: String,
        /// The job's store: where reduce outputs are written.
        #[arg(long)]
        store: PathBuf,
        /// Each task takes at least this long (a model of bigger splits).
        #[arg(long, default_value_t = 0)]
        task_ms: u64,
        /// This worker runs this many times slower (a straggler: 10).
        #[arg(long, default_value_t = 1)]
        slowdown: u32,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Run a whole job here: a coordinator of three replicas in this process, workers as
    /// child processes; publish the output and check it against a run on one thread.
    Run {
        #[command(flatten)]
        job: JobArgs,
        #[arg(long, default_value = "wordcount")]
        job_name: String,
        #[arg(long, default_value_t = 4)]
        workers: usize,
        /// Where to write the output files `mr-out-0`, `mr-out-1`, ...
        #[arg(long, default_value = "mr-out")]
        out: PathBuf,
        #[arg(long, default_value_t = 0)]
        task_ms: u64,
    },
    /// Run jobs on the live page: the coordinator's replicas and the workers, with buttons
    /// to crash them, and the job's timeline.
    Demo {
        /// Where to serve the page (loopback only).
        #[arg(long, default_value = "127.0.0.1:7070")]
        addr: SocketAddr,
        #[arg(long, default_value_t = 4)]
        workers: usize,
        /// How long one task takes (at least), in ms, so that you can watch.
        #[arg(long, default_value_t = 700)]
        task_ms: u64,
        /// Seeds the replicas' election timers.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Measure job time against workers, a straggler with and without backups, and a
    /// lost leader; write the results for the book's figure.
    Bench {
        /// Runs of each job (the figure shows the median).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// The modelled time of one task, in ms.
        #[arg(long, default_value_t = 50)]
        task_ms: u64,
        /// Where to write the results (JSON), e.g. book/src/figures/chapter8-bench.json.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    plumbing::cli::main(run(Cli::parse()))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Coordinator {
            addr,
            id,
            peers,
            data_dir,
            job,
            worker_timeout_ms,
            no_backups,
            key,
        } => {
            plumbing::cli::init_logs("info");
            let spec = spec_of(&job, worker_timeout_ms, !no_backups)?;
            let listener = tokio::net::TcpListener::bind(addr).await?;
            let config = Config {
                id,
                peers,
                advertise_url: format!("http://{}", listener.local_addr()?),
                data_dir,
                timing: Timing::FAST,
                cluster_key: key.key()?,
                machine: chapter8::machine::Machine::new(spec),
                ..Config::default()
            };
            chapter8::server::run(listener, config, plumbing::api::shutdown_signal()).await
        }
        Command::Worker {
            addr,
            coordinator,
            job,
            job_name,
            store,
            task_ms,
            slowdown,
            key,
        } => {
            plumbing::cli::init_logs("warn");
            let config = worker_config(&job, &job_name, coordinator, store, task_ms)?;
            let config = WorkerConfig {
                cluster_key: key.key()?,
                slowdown,
                ..config
            };
            let listener = tokio::net::TcpListener::bind(addr).await?;
            chapter8::worker::run(listener, config, plumbing::api::shutdown_signal()).await
        }
        Command::Run {
            job,
            job_name,
            workers,
            out,
            task_ms,
        } => run_here(&job, &job_name, workers, &out, task_ms).await,
        Command::Demo {
            addr,
            workers,
            task_ms,
            seed,
        } => {
            plumbing::cli::init_logs("warn");
            let options = chapter8::demo::DemoOptions {
                addr,
                workers: workers.clamp(1, 16),
                task_ms,
                seed,
            };
            chapter8::demo::run(options).await
        }
        Command::Bench { runs, task_ms, out } => {
            let options = chapter8::bench::BenchOptions {
                runs: runs.max(1),
                task_ms,
                workers: vec![1, 2, 4, 8],
            };
            let results = chapter8::bench::run(&options).await?;
            chapter8::bench::print(&results);
            if let Some(out) = out {
                plumbing::cli::save_json(&out, &results)?;
            }
            Ok(())
        }
    }
}

fn spec_of(job: &JobArgs, worker_timeout: u64, backups: bool) -> anyhow::Result<Spec> {
    let inputs = system::read_inputs(&job.input)?;
    anyhow::ensure!(job.reduces > 0, "a job needs at least one reduce task");
    Ok(Spec {
        maps: split(&inputs, job.split_bytes).len(),
        reduces: job.reduces,
        worker_timeout,
        backups,
    })
}

fn worker_config(
    job: &JobArgs,
    name: &str,
    coordinator: Vec<String>,
    store: PathBuf,
    task_ms: u64,
) -> anyhow::Result<WorkerConfig> {
    let inputs = system::read_inputs(&job.input)?;
    let splits = split(&inputs, job.split_bytes);
    std::fs::create_dir_all(&store)?;
    Ok(WorkerConfig {
        coordinator,
        job: jobs::by_name(name).with_context(|| {
            format!("no job {name:?}: try wordcount, index, grep:<pattern> or join")
        })?,
        inputs: Arc::new(inputs),
        splits: Arc::new(splits),
        reduces: job.reduces,
        store,
        cluster_key: plumbing::cluster_key::ClusterKey::none(),
        task_time: Duration::from_millis(task_ms),
        slowdown: 1,
    })
}

/// `chapter8 run`: the coordinator here, the workers as child processes.
async fn run_here(
    job: &JobArgs,
    name: &str,
    workers: usize,
    out: &Path,
    task_ms: u64,
) -> anyhow::Result<()> {
    let job_fn = jobs::by_name(name).with_context(|| format!("no job {name:?}"))?;
    let spec = spec_of(job, 3_000, true)?;
    let started = Instant::now();
    let cluster = system::start(spec, Timing::FAST, fastrand::u64(..))?;
    let servers = system::servers(&cluster);
    let store = tempfile::tempdir()?;
    let key = cluster
        .cluster_key()
        .expose()
        .unwrap_or_default()
        .to_string();
    let mut children = Vec::new();
    for _ in 0..workers {
        let child = system::WorkerProcess {
            servers: &servers,
            input: &job.input,
            split_bytes: job.split_bytes,
            reduces: job.reduces,
            job: name,
            store: store.path(),
            task_ms,
            slowdown: 1,
            addr: None,
            cluster_key: &key,
        }
        .spawn()?;
        children.push(child);
    }
    println!(
        "{} maps, {} reduces, {workers} workers; coordinator at {}",
        spec.maps,
        spec.reduces,
        servers.join(" ")
    );
    let client = plumbing::http::client(Duration::from_secs(5))?;
    let state = system::wait_for_job(&client, &servers, Duration::from_secs(600)).await?;
    let outputs = system::committed_outputs(store.path(), &state)?;
    std::fs::create_dir_all(out)?;
    for (r, text) in outputs.iter().enumerate() {
        std::fs::write(out.join(format!("mr-out-{r}")), text)?;
    }
    let inputs = system::read_inputs(&job.input)?;
    let expected = sequential(job_fn.as_ref(), &inputs, job.split_bytes, job.reduces);
    let attempts = state
        .events
        .iter()
        .filter(|e| matches!(e, chapter8::Event::Started { .. }))
        .count();
    println!(
        "done in {:.2?}: {attempts} attempts for {} tasks; output in {} ({})",
        started.elapsed(),
        spec.maps + spec.reduces,
        out.display(),
        if outputs == expected {
            "equal to a run on one thread"
        } else {
            "DIFFERENT from a run on one thread"
        }
    );
    for mut child in children {
        let _ = child.wait().await;
    }
    anyhow::ensure!(
        outputs == expected,
        "the output differs from a sequential run's"
    );
    Ok(())
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
