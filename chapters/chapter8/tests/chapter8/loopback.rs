//! Whole jobs on loopback, on real processes: the coordinator's three replicas (chapter
//! 6's node, in this process behind the harness's proxies) and workers that are the
//! real `chapter8` binary, one killed with SIGKILL mid-job, and the coordinator's leader
//! crashed. The output must equal a run on one thread, byte for byte. These need every
//! exercise.

use std::path::Path;
use std::time::Duration;

use chapter8::raft::Timing;
use chapter8::{Spec, sequential, split, system};
use harness::cluster::Cluster;
use harness::process::ProcessNode;

use crate::common::{any_job_named, attempts_are_explained};
use crate::timeline::timeline;

/// Workers per job.
const WORKERS: usize = 3;
/// Split size: a dozen maps or so.
const SPLIT_BYTES: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_jobs_on_real_processes_survive_a_killed_worker_and_a_lost_leader() {
    // `LOOPBACK_SEEDS=100` soaks; `LOOPBACK_SEED=n` replays one (same faults, real timing).
    let seeds = harness::seeds::loopback(0..20);
    for batch in seeds.chunks(4) {
        let results =
            futures_util::future::join_all(batch.iter().map(|&seed| schedule(seed))).await;
        for result in results {
            result.unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

fn worker_args(
    servers: Vec<String>,
    input: &Path,
    store: &Path,
    job: &str,
    reduces: usize,
    key: String,
) -> impl Fn(std::net::SocketAddr, &Path) -> Vec<String> + Send + Sync + 'static {
    let (input, store, job) = (
        input.display().to_string(),
        store.display().to_string(),
        job.to_string(),
    );
    move |addr, _| {
        [
            "worker",
            "--addr",
            &addr.to_string(),
            "--coordinator",
            &servers.join(","),
            "--input",
            &input,
            "--split-bytes",
            &SPLIT_BYTES.to_string(),
            "--reduces",
            &reduces.to_string(),
            "--job-name",
            &job,
            "--store",
            &store,
            "--task-ms",
            "20",
            "--cluster-key",
            &key,
        ]
        .map(String::from)
        .to_vec()
    }
}

/// The replica that leads the coordinator's log now, if one does.
async fn leader(cluster: &Cluster, client: &reqwest::Client) -> Option<usize> {
    for i in 0..cluster.len() {
        let status = client
            .get(format!("{}/status", cluster.direct_url(i)))
            .send()
            .await;
        if let Ok(response) = status
            && let Ok(status) = response.json::<serde_json::Value>().await
            && status["role"] == "leader"
        {
            return Some(i);
        }
    }
    None
}

async fn schedule(seed: u64) -> Result<(), String> {
    let fail = |what: String| {
        format!(
            "loopback schedule {seed}: {what}\nreplay it (same faults, real timing) with: \
             LOOPBACK_SEED={seed} cargo test -p chapter8 chapter_jobs_on_real_processes -- --exact"
        )
    };
    let mut rng = fastrand::Rng::with_seed(seed);
    let (job, inputs) = any_job_named(&mut rng);
    let dir = tempfile::tempdir().map_err(|e| fail(e.to_string()))?;
    let (input, store) = (dir.path().join("input"), dir.path().join("store"));
    system::write_inputs(&input, &inputs).map_err(|e| fail(e.to_string()))?;
    std::fs::create_dir_all(&store).map_err(|e| fail(e.to_string()))?;
    let spec = Spec {
        maps: split(&inputs, SPLIT_BYTES).len(),
        reduces: rng.usize(1..5),
        worker_timeout: 1_000,
        backups: rng.bool(),
    };
    let mut cluster =
        system::start(spec, Timing::FAST, seed).map_err(|e| fail(format!("{e:#}")))?;
    let key = cluster
        .cluster_key()
        .expose()
        .unwrap_or_default()
        .to_string();
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let args = worker_args(
            system::servers(&cluster),
            &input,
            &store,
            &job,
            spec.reduces,
            key.clone(),
        );
        let worker = ProcessNode::start(env!("CARGO_BIN_EXE_chapter8"), args)
            .await
            .map_err(|e| fail(format!("starting a worker: {e:#}")))?;
        workers.push(worker);
    }
    let client = plumbing::http::client(Duration::from_secs(2)).map_err(|e| fail(e.to_string()))?;
    // The faults: one worker killed, the coordinator's leader crashed for a while.
    let (kill_worker_at, kill_leader_at) = (rng.u64(0..600), rng.u64(0..800));
    let victim = rng.usize(0..WORKERS);
    let down_for = Duration::from_millis(rng.u64(100..1_500));
    let mut events = [(kill_worker_at, 0), (kill_leader_at, 1)];
    events.sort();
    let started = tokio::time::Instant::now();
    let mut crashed = None;
    for (at, what) in events {
        tokio::time::sleep_until(started + Duration::from_millis(at)).await;
        if what == 0 {
            workers[victim].kill();
        } else if let Some(i) = leader(&cluster, &client).await {
            cluster.kill(i);
            crashed = Some(i);
        }
    }
    if let Some(i) = crashed {
        tokio::time::sleep(down_for).await;
        cluster
            .restart(i)
            .await
            .map_err(|e| fail(format!("restarting replica {i}: {e:#}")))?;
    }
    let servers = system::servers(&cluster);
    let state = system::wait_for_job(&client, &servers, Duration::from_secs(60))
        .await
        .map_err(|e| {
            let logs: Vec<String> = workers.iter().map(ProcessNode::log).collect();
            fail(format!("{e:#}\nworker logs:\n{}", logs.join("\n---\n")))
        })?;
    let explain = |what: String| fail(format!("{what}\n{}", timeline(&state.events)));
    attempts_are_explained(&state.events, state.spec).map_err(explain)?;
    let outputs =
        system::committed_outputs(&store, &state).map_err(|e| explain(format!("{e:#}")))?;
    let job_fn = chapter8::jobs::by_name(&job).expect("a job of the tests");
    let expected = sequential(job_fn.as_ref(), &inputs, SPLIT_BYTES, spec.reduces);
    for (r, (got, want)) in outputs.iter().zip(&expected).enumerate() {
        if got != want {
            return Err(explain(format!(
                "{job}: output file {r} differs from a run on one thread:\n  got:  {got:?}\n  want: {want:?}"
            )));
        }
    }
    Ok(())
}
