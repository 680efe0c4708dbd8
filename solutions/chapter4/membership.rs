//! A node's view of the cluster, and the decisions made from it.
//!
//! Exercises 4.3 and 4.5 live here. This is the sans-IO core of the chapter: no
//! sockets, no clocks, no tasks. The node's shell (`node.rs`) holds a [`Membership`]
//! behind a lock, asks it where each request goes ([`Membership::route`]), and hands it
//! every new ring ([`Membership::install`]), then does what the answers say: forward a
//! request, pull keys from a node, wait.
//!
//! A membership change is a [`Change`]: the ring it starts from and the ring it makes.
//! Every node that installs it stops serving the keys it loses (from then on it forwards
//! them) and starts pulling the keys it gains from their old owners; until a pull is
//! done, requests for those keys wait rather than be answered from an empty store.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::ring::{Member, NodeId, Placement, Ring, moved_arcs};

/// How many times a request may be forwarded before it is refused. One hop is the rule;
/// a second happens while a change is spreading; more means the nodes disagree.
pub const MAX_HOPS: u32 = 3;

/// A membership change: the ring it starts from and the ring it makes (one epoch later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// The ring before.
    pub from: Ring,
    /// The ring after.
    pub to: Ring,
}

/// Where a request for a key goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// This node owns the key and has its data: serve it here.
    Local,
    /// This node owns the key but is still pulling it from node `from`: wait.
    Wait {
        /// The old owner being pulled from.
        from: NodeId,
    },
    /// Another node owns the key: forward the request to it.
    Forward(Member),
    /// The request was forwarded `hops` times already: refuse it.
    TooManyHops {
        /// Hops so far.
        hops: u32,
    },
    /// This node knows no ring (it has not joined a cluster).
    NoCluster,
}

/// What installing a change asks the node to do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Installed {
    /// Whether the ring changed (false: the same change was installed before).
    pub changed: bool,
    /// The old owners to pull keys from, in id order.
    pub pull_from: Vec<Member>,
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstallError {
    /// The change starts from an older ring than this node's.
    #[error("the change starts from epoch {change}, but this node is at epoch {current}")]
    Stale {
        /// The change's `from` epoch.
        change: u64,
        /// This node's epoch.
        current: u64,
    },
    /// The change starts from a newer ring than this node has seen: it missed a change.
    #[error(
        "the change starts from epoch {change}, but this node is at epoch {current}: it missed a change"
    )]
    Behind {
        /// The change's `from` epoch.
        change: u64,
        /// This node's epoch.
        current: u64,
    },
    /// A different ring was installed with the same epoch (two changes at once).
    #[error("another change made epoch {epoch} already")]
    Conflict {
        /// The contested epoch.
        epoch: u64,
    },
    /// The previous change is not finished here: keys are still being pulled.
    #[error("the change to epoch {epoch} is still moving keys (pulling from {pending:?})")]
    Busy {
        /// The unfinished change's epoch.
        epoch: u64,
        /// Nodes still to pull from.
        pending: Vec<NodeId>,
    },
    /// The change's rings do not follow each other.
    #[error("a change must go from one epoch to the next with the same placement")]
    Malformed,
}

/// A node's view: its id, the current ring, the ring before it, and the old owners it
/// still has to pull keys from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    me: NodeId,
    ring: Ring,
    previous: Option<Ring>,
    pending: BTreeSet<NodeId>,
}

impl Membership {
    /// A node that has not joined a cluster yet.
    pub fn new(me: NodeId, placement: Placement) -> Self {
        Self {
            me,
            ring: Ring::empty(placement),
            previous: None,
            pending: BTreeSet::new(),
        }
    }

    /// A node that founds a cluster with `ring` (all its members start together, empty).
    pub fn founding(me: NodeId, ring: Ring) -> Self {
        Self {
            me,
            ring,
            previous: None,
            pending: BTreeSet::new(),
        }
    }

    /// This node's id.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// The current ring.
    pub fn ring(&self) -> &Ring {
        &self.ring
    }

