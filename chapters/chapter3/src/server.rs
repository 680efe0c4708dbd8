//! The HTTP server: the client API and the routes between nodes.
//!
//! Chapter 2's server in front of a [`Node`]: `GET /kv/{key}` answers from the node's
//! map (on a follower, with how far it has applied); `PUT` and `DELETE` go to the leader
//! and answer `421 not_leader` elsewhere; `/internal/append`, `/internal/snapshot` and
//! `/internal/promote` are for nodes (and the hand-failover procedure).
//!
//! Requests pass through, outermost first: a tracing span per request; a catch-panic
//! layer that turns a handler's panic (an unfinished exercise's `todo!()`) into a JSON
//! 500 naming the exercise; a timeout so no request hangs forever; the body limit
//! (1 MiB for clients; internal routes carry batches and snapshots, so more).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::routing::{get, post};
use axum::{BoxError, Json, Router};
use plumbing::cluster_key::require_cluster_key;
use plumbing::limits::shed_beyond;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::{Instrument, Level};

use crate::api::{DeleteResponse, Entry, Health, PutRequest, SnapshotRequest, Status};
use crate::error::ApiError;
use crate::extract::{JsonBody, Key};
use crate::node::{Config, Node, WriteError};
use crate::replication::{AppendRequest, AppendResponse};
use crate::validate::MAX_BODY_BYTES;

/// The body limit of `/internal/append`: the leader caps a batch's bytes (see
/// [`crate::node::MAX_APPEND_BYTES`]) so that a legal one always fits.
pub const MAX_APPEND_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The body limit of `/internal/snapshot`, which carries the whole map in one request
/// (this chapter's snapshots are not split; chapter 6's are). One at a time.
pub const MAX_SNAPSHOT_BODY_BYTES: usize = 256 * 1024 * 1024;
/// How many appends a node reads at once (`503` past that: the leader retries).
pub const MAX_APPENDS_IN_FLIGHT: usize = 4;
/// How many client requests a node serves at once (`503` past that), which also bounds
/// the jobs waiting for its disk.
pub const MAX_CLIENT_REQUESTS_IN_FLIGHT: usize = 1024;

/// Serves the node on `listener` until `shutdown` resolves, then finishes the requests
/// in flight and returns.
pub async fn run(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let span = tracing::info_span!("node", id = config.id);
    async move {
        let request_timeout = config.request_timeout;
        config
            .cluster_key
            .check_bind(listener.local_addr()?)
            .map_err(anyhow::Error::msg)?;
        let node = Node::open(config)?;
        let status = node.status();
        tracing::info!(
            addr = %listener.local_addr()?,
            role = %status.role,
            term = status.term,
            last_index = status.last_index,
            ack_mode = ?status.ack_mode,
            "listening"
        );
        node.spawn_replication();
        axum::serve(listener, app(node, request_timeout))
            .with_graceful_shutdown(shutdown)
            .await?;
        tracing::info!("shut down");
        Ok(())
    }
    .instrument(span)
    .await
}

// ANCHOR: app
/// The router with every route and middleware.
pub fn app(node: Arc<Node>, request_timeout: Duration) -> Router {
    let id = node.id();
    // Internal routes: the cluster's key first (401 before any body is read), then
    // bounded bodies, read a few at a time.
    let internal = Router::new()
        .route(
            "/internal/append",
            post(append)
                .layer(DefaultBodyLimit::max(MAX_APPEND_BODY_BYTES))
                .layer(shed_beyond(MAX_APPENDS_IN_FLIGHT)),
        )
        .route(
            "/internal/snapshot",
            post(snapshot)
                .layer(DefaultBodyLimit::max(MAX_SNAPSHOT_BODY_BYTES))
                .layer(shed_beyond(1)),
        )
        .route("/internal/promote", post(promote))
        .layer(axum::middleware::from_fn_with_state(
            node.config().cluster_key.clone(),
            require_cluster_key,
        ));
    let public = Router::new()
        .route("/kv/{key}", get(get_key).put(put_key).delete(delete_key))
        .route(
            "/kv",
            axum::routing::any(plumbing::api::empty_key::<ApiError>),
        )
        .route(
            "/kv/",
            axum::routing::any(plumbing::api::empty_key::<ApiError>),
        )
        .route("/health", get(health))
        .route("/status", get(status))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(shed_beyond(MAX_CLIENT_REQUESTS_IN_FLIGHT));
    public
        .merge(internal)
        .fallback(plumbing::api::no_route::<ApiError>)
        .method_not_allowed_fallback(plumbing::api::method_not_allowed::<ApiError>)
        .with_state(node)
        .layer(
            ServiceBuilder::new()
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(move |request: &Request| {
                            tracing::info_span!("request", node = id, method = %request.method(), uri = %request.uri())
                        })
                        .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
                )
                .layer(CatchPanicLayer::custom(plumbing::api::panic_response::<ApiError>))
                .layer(HandleErrorLayer::new(move |_: BoxError| async move {
                    ApiError::Timeout(request_timeout)
                }))
                .timeout(request_timeout),
        )
        // Outermost: a refusal anywhere inside reads the rest of the body first.
        .layer(axum::middleware::from_fn(plumbing::keep_alive::drain_unread_body))
}
// ANCHOR_END: app

fn write_error(key: &str, error: WriteError) -> ApiError {
    match error {
        WriteError::NotFound => ApiError::NotFound {
            key: key.to_string(),
        },
        other => other.into(),
    }
}

async fn get_key(State(node): State<Arc<Node>>, Key(key): Key) -> Result<Json<Entry>, ApiError> {
    let read = node.read(&key).await.map_err(|e| write_error(&key, e))?;
    match read.found {
        Some(found) => Ok(Json(Entry {
            key,
            value: found.value,
            version: found.version,
            applied_index: Some(read.applied_index),
            served_by: Some(read.role.to_string()),
        })),
        None => Err(ApiError::NotFound { key }),
    }
}

async fn put_key(
    State(node): State<Arc<Node>>,
    Key(key): Key,
    JsonBody(request): JsonBody<PutRequest>,
) -> Result<Json<Entry>, ApiError> {
    let version = node
        .write(&key, Some(request.value.clone()), request.if_version)
        .await
        .map_err(|e| write_error(&key, e))?;
    Ok(Json(Entry {
        key,
        value: request.value,
        version,
        applied_index: None,
        served_by: None,
    }))
}

async fn delete_key(
    State(node): State<Arc<Node>>,
    Key(key): Key,
) -> Result<Json<DeleteResponse>, ApiError> {
    let version = node
        .write(&key, None, None)
        .await
        .map_err(|e| write_error(&key, e))?;
    Ok(Json(DeleteResponse { key, version }))
}

async fn append(
    State(node): State<Arc<Node>>,
    JsonBody(request): JsonBody<AppendRequest>,
) -> Result<Json<AppendResponse>, ApiError> {
    Ok(Json(node.on_append(request).await.map_err(ApiError::from)?))
}

async fn snapshot(
    State(node): State<Arc<Node>>,
    JsonBody(request): JsonBody<SnapshotRequest>,
) -> Result<Json<AppendResponse>, ApiError> {
    Ok(Json(
        node.on_snapshot(request).await.map_err(ApiError::from)?,
    ))
}

async fn promote(State(node): State<Arc<Node>>) -> Result<Json<Status>, ApiError> {
    node.promote().await.map_err(ApiError::from)?;
    Ok(Json(node.status()))
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
