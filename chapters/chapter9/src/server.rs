//! The HTTP server of one replica of a group: chapter 6's node (carried unchanged, in
//! `node.rs`) applying this chapter's machine, under the producers' and consumers'
//! routes.
//!
//! ```text
//! POST /produce    {"partition": {"topic", "index"}, "batch": Batch}  200 Appended
//! POST /read       {"partition", "from", "max"?}                      200 Read
//! POST /expected   {"partition", "producer"}                          200 {"expected"}
//! POST /join       {"group", "topic", "member"}                       200 Membership
//! POST /heartbeat  {"group", "member"}                                200 Membership
//! POST /leave      {"group", "member"}                                200 {"left"}
//! POST /commit     {"group", "member", "generation", "offsets"}       200 {}
//! POST /committed  {"group"}                                          200 {"offsets"}
//! POST /internal/raft  Batch (chapter 6's messages; needs x-cluster-key)  202
//! GET  /health, /status                                              200
//! errors: chapter 6's ErrorBody; a follower answers 421 not_leader; a partition or
//! consumer group held by another group 421 wrong_group; a call the group refuses
//! (a stale generation, say) 409 with the reason as its code.
//! ```
//!
//! Every call is one entry of the group's log ([`Command`]), stamped with the time on
//! this replica, which is the leader's (only a leader proposes). While it leads, a
//! replica also proposes the passing of time every [`TICK`]: members time out and
//! retention runs on the log, so every replica agrees on them.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
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

use crate::api::{ErrorBody, Health, Status};
use crate::broker::BrokerError;
use crate::command::Command;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::group::Generation;
use crate::log::{Batch, Millis, Offset, PartitionId};
use crate::machine::Applied;
use crate::node::{Config, Node};

/// The body limit of the internal routes: chapter 6's batches of messages.
pub const MAX_INTERNAL_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The body limit of a producer's or consumer's call: a batch of records.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// How many internal requests a replica reads at once; past that it answers `503`.
pub const MAX_INTERNAL_IN_FLIGHT: usize = 64;
/// How often a leading replica proposes the passing of time.
pub const TICK: Duration = Duration::from_millis(100);
/// The longest name (topic, group, member, producer, key) a replica takes.
pub const MAX_NAME_BYTES: usize = 256;
/// The most records one read returns.
pub const MAX_READ: usize = 1_000;

