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
//! POST   /internal/group    GroupOp         200 GroupReply | 400 (a controller's freeze, install, delete)
//! POST   /internal/service  ServiceOp       200 ServiceReply (a controller's propose, finish)
//!        (the three need the cluster's key: x-cluster-key)
//! errors: chapter 6's ErrorBody; a shard this group does not serve now is
//!         421 {"error": "wrong_group", ...}: ask the service for the latest configuration.
//! ```
//!
//! Every request becomes one entry of the replica's log ([`Command`]), applied by the
//! group's or the service's machine once committed, as in chapter 6; a request at a
//! follower answers `421 not_leader`. A replica of one kind asked to do the other kind's
//! work answers `400 wrong_kind` and proposes nothing.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{BoxError, Json, Router};
use plumbing::cluster_key::{ClusterKey, require_cluster_key};
use plumbing::json_body::Shape;
use plumbing::limits::shed_beyond;
use serde::{Deserialize, Serialize};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;

use crate::api::{Batch, DeleteResponse, Entry, ErrorBody, Health, PutRequest, Status};
use crate::command::Command;
use crate::config::{Config as Configuration, ShardId};
use crate::error::ApiError;
use crate::extract::{JsonBody, Key};
use crate::group::{GroupOp, GroupReply};
use crate::headers::request_id;
use crate::machine::Applied;
use crate::node::{CommandError, Config, Node, Refused};
use crate::service::{ServiceOp, ServiceReply};
use crate::shard::{Answer, KvCommand};
use crate::validate::MAX_BODY_BYTES;

/// The body limit of the internal routes: chapter 6's batches of messages, and a
/// controller's `install` of a whole shard (so no shard larger than this moves).
pub const MAX_INTERNAL_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How many internal requests a replica reads at once; past that it answers `503`.
pub const MAX_INTERNAL_IN_FLIGHT: usize = 8;

/// The largest command a replica proposes, as JSON. An entry travels to the followers
/// whole, inside one request of at most [`crate::node::MAX_REQUEST_BYTES`]: a larger one
/// could never be delivered, and the group's log would stop at it. (A big shard moves in
/// pieces smaller than this: see [`crate::staging`].)
pub const MAX_ENTRY_BYTES: usize = 6 * 1024 * 1024;

/// The answer to `GET /config`: a configuration, and the one a change is moving to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigAnswer {
    /// The configuration asked for (the latest, unless a number was given).
    pub config: Configuration,
    /// The configuration a change is moving to, if one is.
    pub pending: Option<Configuration>,
}

/// An error of this chapter's routes: chapter 6's, and `wrong_group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// One of chapter 6's errors.
    Api(ApiError),
    /// This group does not serve the key's shard now.
    WrongGroup {
        /// The key's shard.
        shard: ShardId,
    },
    /// The request is for the other kind of replica (a key at the service, a
    /// configuration at a group).
    WrongKind(String),
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Api(error)
    }
}

impl From<CommandError> for Failure {
    fn from(error: CommandError) -> Self {
        Failure::Api(error.into())
    }
}

impl From<Refused> for Failure {
    fn from(refused: Refused) -> Self {
        Failure::Api(refused.into())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            Failure::Api(error) => return error.into_response(),
            Failure::WrongGroup { shard } => (
                StatusCode::MISDIRECTED_REQUEST,
                "wrong_group",
                format!(
                    "this group does not serve shard {shard} now (it moved, or is moving); \
                     ask the configuration service for the latest configuration"
                ),
            ),
            Failure::WrongKind(message) => (StatusCode::BAD_REQUEST, "wrong_kind", message),
        };
        let body = ErrorBody {
            error: code.into(),
            message,
            current_version: None,
            key: None,
            leader: None,
        };
        (status, Json(body)).into_response()
    }
}

/// Serves the replica on `listener` until `shutdown` resolves.
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
        tracing::info!(addr = %listener.local_addr()?, "listening");
        axum::serve(listener, app(node, cluster_key, request_timeout))
            .with_graceful_shutdown(shutdown)
            .await?;
        Ok(())
    }
    .instrument(span)
    .await
}

