//! The page's routes: the page itself, the state (once, or as a stream), the buttons,
//! the recording and the violation's timeline. Every failure is a JSON error.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::Stream;

use super::{Frame, Shared};

const PAGE: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/style.css");

type Shd = State<Arc<Shared>>;

/// Every route of the page.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route(
            "/app.js",
            get(|| async { asset("text/javascript", SCRIPT) }),
        )
        .route("/style.css", get(|| async { asset("text/css", STYLE) }))
        .route("/api/state", get(state))
        .route("/api/events", get(events))
        .route("/api/recording", get(recording))
        .route("/timeline", get(timeline))
        .route("/api/nodes/{i}/crash", post(crash))
        .route("/api/nodes/{i}/restart", post(restart))
        .route("/api/links/{a}/{b}/cut", post(cut))
        .route("/api/links/{a}/{b}/heal", post(heal_link))
        .route("/api/isolate-leader", post(isolate_leader))
        .route("/api/heal", post(heal))
        .route("/api/workload/pause", post(pause))
        .route("/api/workload/resume", post(resume))
        .route("/api/actions/{i}", post(action))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such page or route".into(),
            )
        })
        .with_state(shared)
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

/// A JSON error, as every route answers a failure.
fn error(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": code, "message": message })),
    )
        .into_response()
}

/// A request the routes refuse, answered as [`error`].
struct Refused(StatusCode, &'static str, String);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        error(self.0, self.1, self.2)
    }
}

/// What a button's route answers: what it did, and the frame it will show in.
fn done(text: String) -> Response {
    Json(serde_json::json!({ "ok": true, "message": text })).into_response()
}

async fn state(State(shared): Shd) -> Json<Frame> {
    Json((*shared.latest()).clone())
}

