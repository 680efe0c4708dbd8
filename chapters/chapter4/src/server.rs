//! The HTTP server: routes, extractors, middleware, graceful shutdown.
//!
//! Chapter 2's server in front of a [`Node`]: `/kv/` requests go to [`Node::kv`], which
//! serves them here or forwards them to their owner; `/cluster` shows and changes the
//! membership; `/internal/` carries the changes and the keys between nodes.
//!
//! Requests pass through, outermost first: a tracing span per request; a catch-panic
//! layer that turns a handler's panic (an unfinished exercise's `todo!()`) into a JSON
//! 500 naming the exercise; a timeout so no request hangs forever; the body limit.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{BoxError, Json, Router};
use plumbing::cluster_key::require_cluster_key;
use plumbing::limits::shed_beyond;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::{Instrument, Level};

use crate::api::{
    ClusterView, HOPS, HandoffRequest, HandoffResponse, Health, InstallResponse, JoinRequest,
    LeaveRequest, PutRequest, ReleaseRequest, ReleaseResponse, SERVED_BY, Status,
};
use crate::error::ApiError;
use crate::extract::{JsonBody, Key};
use crate::membership::Change;
use crate::node::{Config, KvOp, KvReply, Node};
use crate::transfer;
use crate::validate::MAX_BODY_BYTES;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    node: Arc<Node>,
    fsync: crate::wal::FsyncPolicy,
    started: Instant,
}

impl AppState {
    /// A node's state.
    pub fn new(node: Arc<Node>, fsync: crate::wal::FsyncPolicy) -> Self {
        Self {
            node,
            fsync,
            started: Instant::now(),
        }
    }
}

/// Serves the API on `listener` until `shutdown` resolves, then finishes the requests
/// in flight and returns. The caller owns binding and the shutdown signal.
pub async fn run(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let span = tracing::info_span!("node", id = config.id);
    async move {
        let url = match &config.advertise_url {
            Some(url) => url.clone(),
            None => format!("http://{}", listener.local_addr()?),
        };
        let request_timeout = config.request_timeout;
        let fsync = config.log.fsync;
        config
            .cluster_key
            .check_bind(listener.local_addr()?)
            .map_err(anyhow::Error::msg)?;
        let node = Node::open(config, url)?;
        crate::pulls::supervise(&node);
        let view = node.view().await;
        tracing::info!(
            addr = %listener.local_addr()?,
            url = node.url(),
            keys = node.store().len(),
            epoch = view.ring.epoch(),
            members = view.ring.members().len(),
            "listening"
        );
        axum::serve(listener, app(AppState::new(node, fsync), request_timeout))
            .with_graceful_shutdown(shutdown)
            .await?;
        tracing::info!("shut down");
        Ok(())
    }
    .instrument(span)
    .await
}

