//! A worker: asks the coordinator for a task, runs it, reports, until told to exit.
//!
//! ```text
//! GET /internal/intermediate/{map}/{reduce}   200 [[key, value], ...] | 404
//!     (the cluster's key: x-cluster-key)      map `map`'s pairs for reduce `reduce`
//! GET /health                                 200
//! ```
//!
//! A map's output stays on the worker that ran it (in its memory here: it is gone when
//! the process is, as the paper's local disk is with its machine) and reducers fetch it
//! from there. A reduce writes its output file whole into the job's store under its
//! attempt's name, `mr-out-{r}.{attempt}`, before it reports; which attempt's file is
//! the output is the coordinator's decision (exercise 8.4), so two attempts that both
//! finish never overwrite each other. A worker's name is its address and a random
//! number: a restarted worker is a new one.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use plumbing::cluster_key::{ClusterKey, require_cluster_key};
use serde::de::DeserializeOwned;

use crate::call::{Answered, to_leader};
use crate::coordinator::{Assignment, AttemptId, Outcome, Report, TaskId, Verdict, WorkerId};
use crate::error::ApiError;
use crate::job::{Input, Job, Pair, Split};
use crate::run::{Buckets, run_map, run_reduce};
use crate::server::{ReportCall, WorkerCall};

/// How often a busy worker says it is alive.
pub const HEARTBEAT: Duration = Duration::from_millis(200);
/// How long a worker waits before asking again when told to wait.
pub const ASK_AGAIN: Duration = Duration::from_millis(100);
/// A worker gives up when no coordinator replica has answered for this long.
pub const GIVE_UP: Duration = Duration::from_secs(30);
/// How many times a reducer asks for one map's output before reporting it missing.
pub const FETCH_TRIES: u32 = 3;

/// What a worker needs to know.
pub struct WorkerConfig {
    /// The coordinator's replicas.
    pub coordinator: Vec<String>,
    pub job: Arc<dyn Job + Send>,
    pub inputs: Arc<Vec<Input>>,
    /// The input's splits: map task `m` reads `splits[m]`.
    pub splits: Arc<Vec<Split>>,
    pub reduces: usize,
    /// The job's store: a directory every worker writes its reduce outputs into.
    pub store: PathBuf,
    pub cluster_key: ClusterKey,
    /// Each task takes at least this long (a model of bigger splits, for the demo and
    /// the benchmark), times `slowdown` (a straggler: 10).
    pub task_time: Duration,
    pub slowdown: u32,
}

impl std::fmt::Debug for WorkerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerConfig")
            .field("coordinator", &self.coordinator)
            .field("job", &self.job.name())
            .field("maps", &self.splits.len())
            .field("reduces", &self.reduces)
            .finish()
    }
}

/// Map outputs held by this worker, by map task.
type Held = Arc<Mutex<BTreeMap<usize, Buckets>>>;

/// Runs a worker on `listener` until the job is done (`Ok`), `shutdown` resolves, or the
/// coordinator cannot be reached for [`GIVE_UP`].
pub async fn run(
    listener: tokio::net::TcpListener,
    config: WorkerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    config
        .cluster_key
        .check_bind(addr)
        .map_err(anyhow::Error::msg)?;
    let name = format!("http://{addr}#{:016x}", fastrand::u64(..));
    let held: Held = Arc::default();
    let server = axum::serve(listener, app(held.clone(), config.cluster_key.clone()))
        .with_graceful_shutdown(shutdown);
    tokio::select! {
        served = server => served.map_err(anyhow::Error::from),
        worked = work(name, config, held) => worked,
        () = parent_gone() => anyhow::bail!("the process that started this worker is gone"),
    }
}

/// Resolves once the process that started this one has ended (the worker was given
/// to another parent): a worker started by a demo or a benchmark that was killed does
/// not wait out [`GIVE_UP`] on its own.
async fn parent_gone() {
    let parent = std::os::unix::process::parent_id();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if std::os::unix::process::parent_id() != parent {
            return;
        }
    }
}

