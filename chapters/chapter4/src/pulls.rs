//! The pulls a node owes, run until they are done.
//!
//! Whenever the node's membership says keys are pending from an old owner (a change was
//! just installed, or the node restarted in the middle of one), a task pulls them with
//! [`transfer::pull`] (exercise 4.6), retrying with back-off until they arrive, the ring
//! moves on, or the node goes away. One task per (ring, old owner).
//!
//! The server starts this beside the node ([`supervise`]); the node itself only records
//! what is pending and announces every change, so the shell never calls into the
//! exercise that calls into it.

use std::collections::BTreeSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::error::ApiError;
use crate::membership::Change;
use crate::node::Node;
use crate::ring::{Member, NodeId};
use crate::transfer;

/// Watches `node`'s membership and starts a pull for every old owner it has keys
/// pending from. Ends when the node is dropped.
pub fn supervise(node: &Arc<Node>) {
    let weak = Arc::downgrade(node);
    let mut changes = node.subscribe();
    tokio::spawn(async move {
        let mut started: BTreeSet<(u64, NodeId)> = BTreeSet::new();
        loop {
            let Some(node) = weak.upgrade() else {
                return;
            };
            for (change, from) in node.pending_pulls().await {
                if started.insert((change.to.epoch(), from.id)) {
                    tokio::spawn(pull_until_done(Arc::downgrade(&node), change, from));
                }
            }
            drop(node);
            if changes.changed().await.is_err() {
                return; // the node is gone
            }
        }
    });
}

/// Pulls from `from` until it succeeds, the pull is no longer needed, or the node goes
/// away (a restart resumes it). A pull that panics, or that the old owner cannot serve
/// because of a bug, is a fault: recorded and reported to every request that waits for
/// it, not retried.
async fn pull_until_done(node: Weak<Node>, change: Change, from: Member) {
    let mut backoff = Duration::from_millis(20);
    loop {
        let Some(node) = node.upgrade() else {
            return;
        };
        {
            let membership = node.membership().await;
            if membership.ring() != &change.to || !membership.pending().contains(&from.id) {
                return;
            }
        }
        let attempt = {
            let (node, change, from) = (Arc::clone(&node), change.clone(), from.clone());
            tokio::spawn(async move { transfer::pull(&node, &change, &from).await })
        };
        let error = match attempt.await {
            Ok(Ok(keys)) => {
                tracing::info!(from = from.id, keys, "pulled keys");
                return;
            }
            Ok(Err(e @ (ApiError::NotImplemented(_) | ApiError::Internal(_)))) => {
                node.record_fault(format!("the pull from node {}: {e}", from.id));
                return;
            }
            Ok(Err(e)) => e.to_string(),
            Err(join) if join.is_panic() => {
                let message = plumbing::unfinished::payload_message(join.into_panic().as_ref());
                node.record_fault(format!(
                    "the pull from node {} panicked: {message}",
                    from.id
                ));
                return;
            }
            Err(join) => join.to_string(),
        };
        drop(node);
        tracing::warn!(from = from.id, %error, "pull failed; retrying");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}
