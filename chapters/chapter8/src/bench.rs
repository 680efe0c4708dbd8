//! `chapter8 bench`: a word count on a generated corpus, on the coordinator's three
//! replicas and worker processes of this binary.
//!
//! - **Workers**: job time against 1, 2, 4 and 8 workers, with tasks that take at least
//!   `task_ms` (a model of splits big enough to take that long), and with tasks that only
//!   compute (where the machine's cores are the limit, and the coordinator's log).
//! - **Faults**, with 4 workers: one worker ten times slower, with and without backup
//!   attempts (the paper's sort took 44 % longer without them); the coordinator's leader
//!   crashed once half the maps are done (and restarted a second later).
//!
//! A job's time runs from the first worker's start to the coordinator's last commit, on
//! the coordinator's own clock (the `at` of its timeline); every job's output is checked
//! against a run on one thread.

use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use harness::cluster::Cluster;
use harness::results::chapter8::{BenchResults, JobRuns};

use crate::coordinator::{Event, Spec};
use crate::job::Input;
use crate::jobs::WordCount;
use crate::raft::Timing;
use crate::server::now_ms;
use crate::{sequential, split, system};

/// About how many bytes one map reads; the corpus is `MAPS` of them.
const SPLIT_BYTES: usize = 64 * 1024;
const MAPS: usize = 16;
const REDUCES: usize = 8;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Runs of each job shape (the figure shows their median).
    pub runs: usize,
    /// The modelled task time of the workers series and of the faults.
    pub task_ms: u64,
    /// The worker counts of the workers series.
    pub workers: Vec<usize>,
}

/// One job shape.
#[derive(Debug, Clone)]
struct Shape {
    name: String,
    workers: usize,
    task_ms: u64,
    backups: bool,
    /// Worker 0 runs ten times slower.
    straggler: bool,
    /// The coordinator's leader is crashed once half the maps are done.
    lose_leader: bool,
}

/// A corpus of `MAPS` files of words, a few common and many rare (as in text).
fn corpus() -> Vec<Input> {
    let mut rng = fastrand::Rng::with_seed(8);
    let vocabulary: Vec<String> = (0..5_000).map(|i| format!("w{i}")).collect();
    (0..MAPS)
        .map(|f| {
            let mut text = String::with_capacity(SPLIT_BYTES);
            while text.len() < SPLIT_BYTES - 100 {
                for _ in 0..12 {
                    // Rank r with probability about 1/r: a few words are most of the text.
                    let r = (vocabulary.len() as f64).powf(rng.f64()) as usize;
                    text.push_str(&vocabulary[r.min(vocabulary.len() - 1)]);
                    text.push(' ');
                }
                text.push('\n');
            }
            Input::new(format!("part-{f:02}.txt"), text)
        })
        .collect()
}

/// Runs the benchmark.
pub async fn run(options: &BenchOptions) -> anyhow::Result<BenchResults> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("input");
    let inputs = corpus();
    system::write_inputs(&input, &inputs)?;
    let maps = split(&inputs, SPLIT_BYTES).len();
    let expected = sequential(&WordCount, &inputs, SPLIT_BYTES, REDUCES);
    let shape = |name: String, workers, task_ms| Shape {
        name,
        workers,
        task_ms,
        backups: true,
        straggler: false,
        lose_leader: false,
    };
    let mut results = BenchResults {
        benchmark: "chapter 8: a MapReduce job on worker processes".into(),
        machine: harness::machine::Machine::detect(),
        date: harness::machine::today(),
        input_bytes: inputs.iter().map(|i| i.text.len() as u64).sum(),
        maps,
        reduces: REDUCES,
        scaling: Vec::new(),
        compute_only: Vec::new(),
        faults: Vec::new(),
    };
    for &workers in &options.workers {
        let name = if workers == 1 {
            "1 worker".to_string()
        } else {
            format!("{workers} workers")
        };
        let modelled = shape(name.clone(), workers, options.task_ms);
        results
            .scaling
            .push(runs(&modelled, options.runs, &input, &expected).await?);
        let compute = shape(name, workers, 0);
        results
            .compute_only
            .push(runs(&compute, options.runs, &input, &expected).await?);
    }
    let plain = shape("4 workers".into(), 4, options.task_ms);
    let faults = [
        plain.clone(),
        Shape {
            name: "one 10x slower, backups".into(),
            straggler: true,
            ..plain.clone()
        },
        Shape {
            name: "one 10x slower, no backups".into(),
            straggler: true,
            backups: false,
            ..plain.clone()
        },
        Shape {
            name: "leader lost mid-job".into(),
            lose_leader: true,
            ..plain.clone()
        },
    ];
    for shape in &faults {
        results
            .faults
            .push(runs(shape, options.runs, &input, &expected).await?);
    }
    Ok(results)
}

