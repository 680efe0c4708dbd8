//! Carried from `chapters/chapter5/src/node/peers.rs` by `cargo xtask exercises`:
//! chapter 5's peer senders. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs nothing of this chapter's own.
//!
//! The peer senders: one task and one bounded queue per peer, batching envelopes into
//! requests of bounded size.

use super::*;

/// Delivers one peer's messages, in order, in batches of at most [`MAX_ENVELOPES`]
/// envelopes and [`MAX_REQUEST_BYTES`] bytes; drops what cannot be delivered.
pub(super) async fn send_to_peer(
    http: reqwest::Client,
    peer: NodeId,
    link: String,
    mut outbox: mpsc::Receiver<Envelope>,
) {
    let url = format!("{}/internal/raft", link.trim_end_matches('/'));
    let mut next: Option<Vec<u8>> = None;
    loop {
        let first = match next.take() {
            Some(bytes) => bytes,
            None => match outbox.recv().await {
                Some(envelope) => match encode(&envelope) {
                    Some(bytes) => bytes,
                    None => continue,
                },
                None => return, // the node is gone
            },
        };
        let mut body = Vec::with_capacity(first.len() + BATCH_OPEN.len() + BATCH_CLOSE.len());
        body.extend_from_slice(BATCH_OPEN);
        body.extend_from_slice(&first);
        let mut count = 1;
        while count < MAX_ENVELOPES {
            let Ok(envelope) = outbox.try_recv() else {
                break;
            };
            let Some(bytes) = encode(&envelope) else {
                continue;
            };
            if body.len() + bytes.len() + 1 + BATCH_CLOSE.len() > MAX_REQUEST_BYTES {
                next = Some(bytes); // the first of the next request
                break;
            }
            body.push(b',');
            body.extend_from_slice(&bytes);
            count += 1;
        }
        body.extend_from_slice(BATCH_CLOSE);
        let request = http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        match request.send().await {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => {
                tracing::debug!(peer, status = %response.status(), "a peer refused messages")
            }
            Err(e) => tracing::trace!(peer, error = %e, "a peer is unreachable"),
        }
    }
}

/// A request's body is a [`crate::api::Batch`]: `{"envelopes": [` envelopes `]}`.
const BATCH_OPEN: &[u8] = br#"{"envelopes":["#;
const BATCH_CLOSE: &[u8] = b"]}";

/// One envelope as JSON, or `None` (logged) if it cannot be encoded or could never fit
/// in a request: a message is sent whole or not at all, never empty.
fn encode(envelope: &Envelope) -> Option<Vec<u8>> {
    match serde_json::to_vec(envelope) {
        Ok(bytes) if bytes.len() + BATCH_OPEN.len() + BATCH_CLOSE.len() <= MAX_REQUEST_BYTES => {
            Some(bytes)
        }
        Ok(bytes) => {
            tracing::error!(
                to = envelope.to,
                bytes = bytes.len(),
                "a message larger than a request may be was dropped"
            );
            None
        }
        Err(e) => {
            tracing::error!(to = envelope.to, error = %e, "a message could not be encoded; dropped");
            None
        }
    }
}
