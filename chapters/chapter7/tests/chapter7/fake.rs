//! A fake store over HTTP for the controller's tests (exercises 7.8 and 7.9): the
//! service's and the groups' machines of a [`World`] (no Raft, no confirmation: each an
//! atomic machine) behind the internal routes a controller calls, with the faults a test
//! sets (a proposal's answer lost, a competitor's proposal slipped in first, a group
//! that does not answer for a while) and every request heard, in order, with its time.
//! Nothing here depends on exercise 7.7's request path, so 7.8's tests need only 7.1 to
//! 7.8.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chapter7::controller::Controller;
use chapter7::{Change, GroupId, GroupOp, GroupReply, ServiceOp, ServiceReply};
use plumbing::cluster_key::ClusterKey;
use serde_json::json;

use crate::common::World;

/// One request the fake heard.
#[derive(Debug, Clone)]
pub struct Heard {
    pub at: Instant,
    /// The group it went to; `None` for the service.
    pub group: Option<GroupId>,
    pub op: String,
    /// Its body's size in bytes.
    pub bytes: usize,
    /// Whether it was applied (and answered, unless the answer was lost).
    pub applied: bool,
}

/// What the fake does wrong, as the test sets it.
#[derive(Debug, Default)]
pub struct Faults {
    /// This many proposals are applied and answered `504 timeout` (the answer lost).
    pub lose_proposals: usize,
    /// Proposed (by "another controller") just before the next proposal is applied.
    pub competitor: Option<Change>,
    /// This group answers `503 unavailable` to every step until this instant.
    pub silent: Option<(GroupId, Instant)>,
    /// The `Stage` steps heard, counted from 1, that are dropped: answered `503
    /// unavailable` and not applied (a request lost on its way).
    pub drop_stages: Vec<usize>,
}

#[derive(Debug)]
pub struct Inner {
    pub world: World,
    pub faults: Faults,
    pub heard: Vec<Heard>,
}

/// The fake, serving on loopback until dropped.
pub struct Fake {
    pub url: String,
    pub inner: Arc<Mutex<Inner>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Fake {
    /// A fake of groups `ids` (none joined yet), serving on a free loopback port.
    pub async fn start(ids: &[GroupId]) -> Fake {
        let inner = Arc::new(Mutex::new(Inner {
            world: World::new(ids),
            faults: Faults::default(),
            heard: Vec::new(),
        }));
        let app = Router::new()
            .route("/service/internal/service", post(service))
            .route("/g/{group}/internal/group", post(group))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the fake serves");
        });
        Fake { url, inner, server }
    }

    /// `Join` of groups `ids`, each at its route of this fake.
    pub fn join(&self, ids: &[GroupId]) -> Change {
        Change::Join(
            ids.iter()
                .map(|&g| (g, vec![format!("{}/g/{g}", self.url)]))
                .collect(),
        )
    }

    /// A controller of this fake, giving up on a change after `deadline`.
    pub fn controller(&self, deadline: Duration) -> Controller {
        Controller::new(
            &[format!("{}/service", self.url)],
            &ClusterKey::none(),
            deadline,
        )
        .expect("building a controller")
    }

    /// Runs `f` on the fake's state.
    pub fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().expect("the fake's lock"))
    }

    /// Every request heard so far.
    pub fn heard(&self) -> Vec<Heard> {
        self.with(|inner| inner.heard.clone())
    }

    /// The requests heard so far, one line each, for a failure's message.
    pub fn transcript(&self) -> String {
        self.with(|inner| inner.transcript())
    }
}

impl Inner {
    /// The requests heard so far, one line each (for a message built under the lock).
    pub fn transcript(&self) -> String {
        let Some(first) = self.heard.first().map(|h| h.at) else {
            return "  (nothing)".into();
        };
        self.heard
            .iter()
            .map(|h| {
                format!(
                    "  {:>6} ms  {:<9} {}{}",
                    h.at.duration_since(first).as_millis(),
                    h.group
                        .map_or("service".to_string(), |g| format!("group {g}")),
                    h.op,
                    if h.applied { "" } else { " (not answered)" }
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": code, "message": message})),
    )
        .into_response()
}

fn describe_service(op: &ServiceOp) -> String {
    match op {
        ServiceOp::Query { num } => format!("query {num:?}"),
        ServiceOp::Propose { base, change } => format!("propose on {base}: {change:?}"),
        ServiceOp::Finish { num } => format!("finish {num}"),
    }
}

fn describe_group(op: &GroupOp) -> String {
    match op {
        GroupOp::Freeze { shard, num } => format!("freeze shard {shard} for {num}"),
        GroupOp::Stage { shard, num, piece } => {
            format!("stage shard {shard} for {num} ({} keys)", piece.kv.len())
        }
        GroupOp::Install { shard, num, data } => {
            format!("install shard {shard} for {num} ({} keys)", data.kv.len())
        }
        GroupOp::Delete { shard, num } => format!("delete shard {shard} for {num}"),
        GroupOp::Client(command) => format!("client {command:?}"),
    }
}

async fn service(State(inner): State<Arc<Mutex<Inner>>>, body: String) -> Response {
    let Ok(op) = serde_json::from_str::<ServiceOp>(&body) else {
        return error(StatusCode::BAD_REQUEST, "invalid_body", "not a ServiceOp");
    };
    let mut inner = inner.lock().expect("the fake's lock");
    if let ServiceOp::Propose { .. } = op
        && let Some(change) = inner.faults.competitor.take()
    {
        let base = inner.world.service.latest().num;
        let theirs = ServiceOp::Propose { base, change };
        let reply = inner.world.service.apply(&theirs);
        assert!(
            matches!(reply, ServiceReply::Proposed(_)),
            "the competitor's change is valid: {reply:?}"
        );
    }
    let reply = inner.world.service.apply(&op);
    let lost = matches!(op, ServiceOp::Propose { .. }) && inner.faults.lose_proposals > 0;
    inner.heard.push(Heard {
        at: Instant::now(),
        group: None,
        op: describe_service(&op) + if lost { " (answer lost)" } else { "" },
        bytes: body.len(),
        applied: true,
    });
    if lost {
        inner.faults.lose_proposals -= 1;
        return error(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            "the answer was lost (the fake's fault)",
        );
    }
    axum::Json(reply).into_response()
}

async fn group(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(group): Path<GroupId>,
    body: String,
) -> Response {
    let Ok(op) = serde_json::from_str::<GroupOp>(&body) else {
        return error(StatusCode::BAD_REQUEST, "invalid_body", "not a GroupOp");
    };
    let mut inner = inner.lock().expect("the fake's lock");
    let stages = 1 + inner
        .heard
        .iter()
        .filter(|h| h.op.starts_with("stage"))
        .count();
    let dropped = matches!(op, GroupOp::Stage { .. }) && inner.faults.drop_stages.contains(&stages);
    let silent = dropped
        || inner
            .faults
            .silent
            .is_some_and(|(g, until)| g == group && Instant::now() < until);
    inner.heard.push(Heard {
        at: Instant::now(),
        group: Some(group),
        op: describe_group(&op),
        bytes: body.len(),
        applied: !silent,
    });
    if silent {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "no leader now (the fake's fault)",
        );
    }
    match inner.world.group(group, op) {
        GroupReply::Refused { shard, num, now } => error(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            &format!("refused: a step of {num} does not fit shard {shard}, {now:?} here"),
        ),
        reply => axum::Json(reply).into_response(),
    }
}