async fn runs(
    shape: &Shape,
    runs: usize,
    input: &Path,
    expected: &[String],
) -> anyhow::Result<JobRuns> {
    let mut job_ms = Vec::new();
    let mut attempts = Vec::new();
    for run in 0..runs {
        let (ms, started) = one_job(shape, run as u64, input, expected).await?;
        eprintln!(
            "{:<28} run {}: {ms:>7.0} ms, {started} attempts",
            shape.name,
            run + 1
        );
        job_ms.push(ms);
        attempts.push(started);
    }
    let mut sorted = job_ms.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(JobRuns {
        name: shape.name.clone(),
        workers: shape.workers,
        task_ms: shape.task_ms,
        median_ms: sorted[sorted.len() / 2],
        job_ms,
        attempts,
    })
}

/// One job: its time (ms) and the attempts it started.
async fn one_job(
    shape: &Shape,
    seed: u64,
    input: &Path,
    expected: &[String],
) -> anyhow::Result<(f64, usize)> {
    let spec = Spec {
        maps: MAPS,
        reduces: REDUCES,
        worker_timeout: 3_000,
        backups: shape.backups,
    };
    let mut cluster = system::start(spec, Timing::FAST, seed)?;
    let servers = system::servers(&cluster);
    let client = plumbing::http::client(Duration::from_secs(5))?;
    let hint = AtomicUsize::new(0);
    // The clock starts once the coordinator has a leader: elections are not the job's.
    harness::eventually(Duration::from_secs(10), "a coordinator leader", || async {
        system::job_state(&client, &servers, &hint)
            .await
            .map(|_| ())
    })
    .await?;
    let store = tempfile::tempdir()?;
    let key = cluster
        .cluster_key()
        .expose()
        .unwrap_or_default()
        .to_string();
    let started_ms = now_ms();
    let mut children = Vec::new();
    for w in 0..shape.workers {
        let slowdown = if shape.straggler && w == 0 { 10 } else { 1 };
        let child = system::WorkerProcess {
            servers: &servers,
            input,
            split_bytes: SPLIT_BYTES,
            reduces: REDUCES,
            job: "wordcount",
            store: store.path(),
            task_ms: shape.task_ms,
            slowdown,
            addr: None,
            cluster_key: &key,
        }
        .spawn()?;
        children.push(child);
    }
    if shape.lose_leader {
        lose_leader_halfway(&mut cluster, &client, &servers).await?;
    }
    let state = system::wait_for_job(&client, &servers, Duration::from_secs(300)).await?;
    let outputs = system::committed_outputs(store.path(), &state)?;
    anyhow::ensure!(
        outputs == expected,
        "{}: the output differs from a run on one thread",
        shape.name
    );
    let done_ms = state
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Committed { at, .. } => Some(*at),
            _ => None,
        })
        .max()
        .unwrap_or(started_ms);
    let attempts = state
        .events
        .iter()
        .filter(|e| matches!(e, Event::Started { .. }))
        .count();
    for mut child in children {
        let _ = child.wait().await;
    }
    cluster.stop_all().await?;
    Ok((done_ms.saturating_sub(started_ms) as f64, attempts))
}

/// Crashes the coordinator's leader once half the maps are done; restarts it a second
/// later (it comes back as a follower, from its disk).
async fn lose_leader_halfway(
    cluster: &mut Cluster,
    client: &reqwest::Client,
    servers: &[String],
) -> anyhow::Result<()> {
    let hint = AtomicUsize::new(0);
    harness::eventually(Duration::from_secs(60), "half the maps done", || async {
        match system::job_state(client, servers, &hint).await {
            Ok(state) if state.maps_done >= state.spec.maps / 2 => Ok(()),
            Ok(state) => Err(format!("{} maps done", state.maps_done)),
            Err(e) => Err(e),
        }
    })
    .await?;
    for i in 0..cluster.len() {
        let status: serde_json::Value = client
            .get(format!("{}/status", cluster.direct_url(i)))
            .send()
            .await?
            .json()
            .await?;
        if status["role"] == "leader" {
            cluster.kill(i);
            tokio::time::sleep(Duration::from_secs(1)).await;
            cluster.restart(i).await?;
            return Ok(());
        }
    }
    Ok(())
}

/// The results as a table on the terminal.
pub fn print(results: &BenchResults) {
    println!(
        "{}: {} bytes, {} maps, {} reduces",
        results.benchmark, results.input_bytes, results.maps, results.reduces
    );
    let groups = [
        ("tasks of at least the modelled time", &results.scaling),
        ("tasks that only compute", &results.compute_only),
        ("faults, 4 workers", &results.faults),
    ];
    for (title, rows) in groups {
        println!("{title}:");
        for row in rows {
            println!(
                "  {:<28} median {:>7.0} ms  runs {:?} ms  attempts {:?}",
                row.name, row.median_ms, row.job_ms, row.attempts
            );
        }
    }
}