/// Milliseconds since the Unix epoch, on this machine's clock.
pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProduceCall {
    pub partition: PartitionId,
    pub batch: Batch,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadCall {
    pub partition: PartitionId,
    pub from: Offset,
    #[serde(default)]
    pub max: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedCall {
    pub partition: PartitionId,
    pub producer: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinCall {
    pub group: String,
    pub topic: String,
    pub member: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberCall {
    pub group: String,
    pub member: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitCall {
    pub group: String,
    pub member: String,
    pub generation: Generation,
    pub offsets: BTreeMap<u32, Offset>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCall {
    pub group: String,
}

/// A route's failure: one of chapter 6's, or a call the group's machine refused.
#[derive(Debug)]
pub enum Failure {
    Api(ApiError),
    Refused(BrokerError),
}

impl<E: Into<ApiError>> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure::Api(error.into())
    }
}

/// The machine-readable code of a refusal.
pub fn code(error: &BrokerError) -> &'static str {
    use crate::group::GroupError;
    match error {
        BrokerError::UnknownPartition { .. } => "unknown_partition",
        BrokerError::NotHere { .. } | BrokerError::NotCoordinator { .. } => "wrong_group",
        BrokerError::UnknownGroup { .. } => "unknown_group",
        BrokerError::UnknownTopic { .. } => "unknown_topic",
        BrokerError::OtherTopic { .. } => "other_topic",
        BrokerError::Group(GroupError::UnknownMember { .. }) => "unknown_member",
        BrokerError::Group(GroupError::StaleGeneration { .. }) => "stale_generation",
        BrokerError::Group(GroupError::NotAssigned { .. }) => "not_assigned",
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let error = match self {
            Failure::Api(error) => return error.into_response(),
            Failure::Refused(error) => error,
        };
        let status = match &error {
            BrokerError::NotHere { .. } | BrokerError::NotCoordinator { .. } => {
                StatusCode::MISDIRECTED_REQUEST
            }
            BrokerError::UnknownPartition { .. }
            | BrokerError::UnknownGroup { .. }
            | BrokerError::UnknownTopic { .. } => StatusCode::NOT_FOUND,
            BrokerError::OtherTopic { .. } | BrokerError::Group(_) => StatusCode::CONFLICT,
        };
        let body = ErrorBody {
            error: code(&error).into(),
            message: error.to_string(),
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
    let span = tracing::info_span!("replica", id = config.id);
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

/// While this replica leads: a `Tick` every [`TICK`].
async fn tick_while_leading(node: Arc<Node>) {
    let mut every = tokio::time::interval(TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if node.status().role == "leader" {
            let _ = node.execute(Command::Tick { now: now_ms() }).await;
        }
    }
}

/// The router with every route and middleware (as chapter 6's: internal routes need
/// `cluster_key`, bodies and requests in flight are bounded, no request hangs).
pub fn app(node: Arc<Node>, cluster_key: ClusterKey, request_timeout: Duration) -> Router {
    let internal = Router::new()
        .route("/internal/raft", post(raft))
        .layer(DefaultBodyLimit::max(MAX_INTERNAL_BODY_BYTES))
        .layer(shed_beyond(MAX_INTERNAL_IN_FLIGHT))
        .layer(axum::middleware::from_fn_with_state(
            cluster_key,
            require_cluster_key,
        ));
    let public = Router::new()
        .route("/produce", post(produce))
        .route("/read", post(read))
        .route("/expected", post(expected))
        .route("/join", post(join))
        .route("/heartbeat", post(heartbeat))
        .route("/leave", post(leave))
        .route("/commit", post(commit))
        .route("/committed", post(committed))
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

/// Refuses a name that is empty or longer than [`MAX_NAME_BYTES`].
fn named(what: &str, name: &str) -> Result<(), Failure> {
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(ApiError::InvalidBody(format!(
            "a {what} is 1 to {MAX_NAME_BYTES} bytes; got {} bytes",
            name.len()
        ))
        .into());
    }
    Ok(())
}

/// Runs `command` through the log: a refusal is the route's error, anything but `want`
/// is this replica's bug.
async fn run_command<T>(
    node: &Node,
    command: Command,
    want: impl FnOnce(Applied) -> Option<T>,
) -> Result<T, Failure> {
    let applied = node.execute(command).await?;
    if let Applied::Refused(error) = applied {
        return Err(Failure::Refused(error));
    }
    let described = format!("{applied:?}");
    want(applied)
        .ok_or_else(|| Failure::Api(ApiError::Internal(format!("the log answered {described}"))))
}

async fn produce(
    State(node): State<Arc<Node>>,
    JsonBody(call): JsonBody<ProduceCall>,
) -> Result<Response, Failure> {
    named("topic", &call.partition.topic)?;
    if let Some(s) = &call.batch.sequence {
        named("producer", &s.producer)?;
    }
    if call
        .batch
        .records
        .iter()
        .any(|(k, _)| k.len() > MAX_NAME_BYTES)
    {
        return Err(
            ApiError::InvalidBody(format!("a key is at most {MAX_NAME_BYTES} bytes")).into(),
        );
    }
    let command = Command::Produce {
        partition: call.partition,
        batch: call.batch,
        now: now_ms(),
    };
    let appended = run_command(&node, command, |a| match a {
        Applied::Appended(a) => Some(a),
        _ => None,
    });
    Ok(Json(appended.await?).into_response())
}

async fn read(
    State(node): State<Arc<Node>>,
    JsonBody(call): JsonBody<ReadCall>,
) -> Result<Response, Failure> {
    named("topic", &call.partition.topic)?;
    let command = Command::Read {
        partition: call.partition,
        from: call.from,
        max: call.max.unwrap_or(MAX_READ).min(MAX_READ),
    };
    let read = run_command(&node, command, |a| match a {
        Applied::Read(r) => Some(r),
        _ => None,
    });
    Ok(Json(read.await?).into_response())
}

async fn expected(
    State(node): State<Arc<Node>>,
    JsonBody(call): JsonBody<ExpectedCall>,
) -> Result<Response, Failure> {
    named("topic", &call.partition.topic)?;
    named("producer", &call.producer)?;
    let command = Command::Expected {
        partition: call.partition,
        producer: call.producer,
    };
    let expected = run_command(&node, command, |a| match a {
        Applied::Expected(n) => Some(n),
        _ => None,
    });
    Ok(Json(serde_json::json!({ "expected": expected.await? })).into_response())
}

async fn join(
    State(node): State<Arc<Node>>,
    JsonBody(call): JsonBody<JoinCall>,
) -> Result<Response, Failure> {
    named("group", &call.group)?;
    named("topic", &call.topic)?;
    named("member", &call.member)?;
    let command = Command::Join {
        group: call.group,
        topic: call.topic,
        member: call.member,
        now: now_ms(),
    };
    let membership = run_command(&node, command, |a| match a {
        Applied::Membership(m) => Some(m),
        _ => None,
    });
    Ok(Json(membership.await?).into_response())
}

async fn heartbeat(
    State(node): State<Arc<Node>>,
    JsonBody(call): JsonBody<MemberCall>,
) -> Result<Response, Failure> {
    named("group", &call.group)?;
    named("member", &call.member)?;
    let command = Command::Heartbeat {
        group: call.group,
        member: call.member,
        now: now_ms(),
    };
    let membership = run_command(&node, command, |a| match a {
        Applied::Membership(m) => Some(m),
        _ => None,
    });
    Ok(Json(membership.await?).into_response())
}

async fn leave(
    State(node): State<Arc<Node>>,
    JsonBody(call): JsonBody<MemberCall>,
) -> Result<Response, Failure> {
    named("group", &call.group)?;
    named("member", &call.member)?;
    let command = Command::Leave {
        group: call.group,
        member: call.member,
    };
    let left = run_command(&node, command, |a| match a {
        Applied::Left(left) => Some(left),
        _ => None,
    });
    Ok(Json(serde_json::json!({ "left": left.await? })).into_response())
}

async fn commit(
    State(node): State<Arc<Node>>,
    JsonBody(call): JsonBody<CommitCall>,
) -> Result<Response, Failure> {
    named("group", &call.group)?;
    named("member", &call.member)?;
    let command = Command::Commit {
        group: call.group,
        member: call.member,
        generation: call.generation,
        offsets: call.offsets.into_iter().collect(),
    };
    let committed = run_command(&node, command, |a| match a {
        Applied::Committed => Some(()),
        _ => None,
    });
    committed.await?;
    Ok(Json(serde_json::json!({})).into_response())
}

async fn committed(
    State(node): State<Arc<Node>>,
    JsonBody(call): JsonBody<GroupCall>,
) -> Result<Response, Failure> {
    named("group", &call.group)?;
    let command = Command::Committed { group: call.group };
    let offsets = run_command(&node, command, |a| match a {
        Applied::Offsets(o) => Some(o),
        _ => None,
    });
    Ok(Json(serde_json::json!({ "offsets": offsets.await? })).into_response())
}

async fn raft(
    State(node): State<Arc<Node>>,
    JsonBody(batch): JsonBody<crate::api::Batch>,
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
impl Shape for ProduceCall {
    const SHAPE: &'static str = r#"{"partition": {"topic": string, "index": number}, "batch": {"sequence": null | {"producer": string, "first": number, "end": number}, "records": [[key, value], ...]}}"#;
}
impl Shape for ReadCall {
    const SHAPE: &'static str =
        r#"{"partition": {"topic": string, "index": number}, "from": number, "max"?: number}"#;
}
impl Shape for ExpectedCall {
    const SHAPE: &'static str =
        r#"{"partition": {"topic": string, "index": number}, "producer": string}"#;
}
impl Shape for JoinCall {
    const SHAPE: &'static str = r#"{"group": string, "topic": string, "member": string}"#;
}
impl Shape for MemberCall {
    const SHAPE: &'static str = r#"{"group": string, "member": string}"#;
}
impl Shape for CommitCall {
    const SHAPE: &'static str = r#"{"group": string, "member": string, "generation": number, "offsets": {"<partition>": number}}"#;
}
impl Shape for GroupCall {
    const SHAPE: &'static str = r#"{"group": string}"#;
}