/// The router with every route and middleware (as chapter 6's: internal routes need
/// `cluster_key`, bodies and requests in flight are bounded, no request hangs).
pub fn app(node: Arc<Node>, cluster_key: ClusterKey, request_timeout: Duration) -> Router {
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

/// Refuses a command too big to be one entry of the log ([`MAX_ENTRY_BYTES`]).
fn fits(command: &Command) -> Result<(), Failure> {
    let bytes = serde_json::to_vec(command).map_or(usize::MAX, |b| b.len());
    if bytes > MAX_ENTRY_BYTES {
        return Err(Failure::Api(ApiError::TooLarge(format!(
            "this command is {bytes} bytes as a log entry; an entry may be at most \
             {MAX_ENTRY_BYTES} bytes (a big shard moves in pieces: send it staged)"
        ))));
    }
    Ok(())
}

/// Runs a group operation through the log; a service replica refuses it.
async fn through_group(node: &Node, op: GroupOp) -> Result<GroupReply, Failure> {
    let command = Command::Group { op };
    fits(&command)?;
    match node.execute(command).await? {
        Applied::Group(reply) => Ok(reply),
        _ => Err(Failure::WrongKind(
            "this replica is the configuration service's: send keys and shard steps to a \
             group's replicas"
                .into(),
        )),
    }
}

/// Runs a service operation through the log; a group replica refuses it.
async fn through_service(node: &Node, op: ServiceOp) -> Result<ServiceReply, Failure> {
    let command = Command::Service { op };
    fits(&command)?;
    match node.execute(command).await? {
        Applied::Service(reply) => Ok(reply),
        _ => Err(Failure::WrongKind(
            "this replica is a group's: ask the configuration service's replicas for \
             configurations"
                .into(),
        )),
    }
}

/// Runs a client's command at this group: its answer, or `wrong_group`.
async fn serve(node: &Node, command: KvCommand) -> Result<Answer, Failure> {
    match through_group(node, GroupOp::Client(command)).await? {
        GroupReply::Answer(answer) => Ok(answer),
        GroupReply::WrongGroup { shard } => Err(Failure::WrongGroup { shard }),
        other => Err(ApiError::Internal(format!("a client's command produced {other:?}")).into()),
    }
}

/// What an answer means for a route that did not expect it.
fn unexpected(key: &str, answer: Answer) -> Failure {
    match answer {
        Answer::Stale { latest } => Failure::Api(ApiError::StaleRequest(format!(
            "this client's request {latest} was answered after this one; it is not applied again"
        ))),
        Answer::NotFound | Answer::Value(None) => Failure::Api(ApiError::NotFound {
            key: key.to_string(),
        }),
        Answer::Mismatch { current } => Failure::Api(ApiError::VersionMismatch {
            expected: 0,
            current,
        }),
        other => ApiError::Internal(format!("the command on {key:?} produced {other:?}")).into(),
    }
}

async fn get_key(State(node): State<Arc<Node>>, Key(key): Key) -> Result<Json<Entry>, Failure> {
    match serve(&node, KvCommand::Get { key: key.clone() }).await? {
        Answer::Value(Some((value, version))) => Ok(Json(Entry {
            key,
            value,
            version,
        })),
        other => Err(unexpected(&key, other)),
    }
}

async fn put_key(
    State(node): State<Arc<Node>>,
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
    match serve(&node, command).await? {
        Answer::Written { version } => Ok(Json(Entry {
            key,
            value: request.value,
            version,
        })),
        Answer::Mismatch { current } => Err(Failure::Api(ApiError::VersionMismatch {
            expected: request.if_version.unwrap_or_default(),
            current,
        })),
        other => Err(unexpected(&key, other)),
    }
}

async fn delete_key(
    State(node): State<Arc<Node>>,
    Key(key): Key,
    headers: HeaderMap,
) -> Result<Json<DeleteResponse>, Failure> {
    let command = KvCommand::Delete {
        key: key.clone(),
        request: request_id(&headers)?,
    };
    match serve(&node, command).await? {
        Answer::Deleted { version } => Ok(Json(DeleteResponse { key, version })),
        other => Err(unexpected(&key, other)),
    }
}

async fn config_of(node: &Node, num: Option<u64>) -> Result<Json<ConfigAnswer>, Failure> {
    match through_service(node, ServiceOp::Query { num }).await? {
        ServiceReply::Config { config, pending } => Ok(Json(ConfigAnswer { config, pending })),
        ServiceReply::Refused(why) => Err(Failure::Api(ApiError::NotFound { key: why })),
        other => Err(ApiError::Internal(format!("a query produced {other:?}")).into()),
    }
}

async fn latest_config(State(node): State<Arc<Node>>) -> Result<Json<ConfigAnswer>, Failure> {
    config_of(&node, None).await
}

async fn config_number(
    State(node): State<Arc<Node>>,
    Path(num): Path<String>,
) -> Result<Json<ConfigAnswer>, Failure> {
    let num = num.parse::<u64>().map_err(|_| {
        ApiError::InvalidKey(format!(
            "a configuration number is 0, 1, 2, ...; got {num:?}"
        ))
    })?;
    config_of(&node, Some(num)).await
}

/// A controller's step. A step the group's machine refuses (it does not fit the shard's
/// state: a forged or wrong message; a correct mover never sends one) changed nothing and
/// is a `400`.
async fn group_op(
    State(node): State<Arc<Node>>,
    JsonBody(op): JsonBody<GroupOp>,
) -> Result<Json<GroupReply>, Failure> {
    match through_group(&node, op).await? {
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
    State(node): State<Arc<Node>>,
    JsonBody(op): JsonBody<ServiceOp>,
) -> Result<Json<ServiceReply>, Failure> {
    Ok(Json(through_service(&node, op).await?))
}

async fn raft(
    State(node): State<Arc<Node>>,
    JsonBody(batch): JsonBody<Batch>,
) -> Result<(StatusCode, Json<serde_json::Value>), Failure> {
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

// How each internal route's body is described to a sender whose body is refused.
impl Shape for GroupOp {
    const SHAPE: &'static str = r#"{"Freeze": {"shard": number, "num": number}} | {"Install": {"shard", "num", "data"}} | {"Delete": {...}} | {"Client": command}"#;
}

impl Shape for ServiceOp {
    const SHAPE: &'static str = r#"{"Query": {"num": number|null}} | {"Propose": {"base": number, "change": change}} | {"Finish": {"num": number}}"#;
}
