//! The HTTP server: routes, extractors, middleware, graceful shutdown.
//!
//! Handlers are thin: extract, validate, call the [`Store`], map the outcome. All the
//! decisions that teach something live in the student's modules; this file is the
//! plumbing that connects them to HTTP.
//!
//! Requests pass through, outermost first: a tracing span per request; a catch-panic
//! layer that turns a handler's panic (an unfinished exercise's `todo!()`) into a JSON
//! 500 naming the exercise; a timeout so no request hangs forever; the body limit.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::routing::get;
use axum::{BoxError, Json, Router};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::{Instrument, Level};

use crate::api::{DeleteResponse, Entry, Health, PutRequest, Status};
use crate::error::ApiError;
use crate::extract::{JsonBody, Key};
use crate::store::{Store, StoreError};
use crate::validate::MAX_BODY_BYTES;

/// A node's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The node's id, shown in `/health`, `/status` and every log line.
    pub id: u64,
    /// How long a request may take before it is answered with `504 timeout`.
    pub request_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            id: 1,
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    store: Arc<Store>,
    id: u64,
    started: Instant,
}

impl AppState {
    /// A node's state around an existing store.
    pub fn new(id: u64, store: Arc<Store>) -> Self {
        Self {
            store,
            id,
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
        tracing::info!(addr = %listener.local_addr()?, "listening");
        let state = AppState::new(config.id, Arc::new(Store::new()));
        axum::serve(listener, app(state, config.request_timeout))
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
    let id = state.id;
    Router::new()
        .route("/kv/{key}", get(get_key).put(put_key).delete(delete_key))
        .route("/kv", axum::routing::any(plumbing::api::empty_key::<ApiError>))
        .route("/kv/", axum::routing::any(plumbing::api::empty_key::<ApiError>))
        .route("/health", get(health))
        .route("/status", get(status))
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

async fn get_key(State(state): State<AppState>, Key(key): Key) -> Result<Json<Entry>, ApiError> {
    match state.store.get(&key) {
        Some(found) => Ok(Json(Entry {
            key,
            value: found.value,
            version: found.version,
        })),
        None => Err(ApiError::NotFound { key }),
    }
}

async fn put_key(
    State(state): State<AppState>,
    Key(key): Key,
    JsonBody(request): JsonBody<PutRequest>,
) -> Result<Json<Entry>, ApiError> {
    let version = state
        .store
        .put(&key, request.value.clone(), request.if_version)
        .map_err(|e| store_error(&key, e))?;
    Ok(Json(Entry {
        key,
        value: request.value,
        version,
    }))
}

async fn delete_key(
    State(state): State<AppState>,
    Key(key): Key,
) -> Result<Json<DeleteResponse>, ApiError> {
    let version = state.store.delete(&key).map_err(|e| store_error(&key, e))?;
    Ok(Json(DeleteResponse { key, version }))
}

async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        id: state.id,
    })
}

async fn status(State(state): State<AppState>) -> Json<Status> {
    Json(Status {
        id: state.id,
        role: "standalone".into(),
        keys: state.store.len(),
        last_version: state.store.last_version(),
        uptime_ms: state.started.elapsed().as_millis() as u64,
    })
}

fn store_error(key: &str, error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound => ApiError::NotFound {
            key: key.to_string(),
        },
        StoreError::VersionMismatch { expected, current } => {
            ApiError::VersionMismatch { expected, current }
        }
    }
}
