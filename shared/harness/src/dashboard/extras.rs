//! What a chapter adds to the live cluster beyond one group of nodes: its nodes split
//! into groups, a view of its shards, and buttons of its own.
//!
//! Chapter 7's store is the service and several groups, three nodes each, with shards
//! that move between groups. Its demo names each node's group ([`Options::groups`]),
//! gives a [`View`] of the configuration (polled with every frame, drawn as a strip of
//! shards), and [`Action`]s, each a button (a group joins, a group leaves, a shard
//! moves), run in the background by `POST /api/actions/{i}`.
//!
//! [`Options::groups`]: super::Options::groups

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Exec;

/// A boxed future, as the hooks below return.
pub type Boxed<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Polled with every frame: the shards as the system reports them, if it can now.
pub type View = Arc<dyn Fn() -> Boxed<Option<ShardsView>> + Send + Sync>;

/// A button of the chapter's own.
#[derive(Clone)]
pub struct Action {
    /// Its label, e.g. `group 3 joins`.
    pub name: String,
    /// What it does; its `Ok` text (or its error) becomes an event.
    pub run: Arc<dyn Fn() -> Boxed<anyhow::Result<String>> + Send + Sync>,
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Action").field("name", &self.name).finish()
    }
}

/// Which group owns each shard, in the latest configuration and the one being moved to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardsView {
    /// The latest configuration's number.
    pub num: u64,
    /// Each shard's owner in it (0: none).
    pub owners: Vec<u64>,
    /// The configuration a change is moving to, if any: its number and owners.
    pub pending: Option<(u64, Vec<u64>)>,
}

/// What [`super::Dashboard::start_with`] is given once the nodes run: the workload's
/// client, and the chapter's additions.
pub struct Extras {
    /// The workload's client (as [`super::Dashboard::start`]'s `clients` makes it).
    pub exec: Exec,
    /// Awaited before the workload starts (e.g. groups joining, so that keys have
    /// owners); an error stops the dashboard from starting.
    pub ready: Option<Boxed<anyhow::Result<()>>>,
    /// The shards, if the system has them.
    pub view: Option<View>,
    /// Buttons of the chapter's own.
    pub actions: Vec<Action>,
}

impl std::fmt::Debug for Extras {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extras")
            .field("view", &self.view.is_some())
            .field("actions", &self.actions)
            .finish()
    }
}
