//! A refused request must not cost the client its connection.
//!
//! HTTP/1.1 clients (browsers, proxies, `requests`, reqwest's pool) send the next request
//! on the same connection once they have the answer to the last. A node that answers
//! before reading the whole body (a bad key, a wrong content type, a missing cluster key,
//! a body over the limit, `503` when shedding) leaves the rest of that body in the
//! connection. The server cannot read the next request past it, so it closes the
//! connection; a client that had already sent its next request on it loses that request
//! ("connection closed before message completed"), and unread bytes in the socket can
//! turn the close into a reset that loses the answer itself.
//!
//! [`drain_unread_body`], the outermost layer of every chapter's router, watches the
//! request body. If the response is ready while part of the body is still unread, it
//! reads and drops the rest (at most [`DRAIN_LIMIT`] bytes, within [`DRAIN_TIME`]) before
//! the answer goes out, so the connection stays usable. A body too large or too slow to
//! drain gets the answer with `Connection: close`, which tells the client not to reuse
//! the connection.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::BodyExt as _;

/// The most of an unread body a refusal reads before answering (a little more than the
/// largest body any route takes: chapter 6's snapshot pieces and chapter 7's steps).
pub const DRAIN_LIMIT: u64 = 16 * 1024 * 1024;

/// How long a refusal waits for the rest of a body before it gives up and closes.
pub const DRAIN_TIME: Duration = Duration::from_secs(2);

/// The middleware: `Router::layer(axum::middleware::from_fn(drain_unread_body))`.
pub async fn drain_unread_body(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let unread = Arc::new(Mutex::new(None));
    let watched = Body::new(Watched {
        inner: Some(body),
        finished: false,
        unread: Arc::clone(&unread),
    });
    let mut response = next.run(Request::from_parts(parts, watched)).await;
    let rest = unread.lock().map(|mut slot| slot.take()).unwrap_or(None);
    if let Some(rest) = rest
        && !drain(rest).await
    {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads and drops what is left of a body; whether all of it was read.
async fn drain(rest: Body) -> bool {
    if rest.size_hint().lower() > DRAIN_LIMIT {
        return false; // announced larger than we will read: close instead
    }
    let limited = http_body_util::Limited::new(rest, DRAIN_LIMIT as usize);
    matches!(
        tokio::time::timeout(DRAIN_TIME, limited.collect()).await,
        Ok(Ok(_))
    )
}

/// A request body that, if dropped before its end, hands what is left of it to
/// [`drain_unread_body`].
struct Watched {
    inner: Option<Body>,
    finished: bool,
    unread: Arc<Mutex<Option<Body>>>,
}

impl std::fmt::Debug for Watched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watched")
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        // The end, or an error (a broken connection): nothing more to read either way.
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            this.finished = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.finished || self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if let Some(inner) = self.inner.take().filter(|b| !b.is_end_stream())
            && let Ok(mut slot) = self.unread.lock()
        {
            *slot = Some(inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::post;
    use tower::ServiceExt as _;

    /// A route that refuses without reading the body, and one that reads it.
    fn app() -> Router {
        Router::new()
            .route("/refuse", post(|| async { "refused" }))
            .route(
                "/read",
                post(|body: Bytes| async move { body.len().to_string() }),
            )
            .layer(axum::middleware::from_fn(drain_unread_body))
    }

    fn request(path: &str, body: Body) -> Request {
        Request::post(path).body(body).expect("a request builds")
    }

    #[tokio::test]
    async fn a_refusal_reads_the_rest_of_a_bounded_body_and_keeps_the_connection() {
        let response = app()
            .oneshot(request("/refuse", Body::from(vec![b'x'; 100_000])))
            .await
            .expect("the router answers");
        assert_eq!(
            response.headers().get(header::CONNECTION),
            None,
            "the unread 100 kB were drained: the connection can carry the next request"
        );
        let response = app()
            .oneshot(request("/read", Body::from("abc")))
            .await
            .expect("the router answers");
        assert_eq!(
            response.headers().get(header::CONNECTION),
            None,
            "a body read to its end needs nothing"
        );
    }

    #[tokio::test]
    async fn a_request_shed_with_503_has_its_body_drained_too() {
        // One request held inside a route that serves one at a time; the next is shed.
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let slots = Arc::new(Mutex::new((Some(entered_tx), Some(release_rx))));
        let held = move || {
            let slots = Arc::clone(&slots);
            async move {
                let (entered, release) = {
                    let mut slots = slots.lock().expect("not poisoned");
                    (slots.0.take(), slots.1.take())
                };
                if let (Some(entered), Some(release)) = (entered, release) {
                    let _ = entered.send(());
                    let _ = release.await;
                }
                "served"
            }
        };
        let app = Router::new()
            .route("/held", post(held))
            .layer(crate::limits::shed_beyond(1))
            // As every chapter's `app` does: routes made once, so the limit is shared by
            // every connection (without it axum makes them per connection).
            .with_state(())
            .layer(axum::middleware::from_fn(drain_unread_body));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding a loopback port");
        let url = format!("http://{}/held", listener.local_addr().expect("an address"));
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let http = crate::http::client(Duration::from_secs(10)).expect("a client");
        let first = tokio::spawn(http.post(&url).body("a").send());
        entered_rx
            .await
            .expect("the first request is inside the route");
        let shed = http
            .post(&url)
            .body(vec![b'x'; 100_000])
            .send()
            .await
            .expect("the node answers");
        assert_eq!(
            shed.status(),
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "the second request is shed"
        );
        assert_eq!(
            shed.headers().get(header::CONNECTION),
            None,
            "a shed request's body is drained like any refusal's: the connection stays usable"
        );
        let _ = release_tx.send(());
        let first = first
            .await
            .expect("the first request's task ends")
            .expect("the first request is answered");
        assert_eq!(first.status(), 200, "the held request is served");
        server.abort();
    }

    #[tokio::test]
    async fn a_body_larger_than_the_drain_limit_is_answered_with_connection_close() {
        let huge = vec![b'x'; DRAIN_LIMIT as usize + 1];
        let response = app()
            .oneshot(request("/refuse", Body::from(huge)))
            .await
            .expect("the router answers");
        assert_eq!(
            response.headers().get(header::CONNECTION),
            Some(&HeaderValue::from_static("close")),
            "a body too large to drain: the client is told the connection ends with this answer"
        );
    }
}
