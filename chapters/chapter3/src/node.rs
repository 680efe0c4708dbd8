//! The replica: the async shell around the protocol core.
//!
//! One [`Node`] per process. Its state (role, term, log, map, commit index, and on the
//! leader each follower's [`Progress`]) sits behind one mutex; every decision is taken by
//! the core in [`crate::replication`] under that lock, and every wait (for the disk, for
//! the network, for acknowledgements) happens outside it.
//!
//! - **Leader**: a write is checked, given the next index, handed to the committer and
//!   applied to the map under the lock; the handler then waits for its own disk and for
//!   the commit index (computed by [`commit_index`] from the followers' acknowledgements)
//!   to pass the write's index. One replication task per follower ships entries in
//!   batches, backs off on mismatches and failures, and sends a snapshot when the
//!   entries a follower needs were compacted away.
//! - **Follower**: an append is checked by [`check_append`]; accepted entries are made
//!   durable before the answer leaves; committed entries are applied to the map, which
//!   serves (possibly stale) reads.

mod config;
mod follower;
mod leader;
mod replica;
mod shipping;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use plumbing::cluster_key::ClusterKey;
use plumbing::disk::{Disk, RealDisk};
use tokio::sync::watch;

use crate::api::{FollowerStatus, LogEntry, Snapshot, SnapshotRequest, SnapshotValue, Status};
use crate::error::ApiError;
use crate::replication::{
    AckMode, AppendDecision, AppendRequest, AppendResponse, LeaderLog, LogView, Plan, Progress,
    check_append, commit_index, plan,
};
use crate::storage::{Job, RecoveryError, Storage, recover};

pub use config::{Config, MAX_APPEND_BYTES, MAX_TERM, Peer};
use replica::Replica;
pub use replica::{Role, Versioned};

/// Why a write was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// A delete of a missing key.
    #[error("key not found")]
    NotFound,
    /// A compare-and-set expected another version.
    #[error("expected version {expected}, but the key is at version {current}")]
    VersionMismatch {
        /// The version expected.
        expected: u64,
        /// The key's version (0 if absent).
        current: u64,
    },
    /// This node is not the leader.
    #[error("not the leader")]
    NotLeader(Option<String>),
    /// Not acknowledged as the mode requires, in time: the outcome is unknown.
    #[error("{0}")]
    NotReplicated(String),
    /// The node cannot write to its disk, or its replication stopped.
    #[error("{0}")]
    Unavailable(String),
    /// A peer's request that no correct leader sends: refused, nothing changed.
    #[error("{0}")]
    Invalid(String),
}

impl From<WriteError> for ApiError {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::NotFound => ApiError::Internal("unreachable".into()),
            WriteError::VersionMismatch { expected, current } => {
                ApiError::VersionMismatch { expected, current }
            }
            WriteError::NotLeader(leader) => ApiError::NotLeader { leader },
            WriteError::NotReplicated(message) => ApiError::NotReplicated(message),
            WriteError::Unavailable(message) if plumbing::unfinished::is_unfinished(&message) => {
                ApiError::NotImplemented(message)
            }
            WriteError::Unavailable(message) => ApiError::Unavailable(message),
            WriteError::Invalid(message) => ApiError::InvalidBody(message),
        }
    }
}

/// A read's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// The key's value and version, if it exists.
    pub found: Option<Versioned>,
    /// How far the answering node has applied its log.
    pub applied_index: u64,
    /// The answering node's role.
    pub role: &'static str,
}

/// One replica.
#[derive(Debug)]
pub struct Node {
    config: Config,
    replica: Mutex<Replica>,
    storage: Storage,
    /// Bumped on every change the replication tasks may care about.
    changed: watch::Sender<u64>,
    /// The commit index, for writers waiting on it.
    commit: watch::Sender<u64>,
    /// Set when a replication task died (an unfinished exercise, or a bug).
    fault: watch::Sender<Option<String>>,
    http: reqwest::Client,
    started: Instant,
}