/// Every new frame, as it is made; a comment every 10 s keeps idle proxies from closing
/// the stream.
async fn events(State(shared): Shd) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let frames = shared.frame.subscribe();
    // The current frame at once, then each new one.
    let stream = futures_util::stream::unfold((frames, true), |(mut frames, first)| async move {
        if !first && frames.changed().await.is_err() {
            return None;
        }
        let frame = Arc::clone(&frames.borrow_and_update());
        let data = serde_json::to_string(&*frame).unwrap_or_default();
        Some((Ok(SseEvent::default().data(data)), (frames, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
}

async fn recording(State(shared): Shd) -> Response {
    let file = shared.saved();
    (
        [(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"live-cluster-recording.json\"",
        )],
        Json(file),
    )
        .into_response()
}

async fn timeline(State(shared): Shd) -> Response {
    match shared.workload.timeline() {
        Some(page) => Html(page).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "no_violation",
            "every history checked so far is linearizable: there is no timeline to show".into(),
        ),
    }
}

/// Node `i` (as the path spells it), if there is one.
fn node(shared: &Shared, i: &str) -> Result<usize, Refused> {
    let Ok(i) = i.parse::<usize>() else {
        return Err(Refused(
            StatusCode::BAD_REQUEST,
            "not_a_node",
            format!("{i:?} is not a node number"),
        ));
    };
    if i < shared.options.nodes {
        Ok(i)
    } else {
        Err(Refused(
            StatusCode::NOT_FOUND,
            "no_such_node",
            format!(
                "there is no node {i}: the nodes are 0 to {}",
                shared.options.nodes - 1
            ),
        ))
    }
}

async fn crash(State(shared): Shd, Path(i): Path<String>) -> Response {
    let i = match node(&shared, &i) {
        Ok(i) => i,
        Err(e) => return e.into_response(),
    };
    let mut cluster = shared.cluster.lock().await;
    if !shared.running[i].swap(false, Ordering::SeqCst) {
        return error(
            StatusCode::CONFLICT,
            "already_crashed",
            format!("node {i} is already down"),
        );
    }
    cluster.kill(i);
    let text = format!("node {i} crashed (its unsynced writes are gone, its disk stays)");
    shared.event("crash", text.clone());
    done(text)
}

async fn restart(State(shared): Shd, Path(i): Path<String>) -> Response {
    let i = match node(&shared, &i) {
        Ok(i) => i,
        Err(e) => return e.into_response(),
    };
    let mut cluster = shared.cluster.lock().await;
    if shared.running[i].load(Ordering::SeqCst) {
        return error(
            StatusCode::CONFLICT,
            "running",
            format!("node {i} is running"),
        );
    }
    if let Err(e) = cluster.restart(i).await {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "restart_failed",
            format!("node {i} could not restart: {e:#}"),
        );
    }
    shared.running[i].store(true, Ordering::SeqCst);
    let text = format!("node {i} restarted from its disk");
    shared.event("restart", text.clone());
    done(text)
}

/// The pair `a`, `b`, if both exist and differ.
fn pair(shared: &Shared, a: &str, b: &str) -> Result<(usize, usize), Refused> {
    let (a, b) = (node(shared, a)?, node(shared, b)?);
    if a == b {
        return Err(Refused(
            StatusCode::BAD_REQUEST,
            "same_node",
            format!("a link joins two nodes; {a} and {b} are one"),
        ));
    }
    Ok((a.min(b), a.max(b)))
}

async fn cut(State(shared): Shd, Path((a, b)): Path<(String, String)>) -> Response {
    let (a, b) = match pair(&shared, &a, &b) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let cluster = shared.cluster.lock().await;
    cluster.cut(a, b);
    cluster.cut(b, a);
    let text = format!("cut the link between nodes {a} and {b}");
    shared.event("cut", text.clone());
    done(text)
}

async fn heal_link(State(shared): Shd, Path((a, b)): Path<(String, String)>) -> Response {
    let (a, b) = match pair(&shared, &a, &b) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let cluster = shared.cluster.lock().await;
    cluster.heal_link(a, b);
    cluster.heal_link(b, a);
    let text = format!("healed the link between nodes {a} and {b}");
    shared.event("heal", text.clone());
    done(text)
}

async fn isolate_leader(State(shared): Shd) -> Response {
    let Some(leader) = shared.latest().leader else {
        return error(
            StatusCode::CONFLICT,
            "no_leader",
            "no node leads right now: there is nobody to isolate".into(),
        );
    };
    let cluster = shared.cluster.lock().await;
    for other in (0..shared.options.nodes).filter(|&o| o != leader) {
        cluster.cut(leader, other);
        cluster.cut(other, leader);
    }
    let text = format!("isolated the leader, node {leader}, from every other node");
    shared.event("isolate", text.clone());
    done(text)
}

async fn heal(State(shared): Shd) -> Response {
    shared.cluster.lock().await.heal();
    let text = "healed every link".to_string();
    shared.event("heal", text.clone());
    done(text)
}

async fn pause(State(shared): Shd) -> Response {
    if shared.workload.set_paused(true) {
        shared.event("pause", "paused the workload".into());
    }
    done("the workload is paused".into())
}

async fn resume(State(shared): Shd) -> Response {
    if shared.workload.set_paused(false) {
        shared.event("resume", "resumed the workload".into());
    }
    done("the workload is running".into())
}

/// Starts the chapter's action `i` in the background: it may take seconds (a group joining
/// moves shards), and its outcome becomes an event.
async fn action(State(shared): Shd, Path(i): Path<String>) -> Response {
    let Some(action) = i.parse::<usize>().ok().and_then(|i| shared.actions.get(i)) else {
        return error(
            StatusCode::NOT_FOUND,
            "no_such_action",
            format!(
                "there is no action {i:?}: the actions are 0 to {}",
                shared.actions.len().saturating_sub(1)
            ),
        );
    };
    let (name, run) = (action.name.clone(), std::sync::Arc::clone(&action.run));
    shared.event("action", format!("{name}: started"));
    let (background, label) = (std::sync::Arc::clone(&shared), name.clone());
    tokio::spawn(async move {
        match run().await {
            Ok(text) => background.event("action", format!("{label}: {text}")),
            Err(e) => background.event("action", format!("{label} failed: {e:#}")),
        }
    });
    done(format!("started: {name}"))
}