// ANCHOR: app
/// The router with every route and middleware; tests can drive it with `oneshot`.
pub fn app(state: AppState, request_timeout: Duration) -> Router {
    let id = state.node.id();
    // Changing the membership and everything between nodes needs the cluster's key
    // (401 before any body is read); a few such requests are read at once.
    let guarded = Router::new()
        .route("/cluster/join", post(join))
        .route("/cluster/leave", post(leave))
        .route("/internal/ring", post(install))
        .route("/internal/handoff", post(handoff))
        .route("/internal/release", post(release))
        .layer(shed_beyond(MAX_INTERNAL_IN_FLIGHT))
        .layer(axum::middleware::from_fn_with_state(
            state.node.config().cluster_key.clone(),
            require_cluster_key,
        ));
    Router::new()
        .route("/kv/{key}", get(get_key).put(put_key).delete(delete_key))
        .route("/kv", axum::routing::any(plumbing::api::empty_key::<ApiError>))
        .route("/kv/", axum::routing::any(plumbing::api::empty_key::<ApiError>))
        .route("/cluster", get(cluster))
        .route("/health", get(health))
        .route("/status", get(status))
        .layer(shed_beyond(MAX_CLIENT_REQUESTS_IN_FLIGHT))
        .merge(guarded)
        .fallback(plumbing::api::no_route::<ApiError>)
        .method_not_allowed_fallback(plumbing::api::method_not_allowed::<ApiError>)
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(
                    TraceLayer::new_for_http()
                        // Connection tasks do not inherit `run`'s span: name the node here.
                        .make_span_with(move |request: &Request| {
                            tracing::info_span!("request", node = id, method = %request.method(), uri = %request.uri())
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(CatchPanicLayer::custom(plumbing::api::panic_response::<ApiError>))
                .layer(HandleErrorLayer::new(move |_: BoxError| async move {
                    ApiError::Timeout(request_timeout)
                }))
                .timeout(request_timeout)
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        // Outermost: a refusal anywhere inside reads the rest of the body first.
        .layer(axum::middleware::from_fn(plumbing::keep_alive::drain_unread_body))
}
// ANCHOR_END: app

/// How many membership and internal requests a node serves at once (`503` past that).
pub const MAX_INTERNAL_IN_FLIGHT: usize = 16;
/// How many client requests a node serves at once (`503` past that), which also bounds
/// the writes waiting for its disk.
pub const MAX_CLIENT_REQUESTS_IN_FLIGHT: usize = 1024;

async fn get_key(State(state): State<AppState>, hops: Hops, Key(key): Key) -> Response {
    kv(&state, &key, KvOp::Get, hops).await
}

async fn put_key(
    State(state): State<AppState>,
    hops: Hops,
    Key(key): Key,
    JsonBody(request): JsonBody<PutRequest>,
) -> Response {
    kv(&state, &key, KvOp::Put(request), hops).await
}

async fn delete_key(State(state): State<AppState>, hops: Hops, Key(key): Key) -> Response {
    kv(&state, &key, KvOp::Delete, hops).await
}

/// Serves a `/kv/` request through the node; every answer, error or not, says who
/// served it and after how many hops.
async fn kv(state: &AppState, key: &str, op: KvOp, Hops(hops): Hops) -> Response {
    let reply = match state.node.kv(key, op, hops).await {
        Ok(reply) => reply,
        Err(error) => KvReply {
            status: error.status(),
            body: serde_json::to_value(error.body()).unwrap_or_default(),
            served_by: state.node.id(),
            hops,
        },
    };
    let mut headers = HeaderMap::new();
    headers.insert(SERVED_BY, HeaderValue::from(reply.served_by));
    headers.insert(HOPS, HeaderValue::from(reply.hops));
    (reply.status, headers, Json(reply.body)).into_response()
}

async fn cluster(State(state): State<AppState>) -> Json<ClusterView> {
    Json(state.node.view().await)
}

async fn join(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<JoinRequest>,
) -> Result<Json<ClusterView>, ApiError> {
    Ok(Json(state.node.join(request).await?))
}

async fn leave(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<LeaveRequest>,
) -> Result<Json<ClusterView>, ApiError> {
    Ok(Json(state.node.leave(request).await?))
}

async fn install(
    State(state): State<AppState>,
    JsonBody(change): JsonBody<Change>,
) -> Result<Json<InstallResponse>, ApiError> {
    let installed = state.node.install(&change).await?;
    Ok(Json(InstallResponse {
        epoch: state.node.ring().await.epoch(),
        changed: installed.changed,
        pull_from: installed.pull_from,
    }))
}

async fn handoff(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<HandoffRequest>,
) -> Result<Json<HandoffResponse>, ApiError> {
    Ok(Json(transfer::handoff(&state.node, request).await?))
}

async fn release(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<ReleaseRequest>,
) -> Result<Json<ReleaseResponse>, ApiError> {
    Ok(Json(transfer::release(&state.node, request).await?))
}

async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        id: state.node.id(),
    })
}

async fn status(State(state): State<AppState>) -> Json<Status> {
    let (epoch, members, pending, member) = {
        let membership = state.node.membership().await;
        (
            membership.ring().epoch(),
            membership.ring().members().len(),
            membership.pending(),
            membership.is_member(),
        )
    };
    let store = state.node.store();
    Json(Status {
        id: state.node.id(),
        role: if member { "member" } else { "outside" }.into(),
        epoch,
        members,
        pending,
        keys: store.len(),
        last_version: store.last_version(),
        durable_version: store.durable_version(),
        log: store.log_stats(),
        fsync: state.fsync,
        uptime_ms: state.started.elapsed().as_millis() as u64,
    })
}

/// The `x-hops` request header: how many times the request was forwarded (0 if absent).
#[derive(Debug, Clone, Copy)]
pub struct Hops(pub u32);

impl<S: Send + Sync> FromRequestParts<S> for Hops {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        match parts.headers.get(HOPS) {
            None => Ok(Hops(0)),
            Some(value) => value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .map(Hops)
                .ok_or_else(|| {
                    ApiError::InvalidRequest(format!(
                        "the {HOPS} header must be a small whole number (how many times the \
                         request was forwarded), not {value:?}"
                    ))
                }),
        }
    }
}
