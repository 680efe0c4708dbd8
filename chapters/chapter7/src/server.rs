//! The HTTP server of one replica: chapter 6's node (carried unchanged, in `node.rs`)
//! under this chapter's routes.
//!
//! ```text
//! on a group's replicas:
//! GET    /kv/{key}                          200 Entry | 404 | 421 wrong_group
//! PUT    /kv/{key}  PutRequest              200 Entry | 409 | 421 wrong_group
//! DELETE /kv/{key}                          200 DeleteResponse | 404 | 421 wrong_group
//! on the configuration service's replicas:
//! GET    /config                            200 ConfigAnswer (the latest, and the pending one)
//! GET    /config/{num}                      200 ConfigAnswer | 404
//! on both:
//! GET    /health, /status                   as in chapter 6
//! POST   /internal/raft     Batch           202 (chapter 6's messages)
//! POST   /internal/group    GroupOp         200 GroupReply | 400 | 503 (a controller's freeze,
//!                                           stage, install, delete: confirmed with the service)
//! POST   /internal/service  ServiceOp       200 ServiceReply (a controller's propose, finish)
//!        (the three need the cluster's key: x-cluster-key)
//! errors: chapter 6's ErrorBody; a shard this group does not serve now is
//!         421 {"error": "wrong_group", ...}: ask the service for the latest configuration.
//! ```
//!
//! Every request becomes one entry of the replica's log ([`Command`]), applied by the
//! group's or the service's machine once committed, as in chapter 6; a request at a
//! follower answers `421 not_leader`. A replica of one kind asked to do the other kind's
//! work answers `400 wrong_kind` and proposes nothing. A group proposes a controller's
//! step only once the service confirms that the step's configuration exists and calls
//! for it ([`crate::confirm`]): otherwise `400`, and nothing is proposed.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{BoxError, Json, Router};
use plumbing::cluster_key::{ClusterKey, require_cluster_key};
use plumbing::json_body::Shape;
use plumbing::limits::shed_beyond;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;

use crate::api::{Batch, DeleteResponse, Entry, Health, PutRequest, Status};
use crate::confirm::Confirmer;
use crate::error::ApiError;
use crate::extract::{JsonBody, Key};
use crate::group::{GroupOp, GroupReply};
use crate::headers::request_id;
use crate::machine::Kind;
use crate::node::{Config, Node};
use crate::request::Replica;
pub use crate::request::Role;
use crate::responses::{ConfigAnswer, Failure};
use crate::service::{ServiceOp, ServiceReply};
use crate::shard::{Answer, KvCommand};
use crate::validate::MAX_BODY_BYTES;

/// The body limit of the internal routes: chapter 6's batches of messages, and a
/// controller's `install` of a whole shard (so no shard larger than this moves).
pub const MAX_INTERNAL_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How many internal requests a replica reads at once; past that it answers `503`.
pub const MAX_INTERNAL_IN_FLIGHT: usize = 8;

/// Serves the replica on `listener` until `shutdown` resolves. A group's replica asks
/// the configuration service's replicas at `service` to confirm each step.
pub async fn run(
    listener: tokio::net::TcpListener,
    config: Config,
    service: Vec<String>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let span = tracing::info_span!("node", id = config.id);
    async move {
        let request_timeout = config.request_timeout;
        let cluster_key = config.cluster_key.clone();
        cluster_key
            .check_bind(listener.local_addr()?)
            .map_err(anyhow::Error::msg)?;
        let role = match config.machine.kind() {
            Kind::Service(_) => Role::Service,
            Kind::Group(group) => Role::Group(Confirmer::new(group.id(), service)?),
        };
        let node = Node::start(config)?;
        tracing::info!(addr = %listener.local_addr()?, "listening");
        axum::serve(listener, app(node, role, cluster_key, request_timeout))
            .with_graceful_shutdown(shutdown)
            .await?;
        Ok(())
    }
    .instrument(span)
    .await
}

