//! `chapter8 demo`: a job on the live page, with buttons to break it.
//!
//! The coordinator's three replicas run in this process (your code, unless built with
//! `--features solution`), behind the harness's proxies ([`crate::system`]); the workers
//! are child processes of this binary, one of them five times slower than the others
//! (so backups have something to do). The page (`demo/page.html`, served from the
//! binary) polls `GET /api/state` and draws the replicas and the workers as cards and the
//! job as a timeline: one row per worker, one bar per attempt, coloured by how it ended,
//! backups marked. Its buttons call the routes below.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /`, `GET /api/state` | the page; what it draws, as JSON ([`Frame`]) |
//! | `POST /api/replicas/{i}/crash`, `/restart` | crash (as `kill -9` would) or restart replica `i` |
//! | `POST /api/leader/crash` | crash the replica that leads now |
//! | `POST /api/workers/{i}/crash`, `/restart` | SIGKILL worker `i`; start it again (a new worker) |
//! | `POST /api/job/new` | a new job: a fresh coordinator and fresh workers |

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::response::Html;
use axum::routing::{get, post};
use axum::{Json, Router};
use harness::cluster::Cluster;
use serde::{Deserialize, Serialize};

use crate::coordinator::Spec;
use crate::job::Input;
use crate::jobs::WordCount;
use crate::machine::JobState;
use crate::raft::Timing;
use crate::server::now_ms;
use crate::{sequential, split, system};

/// About how many bytes one map reads.
const SPLIT_BYTES: usize = 2048;
const REDUCES: usize = 4;
/// A worker silent for this long is lost: long enough to see on the page.
const WORKER_TIMEOUT: u64 = 1_500;
/// Worker 0 runs this many times slower than the others.
const SLOWDOWN: u32 = 5;

/// What to run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where to serve the page (loopback only).
    pub addr: SocketAddr,
    pub workers: usize,
    /// How long one task takes (at least), so that a person can watch.
    pub task_ms: u64,
    /// Seeds the replicas' election timers.
    pub seed: u64,
}

/// One replica as the page draws it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReplicaView {
    /// `leader`, `follower`, `candidate`, or `down`.
    pub role: String,
    pub term: u64,
}

/// One worker as the page draws it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WorkerView {
    /// The address it serves at: the start of its name in the coordinator's timeline.
    pub url: String,
    /// `running`, `exited` (told the job was done) or `crashed`.
    pub state: String,
    /// How many times slower it runs.
    pub slowdown: u32,
}

/// What the page draws.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Frame {
    /// The job's number since the demo started.
    pub job: u64,
    /// When the job's workers started (ms since the Unix epoch), and now.
    pub started_ms: u64,
    pub now_ms: u64,
    pub spec: Option<Spec>,
    /// The job's state as the coordinator's leader last answered it.
    pub state: Option<JobState>,
    /// Once done: whether the committed output equals a run on one thread.
    pub output_equal: Option<bool>,
    pub replicas: Vec<ReplicaView>,
    pub workers: Vec<WorkerView>,
    /// What the buttons did, newest last.
    pub log: Vec<String>,
}

struct Worker {
    addr: SocketAddr,
    child: Option<tokio::process::Child>,
    slowdown: u32,
    crashed: bool,
}

/// A job and everything it runs on.
struct Job {
    number: u64,
    cluster: Cluster,
    servers: Vec<String>,
    workers: Vec<Worker>,
    store: tempfile::TempDir,
    started_ms: u64,
    spec: Spec,
}

struct Demo {
    options: DemoOptions,
    input: PathBuf,
    expected: Vec<String>,
    maps: usize,
    job: tokio::sync::Mutex<Job>,
    frame: Mutex<Frame>,
    client: reqwest::Client,
}

/// A small corpus: a few files of words, cut into about a dozen maps.
fn corpus() -> Vec<Input> {
    let words = [
        "map",
        "reduce",
        "worker",
        "task",
        "attempt",
        "commit",
        "leader",
        "log",
        "split",
        "bucket",
        "backup",
        "straggler",
        "crash",
        "replica",
        "term",
        "vote",
    ];
    let mut rng = fastrand::Rng::with_seed(8);
    (0..4)
        .map(|f| {
            let mut text = String::new();
            while text.len() < 3 * SPLIT_BYTES {
                for _ in 0..rng.usize(3..10) {
                    text.push_str(words[rng.usize(..words.len())]);
                    text.push(' ');
                }
                text.push('\n');
            }
            Input::new(format!("part-{f}.txt"), text)
        })
        .collect()
}