/// The worker's routes: its held map outputs, for reducers.
pub fn app(held: Held, cluster_key: ClusterKey) -> Router {
    let internal = Router::new()
        .route("/internal/intermediate/{map}/{reduce}", get(intermediate))
        .layer(axum::middleware::from_fn_with_state(
            cluster_key,
            require_cluster_key,
        ));
    Router::new()
        .route(
            "/health",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .merge(internal)
        .fallback(plumbing::api::no_route::<ApiError>)
        .method_not_allowed_fallback(plumbing::api::method_not_allowed::<ApiError>)
        .with_state(held)
}

async fn intermediate(
    State(held): State<Held>,
    Path((map, reduce)): Path<(String, String)>,
) -> Result<Json<Vec<Pair>>, ApiError> {
    let number = |text: &str, what: &str| {
        text.parse::<usize>().map_err(|_| {
            ApiError::InvalidKey(format!(
                "a {what} task's number is 0, 1, 2, ...; got {text:?}"
            ))
        })
    };
    let (map, reduce) = (number(&map, "map")?, number(&reduce, "reduce")?);
    let held = held.lock().unwrap_or_else(PoisonError::into_inner);
    match held.get(&map).and_then(|buckets| buckets.get(reduce)) {
        Some(pairs) => Ok(Json(pairs.clone())),
        None => Err(ApiError::NotFound {
            key: format!("map {map}'s output for reduce {reduce}"),
        }),
    }
}

/// The address a worker named `worker` serves its map outputs at.
pub fn url_of(worker: &str) -> &str {
    worker.split_once('#').map_or(worker, |(url, _)| url)
}

struct Worker {
    name: WorkerId,
    config: WorkerConfig,
    held: Held,
    client: reqwest::Client,
    hint: AtomicUsize,
}

async fn work(name: WorkerId, config: WorkerConfig, held: Held) -> anyhow::Result<()> {
    let client = plumbing::cluster_key::peer_client(Duration::from_secs(5), &config.cluster_key)?;
    let worker = Arc::new(Worker {
        name,
        config,
        held,
        client,
        hint: AtomicUsize::new(0),
    });
    loop {
        let call = WorkerCall {
            worker: worker.name.clone(),
        };
        let assignment: Assignment = worker.call("task", &call).await?;
        match assignment {
            Assignment::Map { task, attempt } => worker.clone().map(task, attempt).await?,
            Assignment::Reduce {
                task,
                attempt,
                sources,
            } => worker.clone().reduce(task, attempt, sources).await?,
            Assignment::Wait => tokio::time::sleep(ASK_AGAIN).await,
            Assignment::Exit => return Ok(()),
        }
    }
}

impl Worker {
    /// Calls `route` on the coordinator's leader until one answers.
    async fn call<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        route: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        let since = Instant::now();
        loop {
            let answered = to_leader(&self.config.coordinator, &self.hint, |url| {
                self.client
                    .post(format!("{url}/internal/{route}"))
                    .json(body)
            })
            .await;
            match answered {
                Answered::Ok(value) => return Ok(value),
                Answered::Error(status, body) => {
                    anyhow::bail!("the coordinator refused /internal/{route}: {status} {body:?}")
                }
                Answered::NoLeader(why) if since.elapsed() > GIVE_UP => {
                    anyhow::bail!("no coordinator replica answered for {GIVE_UP:?}: {why}")
                }
                Answered::NoLeader(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Says it is alive every [`HEARTBEAT`] until dropped.
    fn heartbeats(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let worker = self.clone();
        tokio::spawn(async move {
            let call = WorkerCall {
                worker: worker.name.clone(),
            };
            loop {
                tokio::time::sleep(HEARTBEAT).await;
                let _: anyhow::Result<serde_json::Value> = worker.call("heartbeat", &call).await;
            }
        })
    }

    /// Waits until a task started at `started` has taken its modelled time.
    async fn take_time(&self, started: Instant) {
        let want = self.config.task_time * self.config.slowdown.max(1);
        if let Some(left) = want.checked_sub(started.elapsed()) {
            tokio::time::sleep(left).await;
        }
    }

    async fn report(
        &self,
        task: TaskId,
        attempt: AttemptId,
        outcome: Outcome,
    ) -> anyhow::Result<()> {
        let call = ReportCall {
            worker: self.name.clone(),
            report: Report {
                task,
                attempt,
                outcome,
            },
        };
        let _: Verdict = self.call("report", &call).await?;
        Ok(())
    }

    async fn map(self: Arc<Self>, task: usize, attempt: AttemptId) -> anyhow::Result<()> {
        let Some(&split) = self.config.splits.get(task) else {
            anyhow::bail!(
                "the coordinator asked for map {task}, but this worker's input has {} splits: \
                 are the coordinator and the workers started with the same input and split size?",
                self.config.splits.len()
            );
        };
        let beating = self.heartbeats();
        let started = Instant::now();
        let (job, inputs, reduces) = (
            self.config.job.clone(),
            self.config.inputs.clone(),
            self.config.reduces,
        );
        let buckets =
            tokio::task::spawn_blocking(move || run_map(job.as_ref(), &inputs, split, reduces))
                .await?;
        self.take_time(started).await;
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(task, buckets);
        beating.abort();
        self.report(TaskId::map(task), attempt, Outcome::Finished)
            .await
    }

    async fn reduce(
        self: Arc<Self>,
        task: usize,
        attempt: AttemptId,
        sources: Vec<WorkerId>,
    ) -> anyhow::Result<()> {
        let beating = self.heartbeats();
        let started = Instant::now();
        let mut column = Vec::with_capacity(sources.len());
        for (map, source) in sources.iter().enumerate() {
            match self.fetch(source, map, task).await {
                Some(pairs) => column.push(pairs),
                None => {
                    beating.abort();
                    let missing = Outcome::OutputMissing {
                        map,
                        at: source.clone(),
                    };
                    return self.report(TaskId::reduce(task), attempt, missing).await;
                }
            }
        }
        let job = self.config.job.clone();
        let text = tokio::task::spawn_blocking(move || run_reduce(job.as_ref(), &column)).await?;
        self.take_time(started).await;
        let (store, name) = (
            self.config.store.clone(),
            format!("mr-out-{task}.{attempt}"),
        );
        tokio::task::spawn_blocking(move || {
            plumbing::disk::write_atomically(
                &plumbing::disk::RealDisk,
                &store,
                &name,
                text.as_bytes(),
            )
        })
        .await??;
        beating.abort();
        self.report(TaskId::reduce(task), attempt, Outcome::Finished)
            .await
    }

    /// Map `map`'s pairs for reduce `reduce`, from the worker that holds them; `None`
    /// once it has failed [`FETCH_TRIES`] times or says it has none.
    async fn fetch(&self, source: &str, map: usize, reduce: usize) -> Option<Vec<Pair>> {
        if source.is_empty() {
            return None; // the map is not done (its output was lost since): nowhere to ask
        }
        let url = format!("{}/internal/intermediate/{map}/{reduce}", url_of(source));
        for _ in 0..FETCH_TRIES {
            match self.client.get(&url).send().await {
                Ok(response) if response.status().is_success() => {
                    if let Ok(pairs) = response.json().await {
                        return Some(pairs);
                    }
                }
                Ok(response) if response.status() == reqwest::StatusCode::NOT_FOUND => {
                    return None;
                }
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }
}