/// The router with every route and middleware (as chapter 6's: internal routes need
/// `cluster_key`, bodies and requests in flight are bounded, no request hangs).
pub fn app(
    node: Arc<Node>,
    role: Role,
    cluster_key: ClusterKey,
    request_timeout: Duration,
) -> Router {
    let internal = Router::new()
        .route("/internal/raft", post(raft))
        .route("/internal/group", post(group_op))
        .route("/internal/service", post(service_op))
        .layer(DefaultBodyLimit::max(MAX_INTERNAL_BODY_BYTES))
        .layer(shed_beyond(MAX_INTERNAL_IN_FLIGHT))
        .layer(axum::middleware::from_fn_with_state(
            cluster_key,
            require_cluster_key,
        ));
    let public = Router::new()
        .route("/kv/{key}", get(get_key).put(put_key).delete(delete_key))
        .route("/config", get(latest_config))
        .route("/config/{num}", get(config_number))
        .route("/health", get(health))
        .route("/status", get(status))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    public
        .merge(internal)
        .fallback(plumbing::api::no_route::<ApiError>)
        .method_not_allowed_fallback(plumbing::api::method_not_allowed::<ApiError>)
        .with_state(Replica {
            node,
            role: Arc::new(role),
        })
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

async fn get_key(State(replica): State<Replica>, Key(key): Key) -> Result<Json<Entry>, Failure> {
    match replica.serve(KvCommand::Get { key: key.clone() }).await? {
        Answer::Value(Some((value, version))) => Ok(Json(Entry {
            key,
            value,
            version,
        })),
        other => Err(Failure::unexpected(&key, other)),
    }
}

async fn put_key(
    State(replica): State<Replica>,
    Key(key): Key,
    headers: HeaderMap,
    JsonBody(request): JsonBody<PutRequest>,
) -> Result<Json<Entry>, Failure> {
    let command = KvCommand::Put {
        key: key.clone(),
        value: request.value.clone(),
        if_version: request.if_version,
        request: request_id(&headers)?,
    };
    match replica.serve(command).await? {
        Answer::Written { version } => Ok(Json(Entry {
            key,
            value: request.value,
            version,
        })),
        Answer::Mismatch { current } => Err(Failure::Api(ApiError::VersionMismatch {
            expected: request.if_version.unwrap_or_default(),
            current,
        })),
        other => Err(Failure::unexpected(&key, other)),
    }
}

async fn delete_key(
    State(replica): State<Replica>,
    Key(key): Key,
    headers: HeaderMap,
) -> Result<Json<DeleteResponse>, Failure> {
    let command = KvCommand::Delete {
        key: key.clone(),
        request: request_id(&headers)?,
    };
    match replica.serve(command).await? {
        Answer::Deleted { version } => Ok(Json(DeleteResponse { key, version })),
        other => Err(Failure::unexpected(&key, other)),
    }
}

async fn config_of(replica: &Replica, num: Option<u64>) -> Result<Json<ConfigAnswer>, Failure> {
    match replica.service(ServiceOp::Query { num }).await? {
        ServiceReply::Config { config, pending } => Ok(Json(ConfigAnswer { config, pending })),
        ServiceReply::Refused(why) => Err(Failure::Api(ApiError::NotFound { key: why })),
        other => Err(ApiError::Internal(format!("a query produced {other:?}")).into()),
    }
}

async fn latest_config(State(replica): State<Replica>) -> Result<Json<ConfigAnswer>, Failure> {
    config_of(&replica, None).await
}

async fn config_number(
    State(replica): State<Replica>,
    Path(num): Path<String>,
) -> Result<Json<ConfigAnswer>, Failure> {
    let num = num.parse::<u64>().map_err(|_| {
        ApiError::InvalidKey(format!(
            "a configuration number is 0, 1, 2, ...; got {num:?}"
        ))
    })?;
    config_of(&replica, Some(num)).await
}

/// A controller's step, once the service confirms its configuration calls for it. A step
/// the group's machine refuses (it does not fit the shard's state: a forged or wrong
/// message; a correct mover never sends one) changed nothing and is a `400`.
async fn group_op(
    State(replica): State<Replica>,
    JsonBody(op): JsonBody<GroupOp>,
) -> Result<Json<GroupReply>, Failure> {
    match replica.group(op).await? {
        GroupReply::Refused { shard, num, now } => {
            Err(Failure::Api(ApiError::InvalidBody(format!(
                "refused: a step of configuration {num} does not fit shard {shard}, which is \
                 {now:?} here; nothing changed"
            ))))
        }
        reply => Ok(Json(reply)),
    }
}

async fn service_op(
    State(replica): State<Replica>,
    JsonBody(op): JsonBody<ServiceOp>,
) -> Result<Json<ServiceReply>, Failure> {
    Ok(Json(replica.service(op).await?))
}

async fn raft(
    State(replica): State<Replica>,
    JsonBody(batch): JsonBody<Batch>,
) -> Result<(StatusCode, Json<serde_json::Value>), Failure> {
    let accepted = replica.node.receive(batch.envelopes).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "accepted": accepted })),
    ))
}

async fn health(State(replica): State<Replica>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        id: replica.node.id(),
    })
}

async fn status(State(replica): State<Replica>) -> Json<Status> {
    Json(replica.node.status())
}

// How each internal route's body is described to a sender whose body is refused.
impl Shape for GroupOp {
    const SHAPE: &'static str = r#"{"Freeze": {"shard": number, "num": number}} | {"Install": {"shard", "num", "data"}} | {"Delete": {...}} | {"Client": command}"#;
}

impl Shape for ServiceOp {
    const SHAPE: &'static str = r#"{"Query": {"num": number|null}} | {"Propose": {"base": number, "change": change}} | {"Finish": {"num": number}}"#;
}