/// Runs the demo until Ctrl-C: prints the page's address, serves it, runs jobs.
pub async fn run(options: DemoOptions) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("input");
    let inputs = corpus();
    system::write_inputs(&input, &inputs)?;
    let maps = split(&inputs, SPLIT_BYTES).len();
    let expected = sequential(&WordCount, &inputs, SPLIT_BYTES, REDUCES);
    let job = start_job(&options, &input, maps, 1).await?;
    let demo = Arc::new(Demo {
        options: options.clone(),
        input,
        expected,
        maps,
        job: tokio::sync::Mutex::new(job),
        frame: Mutex::new(Frame::default()),
        client: plumbing::http::client(Duration::from_millis(500))?,
    });
    tokio::spawn(observe(demo.clone()));
    let listener = tokio::net::TcpListener::bind(options.addr).await?;
    anyhow::ensure!(
        listener.local_addr()?.ip().is_loopback(),
        "the demo's page serves loopback only"
    );
    println!("live cluster: http://{}/", listener.local_addr()?);
    let app = Router::new()
        .route("/", get(|| async { Html(include_str!("demo/page.html")) }))
        .route("/api/state", get(state))
        .route("/api/replicas/{i}/{what}", post(replica))
        .route("/api/leader/crash", post(crash_leader))
        .route("/api/workers/{i}/{what}", post(worker))
        .route("/api/job/new", post(new_job))
        .with_state(demo);
    axum::serve(listener, app)
        .with_graceful_shutdown(plumbing::api::shutdown_signal())
        .await?;
    Ok(())
}

/// A fresh coordinator and fresh workers for job `number`.
async fn start_job(
    options: &DemoOptions,
    input: &Path,
    maps: usize,
    number: u64,
) -> anyhow::Result<Job> {
    let spec = Spec {
        maps,
        reduces: REDUCES,
        worker_timeout: WORKER_TIMEOUT,
        backups: true,
    };
    let cluster = system::start(spec, Timing::FAST, options.seed + number)?;
    let servers = system::servers(&cluster);
    let mut job = Job {
        number,
        cluster,
        servers,
        workers: Vec::new(),
        store: tempfile::tempdir()?,
        started_ms: now_ms(),
        spec,
    };
    for w in 0..options.workers {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let slowdown = if w == 0 { SLOWDOWN } else { 1 };
        let mut worker = Worker {
            addr,
            child: None,
            slowdown,
            crashed: false,
        };
        spawn(&mut worker, &job, options, input)?;
        job.workers.push(worker);
    }
    Ok(job)
}

/// Starts `worker`'s process (again).
fn spawn(
    worker: &mut Worker,
    job: &Job,
    options: &DemoOptions,
    input: &Path,
) -> anyhow::Result<()> {
    let key = job
        .cluster
        .cluster_key()
        .expose()
        .unwrap_or_default()
        .to_string();
    let child = system::WorkerProcess {
        servers: &job.servers,
        input,
        split_bytes: SPLIT_BYTES,
        reduces: REDUCES,
        job: "wordcount",
        store: job.store.path(),
        task_ms: options.task_ms,
        slowdown: worker.slowdown,
        addr: Some(worker.addr),
        cluster_key: &key,
    }
    .spawn()?;
    worker.child = Some(child);
    worker.crashed = false;
    Ok(())
}

/// Every 200 ms: the replicas' roles, the workers' processes, the job's state.
async fn observe(demo: Arc<Demo>) {
    let mut every = tokio::time::interval(Duration::from_millis(200));
    let hint = std::sync::atomic::AtomicUsize::new(0);
    loop {
        every.tick().await;
        let mut job = demo.job.lock().await;
        let mut replicas = Vec::new();
        for i in 0..job.cluster.len() {
            let url = format!("{}/status", job.cluster.direct_url(i));
            let status = match demo.client.get(url).send().await {
                Ok(r) => r.json::<serde_json::Value>().await.unwrap_or_default(),
                Err(_) => serde_json::Value::Null,
            };
            replicas.push(ReplicaView {
                role: status["role"].as_str().unwrap_or("down").to_string(),
                term: status["term"].as_u64().unwrap_or(0),
            });
        }
        let workers = job
            .workers
            .iter_mut()
            .map(|w| {
                let exited = w
                    .child
                    .as_mut()
                    .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
                let state = match (w.crashed, exited) {
                    (true, _) => "crashed",
                    (false, true) => "exited",
                    (false, false) => "running",
                };
                WorkerView {
                    url: format!("http://{}", w.addr),
                    state: state.into(),
                    slowdown: w.slowdown,
                }
            })
            .collect();
        let state = system::job_state(&demo.client, &job.servers, &hint)
            .await
            .ok();
        let mut frame = demo.frame.lock().unwrap_or_else(PoisonError::into_inner);
        if frame.job != job.number {
            *frame = Frame {
                job: job.number,
                log: std::mem::take(&mut frame.log),
                ..Frame::default()
            };
        }
        if let Some(state) = &state
            && state.done
            && frame.output_equal.is_none()
        {
            let outputs = system::committed_outputs(job.store.path(), state).ok();
            frame.output_equal = Some(outputs.as_deref() == Some(&demo.expected[..]));
        }
        frame.started_ms = job.started_ms;
        frame.now_ms = now_ms();
        frame.spec = Some(job.spec);
        frame.replicas = replicas;
        frame.workers = workers;
        if state.is_some() {
            frame.state = state;
        }
    }
}

