//! Moving keys when the ring changes: the old owner hands them over, the new owner pulls
//! them.
//!
//! Exercise 4.6 lives here. The protocol, for one old owner `A` and one new owner `N`:
//!
//! 1. `N` installs the change. The keys it gains from `A` are *pending*: requests for
//!    them wait (the node's shell does that, from [`Membership::route`]'s `Wait`).
//! 2. `N` asks `A` for them: `POST /internal/handoff`. `A` installs the change too, if
//!    it has not already; from then on it forwards those keys to `N` instead of serving
//!    them, so the keys it hands over can no longer change under it.
//! 3. `N` stores them, durably, keeping their versions; only then does it serve them.
//! 4. `N` tells `A` to forget them: `POST /internal/release`.
//!
//! A crash anywhere leaves a state the restart continues from: `N` keeps its pending
//! pulls in its membership file and pulls again; `A` still has the keys until step 4.
//!
//! [`Membership::route`]: crate::membership::Membership::route

use std::sync::Arc;

use crate::api::{HandoffRequest, HandoffResponse, ReleaseRequest, ReleaseResponse};
use crate::error::ApiError;
use crate::membership::Change;
use crate::node::{Node, store_error};
use crate::ring::{Member, NodeId, Ring};

/// Whether `ring` gives `key` to node `id`.
pub fn owned_by(ring: &Ring, key: &str, id: NodeId) -> bool {
    ring.owner(key).is_some_and(|m| m.id == id)
}

// ANCHOR: handoff
/// The old owner's side: `POST /internal/handoff`. Installs the change if this node has
/// not yet, then answers with every key it owned in `change.from` that `request.to`
/// owns in `change.to`.
pub async fn handoff(
    node: &Arc<Node>,
    request: HandoffRequest,
) -> Result<HandoffResponse, ApiError> {
    // EXERCISE 4.6: hand keys over: install the change first, then collect what the asker gains
    // HINT: What must be true of this node before the keys it collects are final?
    node.install(&request.change).await?;
    let me = node.id();
    let Change { from, to } = &request.change;
    let entries = node
        .store()
        .entries_where(|key| owned_by(from, key, me) && owned_by(to, key, request.to));
    Ok(HandoffResponse {
        epoch: to.epoch(),
        entries,
    })
    // END EXERCISE 4.6
}
// ANCHOR_END: handoff

// ANCHOR: pull
/// The new owner's side: pulls the keys it gains from `from` under `change`, makes them
/// durable, starts serving them, and lets `from` forget them. Returns how many arrived.
pub async fn pull(node: &Arc<Node>, change: &Change, from: &Member) -> Result<usize, ApiError> {
    // EXERCISE 4.6: pull keys in: durable here before served here, served here before released there
    // HINT: Picture a crash between any two of your steps: which order leaves every key durable somewhere and served by one node only?
    let me = node.id();
    let response: HandoffResponse = node
        .call_peer(
            from,
            "/internal/handoff",
            &HandoffRequest {
                change: change.clone(),
                to: me,
            },
        )
        .await?;
    if response.epoch != change.to.epoch() {
        return Err(ApiError::Conflict(format!(
            "node {} handed keys over for epoch {}, not {}",
            from.id,
            response.epoch,
            change.to.epoch()
        )));
    }
    let count = response.entries.len();
    node.store()
        .import(
            |key| owned_by(&change.from, key, from.id) && owned_by(&change.to, key, me),
            response.entries,
        )
        .await
        .map_err(|e| store_error("(moved keys)", e))?;
    node.mark_pulled(from.id).await?;
    let release = ReleaseRequest {
        epoch: change.to.epoch(),
        to: me,
    };
    if let Err(e) = node
        .call_peer::<_, ReleaseResponse>(from, "/internal/release", &release)
        .await
    {
        tracing::warn!(from = from.id, error = %e, "release failed: the old owner keeps a copy");
    }
    Ok(count)
    // END EXERCISE 4.6
}
// ANCHOR_END: pull

// ANCHOR: release
/// The old owner's last step: `POST /internal/release`. The new owner has the keys
/// durably; delete the ones the current ring gives it. A release for another epoch than
/// the current one does nothing (a later change decides where those keys are).
pub async fn release(
    node: &Arc<Node>,
    request: ReleaseRequest,
) -> Result<ReleaseResponse, ApiError> {
    let ring = node.ring().await;
    if ring.epoch() != request.epoch || request.to == node.id() {
        return Ok(ReleaseResponse { removed: 0 });
    }
    let removed = node
        .store()
        .remove_where(|key| owned_by(&ring, key, request.to))
        .await
        .map_err(|e| store_error("(released keys)", e))?;
    Ok(ReleaseResponse { removed })
}
// ANCHOR_END: release
