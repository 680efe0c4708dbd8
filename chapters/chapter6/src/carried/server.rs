//! Carried from `chapters/chapter5/src/server.rs` by `cargo xtask exercises`:
//! chapter 5's HTTP server. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs of this chapter's own: `api::{Batch, Command, DeleteResponse, Entry, Health, PutRequest, Status}`, `machine::Applied`, `raft::MAX_APPEND_BYTES`.
//!
//! The HTTP server: the client API and the route between nodes.
//!
//! Every client request becomes a [`Command`] that goes through the leader's log: reads
//! too, so a read can never see a deposed leader's stale state (a cheaper way, leases
//! or read indexes, is discussed in the book). A request at a follower answers `421
//! not_leader` with the leader's address. `/internal/raft` takes a batch of
//! [`Batch`] of envelopes and answers `202` once the driver has taken them: the answers travel back as messages.
//!
//! Requests pass through, outermost first: a tracing span per request; a catch-panic
//! layer that turns a handler's panic into a JSON 500 naming the exercise; a timeout so
//! no request hangs forever; the body limit (1 MiB for clients, more between nodes).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{BoxError, Json, Router};
use plumbing::cluster_key::{ClusterKey, require_cluster_key};
use plumbing::limits::shed_beyond;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::{Instrument, Level};

use crate::api::{Batch, Command, DeleteResponse, Entry, Health, PutRequest, Status};
use crate::error::ApiError;
use crate::extract::{JsonBody, Key};
use crate::headers::request_id;
use crate::machine::Applied;
use crate::node::{Config, Node};
use crate::validate::MAX_BODY_BYTES;

/// The body limit of `/internal/raft`. Senders split their batches so that a legal one
/// always fits (see [`crate::raft::MAX_APPEND_BYTES`] and the peer senders in `node.rs`).
pub const MAX_INTERNAL_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How many internal requests a node reads at once; past that it answers `503` at once
/// (peers retry with their next batch), so a flood cannot make it buffer more than
/// this many bodies.
pub const MAX_INTERNAL_IN_FLIGHT: usize = 8;

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
        let cluster_key = config.cluster_key.clone();
        cluster_key
            .check_bind(listener.local_addr()?)
            .map_err(anyhow::Error::msg)?;
        let node = Node::start(config)?;
        let status = node.status();
        tracing::info!(
            addr = %listener.local_addr()?,
            term = status.term,
            last_index = status.last_index,
            "listening"
        );
        axum::serve(listener, app(node, cluster_key, request_timeout))
            .with_graceful_shutdown(shutdown)
            .await?;
        tracing::info!("shut down");
        Ok(())
    }
    .instrument(span)
    .await
}

/// The router with every route and middleware. Internal routes require `cluster_key`
/// (`401` before the body is read), read at most [`MAX_INTERNAL_IN_FLIGHT`] bodies at
/// once (`503` past that) of at most [`MAX_INTERNAL_BODY_BYTES`] each (`413`).
pub fn app(node: Arc<Node>, cluster_key: ClusterKey, request_timeout: Duration) -> Router {
    let id = node.id();
    let internal = Router::new()
        .route("/internal/raft", post(raft))
        .layer(DefaultBodyLimit::max(MAX_INTERNAL_BODY_BYTES))
        .layer(shed_beyond(MAX_INTERNAL_IN_FLIGHT))
        .layer(axum::middleware::from_fn_with_state(
            cluster_key,
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
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
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

/// What a command's result means for the client, for results a route does not expect.
fn unexpected(key: &str, applied: Applied) -> ApiError {
    match applied {
        Applied::Stale { oldest } => ApiError::StaleRequest(format!(
            "this request is older than every answer kept for its client (the oldest is request {oldest}); it is not applied again"
        )),
        Applied::NotFound => ApiError::NotFound {
            key: key.to_string(),
        },
        Applied::Mismatch { current } => ApiError::VersionMismatch {
            expected: 0,
            current,
        },
        other => ApiError::Internal(format!("the command on {key:?} produced {other:?}")),
    }
}

async fn get_key(State(node): State<Arc<Node>>, Key(key): Key) -> Result<Json<Entry>, ApiError> {
    let command = Command::Get { key: key.clone() };
    match node.execute(command).await? {
        Applied::Value(Some((value, version))) => Ok(Json(Entry {
            key,
            value,
            version,
        })),
        Applied::Value(None) => Err(ApiError::NotFound { key }),
        other => Err(unexpected(&key, other)),
    }
}

async fn put_key(
    State(node): State<Arc<Node>>,
    Key(key): Key,
    headers: HeaderMap,
    JsonBody(request): JsonBody<PutRequest>,
) -> Result<Json<Entry>, ApiError> {
    let command = Command::Put {
        key: key.clone(),
        value: request.value.clone(),
        if_version: request.if_version,
        request: request_id(&headers)?,
    };
    match node.execute(command).await? {
        Applied::Written { version } => Ok(Json(Entry {
            key,
            value: request.value,
            version,
        })),
        Applied::Mismatch { current } => Err(ApiError::VersionMismatch {
            expected: request.if_version.unwrap_or_default(),
            current,
        }),
        other => Err(unexpected(&key, other)),
    }
}

async fn delete_key(
    State(node): State<Arc<Node>>,
    Key(key): Key,
    headers: HeaderMap,
) -> Result<Json<DeleteResponse>, ApiError> {
    let command = Command::Delete {
        key: key.clone(),
        request: request_id(&headers)?,
    };
    match node.execute(command).await? {
        Applied::Deleted { version } => Ok(Json(DeleteResponse { key, version })),
        other => Err(unexpected(&key, other)),
    }
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