fn note(demo: &Demo, line: String) {
    let mut frame = demo.frame.lock().unwrap_or_else(PoisonError::into_inner);
    frame.log.push(line);
    let excess = frame.log.len().saturating_sub(20);
    frame.log.drain(..excess);
}

async fn state(State(demo): State<Arc<Demo>>) -> Json<Frame> {
    Json(
        demo.frame
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone(),
    )
}

type Answer = Result<Json<String>, (axum::http::StatusCode, Json<serde_json::Value>)>;

/// A button's request that cannot be done, as a JSON error.
fn refuse(why: impl std::fmt::Display) -> (axum::http::StatusCode, Json<serde_json::Value>) {
    (
        axum::http::StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "error": "bad_request", "message": why.to_string() })),
    )
}

async fn replica(
    State(demo): State<Arc<Demo>>,
    UrlPath((i, what)): UrlPath<(usize, String)>,
) -> Answer {
    let mut job = demo.job.lock().await;
    if i >= job.cluster.len() {
        return Err(refuse(format!("there is no replica {i}")));
    }
    let line = match what.as_str() {
        "crash" => {
            job.cluster.kill(i);
            format!("replica {i} crashed")
        }
        "restart" => {
            job.cluster.restart(i).await.map_err(refuse)?;
            format!("replica {i} restarted")
        }
        _ => return Err(refuse(format!("{what:?}: crash or restart"))),
    };
    note(&demo, line.clone());
    Ok(Json(line))
}

async fn crash_leader(State(demo): State<Arc<Demo>>) -> Answer {
    let leader = {
        let frame = demo.frame.lock().unwrap_or_else(PoisonError::into_inner);
        frame.replicas.iter().position(|r| r.role == "leader")
    };
    let Some(i) = leader else {
        return Err(refuse("no replica leads right now"));
    };
    demo.job.lock().await.cluster.kill(i);
    let line = format!("replica {i}, the leader, crashed");
    note(&demo, line.clone());
    Ok(Json(line))
}

async fn worker(
    State(demo): State<Arc<Demo>>,
    UrlPath((i, what)): UrlPath<(usize, String)>,
) -> Answer {
    let mut job = demo.job.lock().await;
    let job = &mut *job;
    let Some(worker) = job.workers.get_mut(i) else {
        return Err(refuse(format!("there is no worker {i}")));
    };
    let line = match what.as_str() {
        "crash" => {
            if let Some(mut child) = worker.child.take() {
                let _ = child.start_kill();
            }
            worker.crashed = true;
            format!("worker {i} killed (SIGKILL)")
        }
        "restart" => {
            if let Some(mut child) = worker.child.take() {
                let _ = child.start_kill();
            }
            let mut restarted = Worker {
                addr: worker.addr,
                child: None,
                slowdown: worker.slowdown,
                crashed: false,
            };
            spawn(&mut restarted, job, &demo.options, &demo.input).map_err(refuse)?;
            job.workers[i] = restarted;
            format!("worker {i} started again, as a new worker")
        }
        _ => return Err(refuse(format!("{what:?}: crash or restart"))),
    };
    note(&demo, line.clone());
    Ok(Json(line))
}

async fn new_job(State(demo): State<Arc<Demo>>) -> Answer {
    let mut job = demo.job.lock().await;
    let number = job.number + 1;
    for worker in &mut job.workers {
        if let Some(mut child) = worker.child.take() {
            let _ = child.start_kill();
        }
    }
    let _ = job.cluster.stop_all().await;
    *job = start_job(&demo.options, &demo.input, demo.maps, number)
        .await
        .map_err(refuse)?;
    let line = format!("job {number} started");
    note(&demo, line.clone());
    Ok(Json(line))
}