impl Node {
    /// Recovers the node from its data directory and starts its committer. Call
    /// [`Node::spawn_replication`] from inside a runtime to start replicating.
    pub fn open(config: Config) -> Result<Arc<Self>, RecoveryError> {
        let recovered = recover(config.disk.as_ref(), &config.data_dir)?;
        let is_leader = config.leader_id == config.id;
        let leader_url = if is_leader {
            Some(config.advertise_url.clone())
        } else {
            config
                .peers
                .iter()
                .find(|p| p.id == config.leader_id)
                .map(|p| p.url.clone())
        };
        let mut replica = Replica {
            role: if is_leader {
                Role::Leader
            } else {
                Role::Follower
            },
            term: recovered.meta.term,
            leader_id: Some(config.leader_id),
            leader_url,
            snapshot_index: 0,
            snapshot_term: 0,
            entries: Vec::new(),
            map: HashMap::new(),
            applied: 0,
            commit: 0,
            progress: BTreeMap::new(),
        };
        replica.install(recovered.snapshot);
        replica.entries = recovered.entries;
        if is_leader {
            // The leader's map holds its whole log: a write's compare-and-set must see every
            // write before it, committed or not.
            let entries = replica.entries.clone();
            for entry in &entries {
                replica.apply(entry);
            }
            let last = LogView::last_index(&replica);
            for peer in &config.peers {
                replica.progress.insert(peer.id, Progress::new(last));
            }
        }
        let durable = LogView::last_index(&replica);
        let replica_for_snapshots: Arc<Mutex<Option<std::sync::Weak<Node>>>> = Arc::default();
        let for_committer = Arc::clone(&replica_for_snapshots);
        let storage = Storage::start(
            Arc::clone(&config.disk),
            config.data_dir.clone(),
            recovered.log,
            durable,
            config.compact_after_bytes,
            move || {
                let node = for_committer
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .as_ref()
                    .and_then(std::sync::Weak::upgrade);
                match node {
                    Some(node) => {
                        let mut replica = node.lock();
                        let snapshot = replica.snapshot();
                        replica.compact_to(&snapshot);
                        snapshot
                    }
                    None => Snapshot::default(),
                }
            },
        )?;
        let http = plumbing::cluster_key::peer_client(config.peer_timeout, &config.cluster_key)
            .map_err(std::io::Error::other)?;
        if is_leader && replica.term == 0 {
            // The configured leader leads term 1. Not waited for: a crash before it is
            // durable only means term 1 is taken again on restart, by the same node.
            replica.term = 1;
            let _ = storage.submit(Job::SaveTerm(1));
        }
        let commit = replica.commit;
        let node = Arc::new(Node {
            config,
            replica: Mutex::new(replica),
            storage,
            changed: watch::Sender::new(0),
            commit: watch::Sender::new(commit),
            fault: watch::Sender::new(None),
            http,
            started: Instant::now(),
        });
        *replica_for_snapshots
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::downgrade(&node));
        Ok(node)
    }

    fn lock(&self) -> MutexGuard<'_, Replica> {
        self.replica.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bump(&self) {
        self.changed.send_modify(|c| *c = c.wrapping_add(1));
    }

    /// The node's id.
    pub fn id(&self) -> u64 {
        self.config.id
    }

    /// The node's settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Starts one replication task per peer (they idle while this node is a follower).
    pub fn spawn_replication(self: &Arc<Self>) {
        for peer in self.config.peers.clone() {
            let node = Arc::clone(self);
            let task = tokio::spawn(Arc::clone(&node).replicate(peer.clone()));
            tokio::spawn(async move {
                if let Err(e) = task.await
                    && e.is_panic()
                {
                    let message = plumbing::unfinished::payload_message(e.into_panic().as_ref())
                        .trim_start_matches("not yet implemented: ")
                        .to_string();
                    tracing::error!(peer = peer.id, %message, "the replication task died");
                    node.fault.send_replace(Some(message));
                }
            });
        }
    }
}

impl Node {
    /// The node's state for `GET /status`.
    pub fn status(&self) -> Status {
        let replica = self.lock();
        let last_index = LogView::last_index(&*replica);
        let followers = replica
            .progress
            .iter()
            .map(|(&id, p)| FollowerStatus {
                id,
                url: self
                    .config
                    .peers
                    .iter()
                    .find(|peer| peer.id == id)
                    .map(|peer| peer.url.clone())
                    .unwrap_or_default(),
                next_index: p.next_index,
                match_index: p.match_index,
                lag: last_index.saturating_sub(p.match_index),
                failures: p.failures,
            })
            .collect();
        Status {
            id: self.config.id,
            role: replica.role.name().into(),
            term: replica.term,
            leader_id: replica.leader_id,
            leader: replica.leader_url.clone(),
            ack_mode: self.config.ack_mode,
            keys: replica.map.len(),
            last_index,
            last_term: replica.last_term(),
            durable_index: self.storage.durable_index(),
            commit_index: replica.commit,
            applied_index: replica.applied,
            snapshot_index: replica.snapshot_index,
            log: self.storage.stats(),
            followers,
            uptime_ms: self.started.elapsed().as_millis() as u64,
        }
    }

    /// Why the node cannot serve, if it cannot: its disk failed or replication died.
    pub fn failure(&self) -> Option<String> {
        self.storage
            .failure()
            .or_else(|| self.fault.borrow().clone())
    }
}
