//! The node's shell: the store, the membership core behind a lock, forwarding, pulls and
//! membership changes, all the I/O the core leaves out.
//!
//! Two locks, and the order they are taken in, carry the chapter's safety argument:
//! - A local read or write checks ownership ([`Membership::route`]) and runs the
//!   synchronous half of the store's operation while holding the membership **read**
//!   lock; the wait for durability comes after it is released.
//! - Installing a change takes the **write** lock, so it happens between two local
//!   operations, never during one: after it, every write this node accepted for a key it
//!   just lost is already in its map, and no new one will be accepted (they are forwarded).
//!   That is what makes the old owner's handoff complete.

use std::sync::Arc;
use std::time::Duration;

use plumbing::disk::Disk;
use reqwest::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, RwLock, RwLockReadGuard, watch};
use tokio::time::Instant;

use crate::api::{
    ChangeView, ClusterView, DeleteResponse, Entry, ErrorBody, InstallResponse, JoinRequest,
    LeaveRequest, MemberView, PutRequest,
};
use crate::client::encode_segment;
use crate::error::ApiError;
use crate::membership::{Change, InstallError, Installed, Membership, Route};
use crate::ring::{Member, NodeId, Placement, Ring, moved_arcs};
use crate::store::{Store, StoreError};
use crate::wal::LogOptions;
use plumbing::cluster_key::ClusterKey;

/// The file, in the data directory, that keeps the node's membership across restarts.
pub const MEMBERSHIP_FILE: &str = "cluster.json";

mod changes;
mod config;
mod requests;

pub use config::Config;
pub use requests::{KvOp, KvReply};

/// One node of the cluster.
#[derive(Debug)]
pub struct Node {
    id: NodeId,
    url: String,
    store: Store,
    membership: RwLock<Membership>,
    /// One membership change coordinated by this node at a time.
    coordinating: Mutex<()>,
    /// Bumped whenever the membership changes (a change installed, a pull done), so
    /// requests waiting for a moving key look again.
    changed: watch::Sender<u64>,
    http: reqwest::Client,
    disk: Arc<dyn Disk>,
    config: Config,
    /// Why a pull gave up for good (a bug, or an unfinished exercise), for every request
    /// that would otherwise wait for it in vain.
    fault: std::sync::Mutex<Option<String>>,
}

impl Node {
    /// Opens the store and the membership in `config.data_dir` (recovering both), and
    /// resumes any pull a crash interrupted.
    pub fn open(config: Config, url: String) -> anyhow::Result<Arc<Self>> {
        let store = Store::open(
            Arc::clone(&config.disk),
            &config.data_dir,
            config.log.clone(),
        )?;
        let path = config.data_dir.join(MEMBERSHIP_FILE);
        let membership = match config.disk.read(&path) {
            Ok(bytes) => {
                let saved: Membership = serde_json::from_slice(&bytes).map_err(|e| {
                    anyhow::anyhow!(
                        "{} is damaged: {e}; it is not safe to guess",
                        path.display()
                    )
                })?;
                anyhow::ensure!(
                    saved.me() == config.id,
                    "{} belongs to node {}, not node {}",
                    path.display(),
                    saved.me(),
                    config.id
                );
                saved
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if config.members.is_empty() {
                    Membership::new(config.id, config.placement)
                } else {
                    let ring = Ring::new(1, config.placement, config.members.clone())?;
                    anyhow::ensure!(
                        ring.member(config.id).is_some(),
                        "the founding members do not include this node ({})",
                        config.id
                    );
                    Membership::founding(config.id, ring)
                }
            }
            Err(e) => return Err(e.into()),
        };
        let http = plumbing::cluster_key::peer_client(config.peer_timeout, &config.cluster_key)?;
        let node = Arc::new(Self {
            id: config.id,
            url,
            store,
            membership: RwLock::new(membership),
            coordinating: Mutex::new(()),
            changed: watch::Sender::new(0),
            http,
            disk: Arc::clone(&config.disk),
            config,
            fault: std::sync::Mutex::new(None),
        });
        node.save(&*node.membership.try_read()?)?;
        Ok(node)
    }

    /// The node's settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The URL it advertises.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Its current ring.
    pub async fn ring(&self) -> Ring {
        self.membership.read().await.ring().clone()
    }

    /// Its membership, read-locked: while the guard lives, no change is installed.
    pub async fn membership(&self) -> RwLockReadGuard<'_, Membership> {
        self.membership.read().await
    }

    fn save(&self, membership: &Membership) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec_pretty(membership)?;
        self.disk.create_dir_all(&self.config.data_dir)?;
        plumbing::disk::write_atomically(
            self.disk.as_ref(),
            &self.config.data_dir,
            MEMBERSHIP_FILE,
            &bytes,
        )?;
        Ok(())
    }

    /// The pulls this node owes: every old owner it still has keys pending from, with
    /// the change that gave them ([`crate::pulls`] runs them).
    pub async fn pending_pulls(&self) -> Vec<(Change, Member)> {
        let membership = self.membership.read().await;
        let Some(change) = membership.last_change() else {
            return Vec::new();
        };
        membership
            .pending()
            .iter()
            .filter_map(|&id| change.from.member(id))
            .map(|from| (change.clone(), from.clone()))
            .collect()
    }

    /// A receiver that wakes on every change of the node's membership or fault.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Records why a pull gave up; every request that waits for it is answered with it.
    pub(crate) fn record_fault(&self, fault: String) {
        tracing::error!(%fault, "giving up on a pull");
        *self
            .fault
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(fault);
        self.changed.send_modify(|n| *n += 1);
    }

    /// Why a pull gave up, if one did.
    pub fn fault(&self) -> Option<String> {
        self.fault
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// A JSON body for a reply.
fn json(value: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

fn header_number(response: &reqwest::Response, name: &str) -> Option<u64> {
    response.headers().get(name)?.to_str().ok()?.parse().ok()
}

/// A pull's fault as an API error: an unfinished exercise is named as such.
fn fault_error(fault: String) -> ApiError {
    if plumbing::unfinished::is_unfinished(&fault) {
        ApiError::NotImplemented(fault)
    } else {
        ApiError::Internal(fault)
    }
}

/// An install refusal as an API error.
pub fn install_error(e: InstallError) -> ApiError {
    match e {
        InstallError::Malformed => ApiError::InvalidBody(e.to_string()),
        _ => ApiError::Conflict(e.to_string()),
    }
}

/// A store refusal as an API error.
pub fn store_error(key: &str, error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound => ApiError::NotFound {
            key: key.to_string(),
        },
        StoreError::VersionMismatch { expected, current } => {
            ApiError::VersionMismatch { expected, current }
        }
        StoreError::Unavailable(message) => ApiError::Unavailable(format!(
            "the node cannot write to its disk, so it acknowledges nothing: {message}"
        )),
    }
}
