//! The HTTP server of one coordinator replica: chapter 6's node (carried unchanged, in
//! `node.rs`) applying this chapter's machine, under the workers' routes.
//!
//! ```text
//! POST /internal/task       {"worker"}            200 Assignment
//! POST /internal/heartbeat  {"worker"}            200 {}
//! POST /internal/report     {"worker", "report"}  200 Verdict
//! POST /internal/raft       Batch                 202 (chapter 6's messages)
//!      (the four need the cluster's key: x-cluster-key)
//! GET  /job                                       200 JobState (through the log)
//! GET  /health, /status                           as in chapter 6
//! errors: chapter 6's ErrorBody; a follower answers 421 not_leader.
//! ```
//!
//! Every worker call becomes one entry of the replica's log ([`Command`]), stamped with
//! the time on this replica, which is the leader's (only a leader proposes). While it
//! leads, a replica also proposes the passing of time every [`TICK`], and once, when it
//! becomes leader, that it took over: the coordinator's timeouts run on the log, so every
//! replica agrees on which worker was lost and when.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{BoxError, Json, Router};
use plumbing::cluster_key::{ClusterKey, require_cluster_key};
use plumbing::json_body::Shape;
use plumbing::limits::shed_beyond;
use serde::{Deserialize, Serialize};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;

use crate::api::{Batch, Health, Status};
use crate::command::Command;
use crate::coordinator::{Assignment, Millis, Report, Verdict, WorkerId};
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::machine::{Applied, JobState};
use crate::node::{Config, Node};
use crate::validate::MAX_BODY_BYTES;

/// The body limit of the internal routes: chapter 6's batches of messages.
pub const MAX_INTERNAL_BODY_BYTES: usize = 16 * 1024 * 1024;
/// How many internal requests a replica reads at once; past that it answers `503`.
pub const MAX_INTERNAL_IN_FLIGHT: usize = 64;
/// How often a leading replica proposes the passing of time.
pub const TICK: Duration = Duration::from_millis(100);
/// The longest worker name a replica takes.
pub const MAX_WORKER_BYTES: usize = 256;

/// A worker's call: who it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerCall {
    pub worker: WorkerId,
}

/// A worker's report: who it is, and on which attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportCall {
    pub worker: WorkerId,
    pub report: Report,
}

/// Milliseconds since the Unix epoch, on this machine's clock.
pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// Serves the replica on `listener` until `shutdown` resolves.
pub async fn run(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let span = tracing::info_span!("coordinator", id = config.id);
    async move {
        let request_timeout = config.request_timeout;
        let cluster_key = config.cluster_key.clone();
        cluster_key
            .check_bind(listener.local_addr()?)
            .map_err(anyhow::Error::msg)?;
        let node = Node::start(config)?;
        let ticker = tokio::spawn(tick_while_leading(node.clone()));
        tracing::info!(addr = %listener.local_addr()?, "listening");
        let served = axum::serve(listener, app(node, cluster_key, request_timeout))
            .with_graceful_shutdown(shutdown)
            .await;
        ticker.abort();
        served?;
        Ok(())
    }
    .instrument(span)
    .await
}

/// While this replica leads: a `TookOver` once, then a `Tick` every [`TICK`].
async fn tick_while_leading(node: Arc<Node>) {
    let mut leading = false;
    let mut every = tokio::time::interval(TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let now_leading = node.status().role == "leader";
        if now_leading && !leading {
            // If it fails, the next round tries again: `leading` stays false.
            if node
                .execute(Command::TookOver { now: now_ms() })
                .await
                .is_err()
            {
                continue;
            }
        }
        leading = now_leading;
        if leading {
            let _ = node.execute(Command::Tick { now: now_ms() }).await;
        }
    }
}

