//! A job on one machine: the coordinator's three replicas as one harness [`Cluster`] on
//! loopback (so a test can crash its leader or cut its links), a job's input and store
//! as directories, and the published output.
//!
//! Each replica is chapter 6's node (the same driver, storage and checks, carried)
//! applying this chapter's [`Machine`]. Workers are separate: the `chapter8 worker`
//! process, or [`crate::worker::run`] on a runtime of its own.

use std::future::Future;
use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use harness::cluster::Cluster;
use harness::node::NodeContext;

use crate::call::{Answered, to_leader};
use crate::coordinator::Spec;
use crate::job::Input;
use crate::machine::{JobState, Machine};
use crate::node::{Config, Peer};
use crate::raft::{Compaction, Timing};

/// How many replicas the coordinator's log has.
pub const REPLICAS: usize = 3;

/// Starts the coordinator of a job of shape `spec`: three replicas, elections timed by
/// `timing`, their election timers seeded by `seed`.
pub fn start(spec: Spec, timing: Timing, seed: u64) -> anyhow::Result<Cluster> {
    Cluster::start(REPLICAS, seed, move |ctx| {
        replica_in_cluster(ctx, spec, timing, seed)
    })
}

/// Runs one coordinator replica of a harness cluster.
pub fn replica_in_cluster(
    ctx: NodeContext,
    spec: Spec,
    timing: Timing,
    seed: u64,
) -> impl Future<Output = anyhow::Result<()>> {
    let config = Config {
        id: ctx.id,
        peers: ctx
            .peers
            .iter()
            .map(|p| Peer {
                id: p.id,
                url: p.url.clone(),
            })
            .collect(),
        advertise_url: format!("http://{}", ctx.addr),
        data_dir: ctx.data_dir.clone(),
        timing,
        compaction: Compaction {
            every: 500,
            chunk_bytes: 256 * 1024,
        },
        seed: Some(seed),
        cluster_key: ctx.cluster_key.clone(),
        machine: Machine::new(spec),
        ..Config::default()
    };
    crate::server::run(ctx.listener, config, ctx.shutdown)
}

/// How to start one `chapter8 worker` process of a job.
#[derive(Debug, Clone)]
pub struct WorkerProcess<'a> {
    /// The coordinator's replicas.
    pub servers: &'a [String],
    pub input: &'a Path,
    pub split_bytes: usize,
    pub reduces: usize,
    pub job: &'a str,
    pub store: &'a Path,
    pub task_ms: u64,
    pub slowdown: u32,
    /// The worker's address (`None`: any free port).
    pub addr: Option<std::net::SocketAddr>,
    /// The cluster's key, handed over in the environment.
    pub cluster_key: &'a str,
}

impl WorkerProcess<'_> {
    /// Starts the worker as a child of this process (this binary, `chapter8 worker`),
    /// killed if its handle is dropped.
    pub fn spawn(&self) -> anyhow::Result<tokio::process::Child> {
        let mut command = tokio::process::Command::new(std::env::current_exe()?);
        command.arg("worker");
        if let Some(addr) = self.addr {
            command.args(["--addr", &addr.to_string()]);
        }
        Ok(command
            .args(["--coordinator", &self.servers.join(",")])
            .arg("--input")
            .arg(self.input)
            .args(["--split-bytes", &self.split_bytes.to_string()])
            .args(["--reduces", &self.reduces.to_string()])
            .args(["--job-name", self.job])
            .arg("--store")
            .arg(self.store)
            .args(["--task-ms", &self.task_ms.to_string()])
            .args(["--slowdown", &self.slowdown.to_string()])
            .env(plumbing::cluster_key::CLUSTER_KEY_ENV, self.cluster_key)
            .kill_on_drop(true)
            .spawn()?)
    }
}

/// The coordinator's replicas in `cluster`, as workers reach them.
pub fn servers(cluster: &Cluster) -> Vec<String> {
    (0..cluster.len()).map(|i| cluster.url(i)).collect()
}

/// Every file of `dir`, by name: the job's input.
pub fn read_inputs(dir: &Path) -> anyhow::Result<Vec<Input>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(&name))
                .map_err(|e| anyhow::anyhow!("reading input {name}: {e}"))?;
            Ok(Input::new(name, text))
        })
        .collect()
}

/// Writes `inputs` into `dir`, one file each.
pub fn write_inputs(dir: &Path, inputs: &[Input]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for input in inputs {
        std::fs::write(dir.join(&input.name), &input.text)?;
    }
    Ok(())
}

/// The job's state, read through the coordinator's log (from its leader).
pub async fn job_state(
    client: &reqwest::Client,
    servers: &[String],
    hint: &AtomicUsize,
) -> Result<JobState, String> {
    match to_leader(servers, hint, |url| client.get(format!("{url}/job"))).await {
        Answered::Ok(state) => Ok(state),
        Answered::Error(status, body) => Err(format!("{status}: {}", body.message)),
        Answered::NoLeader(why) => Err(why),
    }
}

/// Waits until the coordinator says the job is done, at most `limit`; its final state.
pub async fn wait_for_job(
    client: &reqwest::Client,
    servers: &[String],
    limit: Duration,
) -> anyhow::Result<JobState> {
    let hint = AtomicUsize::new(0);
    harness::eventually(limit, "the coordinator to say the job is done", || async {
        match job_state(client, servers, &hint).await {
            Ok(state) if state.done => Ok(state),
            Ok(state) => Err(format!(
                "{} of {} maps and {} of {} reduces done",
                state.maps_done, state.spec.maps, state.reduces_done, state.spec.reduces
            )),
            Err(why) => Err(why),
        }
    })
    .await
}

/// The job's output files, as the coordinator committed them: file `r` is what the
/// committed attempt of reduce `r` wrote into `store`.
pub fn committed_outputs(store: &Path, state: &JobState) -> anyhow::Result<Vec<String>> {
    state
        .outputs
        .iter()
        .enumerate()
        .map(|(r, attempt)| {
            let attempt =
                attempt.ok_or_else(|| anyhow::anyhow!("reduce {r} has no committed output"))?;
            let name = format!("mr-out-{r}.{attempt}");
            std::fs::read_to_string(store.join(&name))
                .map_err(|e| anyhow::anyhow!("reading {name}, reduce {r}'s committed output: {e}"))
        })
        .collect()
}
