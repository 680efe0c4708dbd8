//! Bounded routes: [`shed_beyond`] serves at most `limit` requests at once and answers
//! the rest `503` JSON at once, instead of queueing them without bound.
//!
//! ```ignore
//! let internal = Router::new()
//!     .route("/internal/raft", post(raft))
//!     .layer(plumbing::limits::shed_beyond(8));
//! ```

use axum::error_handling::HandleErrorLayer;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{BoxError, Json};
use tower::ServiceBuilder;

/// A layer that serves at most `limit` requests at once and answers the rest with
/// `503 unavailable` (JSON, in the API's error shape) without reading them.
pub fn shed_beyond<S>(
    limit: usize,
) -> impl tower::Layer<
    S,
    Service = impl tower::Service<
        Request,
        Response = Response,
        Error = std::convert::Infallible,
        Future = impl Send,
    > + Clone
              + Send
              + Sync
              + 'static,
> + Clone
where
    S: tower::Service<Request, Response = Response, Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    ServiceBuilder::new()
        .layer(HandleErrorLayer::new(move |_: BoxError| async move {
            let message =
                format!("this node is serving as many such requests as it allows ({limit}); retry");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "error": "unavailable", "message": message })),
            )
                .into_response()
        }))
        .load_shed()
        .concurrency_limit(limit)
}