    /// The ring before the last change, if there was one.
    pub fn previous(&self) -> Option<&Ring> {
        self.previous.as_ref()
    }

    /// The last change, if there was one.
    pub fn last_change(&self) -> Option<Change> {
        self.previous.clone().map(|from| Change {
            from,
            to: self.ring.clone(),
        })
    }

    /// The old owners this node still pulls keys from.
    pub fn pending(&self) -> Vec<NodeId> {
        self.pending.iter().copied().collect()
    }

    /// Whether the ring lists this node.
    pub fn is_member(&self) -> bool {
        self.ring.member(self.me).is_some()
    }

    /// Marks the pull from `from` as done: its keys are here and durable.
    pub fn pulled(&mut self, from: NodeId) {
        self.pending.remove(&from);
    }

    // ANCHOR: route
    /// Where a request for `key` goes, `hops` forwards after it entered the cluster.
    pub fn route(&self, key: &str, hops: u32) -> Route {
        // EXERCISE 4.3: route a request: serve it, wait for a pull, forward it, or refuse it
        // HINT: Only the owner serves; the owner waits while the key is still on its way to it.
        let Some(owner) = self.ring.owner(key) else {
            return Route::NoCluster;
        };
        if owner.id != self.me {
            if hops >= MAX_HOPS {
                return Route::TooManyHops { hops };
            }
            return Route::Forward(owner.clone());
        }
        let old_owner = self.previous.as_ref().and_then(|ring| ring.owner(key));
        match old_owner {
            Some(old) if old.id != self.me && self.pending.contains(&old.id) => {
                Route::Wait { from: old.id }
            }
            _ => Route::Local,
        }
        // END EXERCISE 4.3
    }
    // ANCHOR_END: route

    // ANCHOR: install
    /// Installs `change`: checks that it follows this node's ring, makes `change.to` the
    /// ring, and says which old owners to pull from (the members of `change.from`, other
    /// than this node, that owned keys this node owns in `change.to`).
    pub fn install(&mut self, change: &Change) -> Result<Installed, InstallError> {
        if change.to.epoch() != change.from.epoch() + 1
            || change.to.placement() != change.from.placement()
        {
            return Err(InstallError::Malformed);
        }
        // EXERCISE 4.5: install a change: refuse what does not follow, then work out what to pull
        // HINT: A change is sent more than once: the same change again must be harmless.
        let current = self.ring.epoch();
        if current == change.to.epoch() {
            if self.ring == change.to {
                return Ok(Installed::default());
            }
            return Err(InstallError::Conflict { epoch: current });
        }
        if current != 0 {
            if change.from.epoch() < current {
                return Err(InstallError::Stale {
                    change: change.from.epoch(),
                    current,
                });
            }
            if change.from.epoch() > current {
                return Err(InstallError::Behind {
                    change: change.from.epoch(),
                    current,
                });
            }
            if change.from != self.ring {
                return Err(InstallError::Conflict { epoch: current });
            }
            if !self.pending.is_empty() {
                return Err(InstallError::Busy {
                    epoch: current,
                    pending: self.pending(),
                });
            }
        }
        let mut from_ids = BTreeSet::new();
        if change.to.member(self.me).is_some() {
            match moved_arcs(&change.from, &change.to) {
                Some(moves) => {
                    from_ids.extend(moves.iter().filter(|m| m.to == self.me).map(|m| m.from));
                }
                None => {
                    from_ids.extend(change.from.members().iter().map(|m| m.id));
                }
            }
        }
        from_ids.remove(&self.me);
        let pull_from: Vec<Member> = from_ids
            .iter()
            .filter_map(|id| change.from.member(*id).cloned())
            .collect();
        self.pending = from_ids;
        self.previous = Some(change.from.clone());
        self.ring = change.to.clone();
        Ok(Installed {
            changed: true,
            pull_from,
        })
        // END EXERCISE 4.5
    }
    // ANCHOR_END: install
}