/// The router with every route and middleware (as chapter 6's: internal routes need
/// `cluster_key`, bodies and requests in flight are bounded, no request hangs).
pub fn app(node: Arc<Node>, cluster_key: ClusterKey, request_timeout: Duration) -> Router {
    let internal = Router::new()
        .route("/internal/raft", post(raft))
        .route("/internal/task", post(task))
        .route("/internal/heartbeat", post(heartbeat))
        .route("/internal/report", post(report))
        .layer(DefaultBodyLimit::max(MAX_INTERNAL_BODY_BYTES))
        .layer(shed_beyond(MAX_INTERNAL_IN_FLIGHT))
        .layer(axum::middleware::from_fn_with_state(
            cluster_key,
            require_cluster_key,
        ));
    let public = Router::new()
        .route("/job", get(job))
        .route("/health", get(health))
        .route("/status", get(status))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    public
        .merge(internal)
        .fallback(plumbing::api::no_route::<ApiError>)
        .method_not_allowed_fallback(plumbing::api::method_not_allowed::<ApiError>)
        .with_state(node)
        .layer(
            ServiceBuilder::new()
                .layer(CatchPanicLayer::custom(
                    plumbing::api::panic_response::<ApiError>,
                ))
                .layer(HandleErrorLayer::new(move |_: BoxError| async move {
                    ApiError::Timeout(request_timeout)
                }))
                .timeout(request_timeout),
        )
        // Outermost: a refusal anywhere inside reads the rest of the body first.
        .layer(axum::middleware::from_fn(
            plumbing::keep_alive::drain_unread_body,
        ))
}

fn checked(worker: &str) -> Result<(), ApiError> {
    if worker.is_empty() || worker.len() > MAX_WORKER_BYTES {
        return Err(ApiError::InvalidBody(format!(
            "a worker's name is 1 to {MAX_WORKER_BYTES} bytes; got {} bytes",
            worker.len()
        )));
    }
    Ok(())
}

/// Runs `command` through the log; anything but `want` is this replica's bug.
async fn run_command<T>(
    node: &Node,
    command: Command,
    want: impl FnOnce(Applied) -> Option<T>,
) -> Result<T, ApiError> {
    let applied = node.execute(command).await?;
    let described = format!("{applied:?}");
    want(applied).ok_or_else(|| ApiError::Internal(format!("the log answered {described}")))
}

async fn task(
    State(node): State<Arc<Node>>,
    JsonBody(call): JsonBody<WorkerCall>,
) -> Result<Json<Assignment>, ApiError> {
    checked(&call.worker)?;
    let command = Command::Request {
        worker: call.worker,
        now: now_ms(),
    };
    let assignment = run_command(&node, command, |applied| match applied {
        Applied::Assignment(a) => Some(a),
        _ => None,
    });
    Ok(Json(assignment.await?))
}

async fn heartbeat(
    State(node): State<Arc<Node>>,
    JsonBody(call): JsonBody<WorkerCall>,
) -> Result<Json<serde_json::Value>, ApiError> {
    checked(&call.worker)?;
    let command = Command::Heartbeat {
        worker: call.worker,
        now: now_ms(),
    };
    node.execute(command).await?;
    Ok(Json(serde_json::json!({})))
}

async fn report(
    State(node): State<Arc<Node>>,
    JsonBody(call): JsonBody<ReportCall>,
) -> Result<Json<Verdict>, ApiError> {
    checked(&call.worker)?;
    if let crate::coordinator::Outcome::OutputMissing { at, .. } = &call.report.outcome
        && at.len() > MAX_WORKER_BYTES
    {
        return Err(ApiError::InvalidBody(format!(
            "a worker's name is at most {MAX_WORKER_BYTES} bytes; `at` has {}",
            at.len()
        )));
    }
    let command = Command::Report {
        worker: call.worker,
        now: now_ms(),
        report: call.report,
    };
    let verdict = run_command(&node, command, |applied| match applied {
        Applied::Verdict(v) => Some(v),
        _ => None,
    });
    Ok(Json(verdict.await?))
}

async fn job(State(node): State<Arc<Node>>) -> Result<Json<JobState>, ApiError> {
    let state = run_command(&node, Command::Query, |applied| match applied {
        Applied::Job(state) => Some(state),
        _ => None,
    });
    Ok(Json(state.await?))
}

async fn raft(
    State(node): State<Arc<Node>>,
    JsonBody(batch): JsonBody<Batch>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let accepted = node.receive(batch.envelopes).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "accepted": accepted })),
    ))
}

async fn health(State(node): State<Arc<Node>>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        id: node.id(),
    })
}

async fn status(State(node): State<Arc<Node>>) -> Json<Status> {
    Json(node.status())
}

// How each route's body is described to a sender whose body is refused.
impl Shape for WorkerCall {
    const SHAPE: &'static str = r#"{"worker": string}"#;
}

impl Shape for ReportCall {
    const SHAPE: &'static str = r#"{"worker": string, "report": {"task": {"kind": "Map"|"Reduce", "index": number}, "attempt": number, "outcome": "Finished" | {"OutputMissing": {"map": number, "at": string}}}}"#;
}
