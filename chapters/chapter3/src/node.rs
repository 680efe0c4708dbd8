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

/// Another node of the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its id.
    pub id: u64,
    /// Its address, e.g. `http://127.0.0.1:7001`.
    pub url: String,
}

/// A node's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The node's id.
    pub id: u64,
    /// The other nodes of the group.
    pub peers: Vec<Peer>,
    /// Which node starts as the leader.
    pub leader_id: u64,
    /// Where clients reach this node (sent to followers, who pass it on in `421`s).
    pub advertise_url: String,
    /// When a write is acknowledged.
    pub ack_mode: AckMode,
    /// How long a request may take before it is answered with `504 timeout`.
    pub request_timeout: Duration,
    /// How long a write may wait for the acknowledgements its mode needs.
    pub write_timeout: Duration,
    /// How often the leader contacts an idle follower (to carry the commit index).
    pub heartbeat: Duration,
    /// How long the leader waits for a follower's answer.
    pub peer_timeout: Duration,
    /// The most entries in one append.
    pub max_batch: u64,
    /// Where the log, snapshot and term live.
    pub data_dir: PathBuf,
    /// The disk they live on.
    pub disk: Arc<dyn Disk>,
    /// Snapshot and empty the log once it exceeds this many bytes.
    pub compact_after_bytes: u64,
    /// The cluster's secret: required on `/internal/`, sent to followers.
    pub cluster_key: ClusterKey,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            id: 0,
            peers: Vec::new(),
            leader_id: 0,
            advertise_url: "http://127.0.0.1:7000".into(),
            ack_mode: AckMode::Quorum,
            request_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(5),
            heartbeat: Duration::from_millis(100),
            peer_timeout: Duration::from_secs(2),
            max_batch: 256,
            data_dir: PathBuf::from("data"),
            disk: Arc::new(RealDisk),
            compact_after_bytes: 64 * 1024 * 1024,
            cluster_key: ClusterKey::none(),
        }
    }
}

/// The largest term a request may carry: far beyond any real group's, far from overflow.
pub const MAX_TERM: u64 = 1 << 62;

/// The most key and value bytes an append carries past its first entry (an entry holds
/// at most 1 MiB), so every append fits in [`crate::server::MAX_APPEND_BODY_BYTES`].
pub const MAX_APPEND_BYTES: usize = 1024 * 1024;

/// Refuses entries no correct leader sends: not numbered `prev_index + 1, + 2, ...`, or
/// of a later term than the append's (the core and the log trust both).
fn check_entries(request: &AppendRequest) -> Result<(), String> {
    for (i, entry) in request.entries.iter().enumerate() {
        let expected = request.prev_index.checked_add(1 + i as u64);
        if Some(entry.index) != expected || entry.term > request.term {
            return Err(format!(
                "append entry {i} has index {} and term {}; expected index {} and a term no \
                 higher than the append's {}",
                entry.index,
                entry.term,
                expected.map_or("past the last".to_string(), |e| e.to_string()),
                request.term
            ));
        }
    }
    Ok(())
}

/// A key's value and the index of the write that stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The value.
    pub value: String,
    /// The write's index.
    pub version: u64,
}

/// The node's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Accepts writes and replicates them.
    Leader,
    /// Follows the leader's log; serves reads.
    Follower,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Follower => "follower",
        }
    }
}

/// Everything behind the node's lock.
#[derive(Debug)]
struct Replica {
    role: Role,
    term: u64,
    leader_id: Option<u64>,
    leader_url: Option<String>,
    snapshot_index: u64,
    snapshot_term: u64,
    /// The log after the snapshot: indexes `snapshot_index + 1 ..= last_index()`.
    entries: Vec<LogEntry>,
    map: HashMap<String, Versioned>,
    applied: u64,
    commit: u64,
    progress: BTreeMap<u64, Progress>,
}

impl Replica {
    fn entry(&self, index: u64) -> Option<&LogEntry> {
        let offset = index.checked_sub(self.snapshot_index + 1)?;
        self.entries.get(usize::try_from(offset).ok()?)
    }

    fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.snapshot_term, |e| e.term)
    }

    fn apply(&mut self, entry: &LogEntry) {
        match &entry.value {
            Some(value) => {
                self.map.insert(
                    entry.key.clone(),
                    Versioned {
                        value: value.clone(),
                        version: entry.index,
                    },
                );
            }
            None => {
                self.map.remove(&entry.key);
            }
        }
        self.applied = entry.index;
    }

    /// Applies every committed entry not yet applied.
    fn apply_committed(&mut self) {
        while self.applied < self.commit.min(LogView::last_index(self)) {
            let Some(entry) = self.entry(self.applied + 1).cloned() else {
                break;
            };
            self.apply(&entry);
        }
    }

    /// The map at `applied`, plus the entries after it.
    fn snapshot(&self) -> Snapshot {
        let entries = self
            .map
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    SnapshotValue {
                        value: v.value.clone(),
                        version: v.version,
                    },
                )
            })
            .collect();
        Snapshot {
            last_index: self.applied,
            last_term: LogView::term_at(self, self.applied).unwrap_or(self.snapshot_term),
            entries,
            tail: self
                .entries
                .iter()
                .filter(|e| e.index > self.applied)
                .cloned()
                .collect(),
        }
    }

    /// Forgets the entries a snapshot now covers.
    fn compact_to(&mut self, snapshot: &Snapshot) {
        if snapshot.last_index > self.snapshot_index {
            self.entries.retain(|e| e.index > snapshot.last_index);
            self.snapshot_index = snapshot.last_index;
            self.snapshot_term = snapshot.last_term;
        }
    }

    fn install(&mut self, mut snapshot: Snapshot) {
        self.map = std::mem::take(&mut snapshot.entries)
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    Versioned {
                        value: v.value,
                        version: v.version,
                    },
                )
            })
            .collect();
        self.snapshot_index = snapshot.last_index;
        self.snapshot_term = snapshot.last_term;
        self.entries = snapshot.tail;
        self.applied = snapshot.last_index;
        self.commit = self.commit.max(snapshot.last_index);
    }
}

impl LogView for Replica {
    fn current_term(&self) -> u64 {
        self.term
    }
    fn last_index(&self) -> u64 {
        self.entries.last().map_or(self.snapshot_index, |e| e.index)
    }
    fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.snapshot_index {
            return Some(self.snapshot_term);
        }
        self.entry(index).map(|e| e.term)
    }
    fn snapshot_index(&self) -> u64 {
        self.snapshot_index
    }
    fn snapshot_term(&self) -> u64 {
        self.snapshot_term
    }
    fn applied_index(&self) -> u64 {
        self.applied
    }
}

impl LeaderLog for Replica {
    fn last_index(&self) -> u64 {
        LogView::last_index(self)
    }
    fn snapshot_index(&self) -> u64 {
        self.snapshot_index
    }
    fn term_at(&self, index: u64) -> Option<u64> {
        LogView::term_at(self, index)
    }
}

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

/// What a replication task does after an answer.
#[derive(Debug)]
enum AfterAnswer {
    Continue,
    /// Accepted, carrying the commit index that was sent.
    Committed(u64),
    StepDown(u64),
    Wait(Duration),
}

/// What the leader sends a follower.
#[derive(Debug)]
enum AppendRequestBody {
    Append(AppendRequest),
    Snapshot(SnapshotRequest),
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

    // ANCHOR: write
    /// The leader's write path: check, append, replicate, wait for the mode's acknowledgements.
    pub async fn write(
        &self,
        key: &str,
        value: Option<String>,
        if_version: Option<u64>,
    ) -> Result<u64, WriteError> {
        let (index, done) = {
            let mut replica = self.lock();
            if replica.role != Role::Leader {
                return Err(WriteError::NotLeader(replica.leader_url.clone()));
            }
            let current = replica.map.get(key).map_or(0, |v| v.version);
            if value.is_none() && current == 0 {
                return Err(WriteError::NotFound);
            }
            if let Some(expected) = if_version
                && expected != current
            {
                return Err(WriteError::VersionMismatch { expected, current });
            }
            let entry = LogEntry {
                index: LogView::last_index(&*replica) + 1,
                term: replica.term,
                key: key.to_string(),
                value,
            };
            let done = self
                .storage
                .submit(Job::Append(vec![entry.clone()]))
                .map_err(WriteError::Unavailable)?;
            replica.entries.push(entry.clone());
            replica.apply(&entry);
            (entry.index, done)
        };
        self.bump(); // wake the replication tasks
        let deadline = tokio::time::Instant::now() + self.config.write_timeout;
        Storage::wait(done).await.map_err(WriteError::Unavailable)?;
        self.update_commit();
        let mut commit = self.commit.subscribe();
        let mut fault = self.fault.subscribe();
        tokio::select! {
            reached = tokio::time::timeout_at(deadline, commit.wait_for(|c| *c >= index)) => {
                match reached {
                    Ok(Ok(_)) => Ok(index),
                    _ => Err(WriteError::NotReplicated(self.not_replicated(index))),
                }
            }
            Ok(fault) = fault.wait_for(Option::is_some) => {
                Err(WriteError::Unavailable(fault.clone().unwrap_or_default()))
            }
        }
    }
    // ANCHOR_END: write

    fn not_replicated(&self, index: u64) -> String {
        let replica = self.lock();
        let have = 1 + replica
            .progress
            .values()
            .filter(|p| p.match_index >= index)
            .count();
        let total = 1 + self.config.peers.len();
        let needed = match self.config.ack_mode {
            AckMode::Async => 1,
            AckMode::Quorum => total / 2 + 1,
            AckMode::All => total,
        };
        let mode = match self.config.ack_mode {
            AckMode::Async => "async",
            AckMode::Quorum => "quorum",
            AckMode::All => "all",
        };
        format!(
            "write {index} is in the leader's log, but only {have} of {total} nodes have it durably \
             and `{mode}` acknowledgement needs {needed}; gave up after {:?}. It may still be \
             replicated and applied later: treat its outcome as unknown",
            self.config.write_timeout
        )
    }

    /// Recomputes the commit index from the leader's disk and the followers' progress.
    fn update_commit(&self) {
        let mut replica = self.lock();
        if replica.role != Role::Leader {
            return;
        }
        let matches: Vec<u64> = replica.progress.values().map(|p| p.match_index).collect();
        let durable = self
            .storage
            .durable_index()
            .min(LogView::last_index(&*replica));
        let commit = commit_index(self.config.ack_mode, durable, &matches);
        if commit > replica.commit {
            replica.commit = commit;
            drop(replica);
            self.commit.send_replace(commit);
            self.bump();
        }
    }

    /// A read. The leader answers once the version read is committed; a follower
    /// answers at once from its applied state, and says how far that is.
    pub async fn read(&self, key: &str) -> Result<Read, WriteError> {
        let (found, applied_index, role) = {
            let replica = self.lock();
            (replica.map.get(key).cloned(), replica.applied, replica.role)
        };
        if role == Role::Leader
            && let Some(found) = &found
        {
            let mut commit = self.commit.subscribe();
            let deadline = tokio::time::Instant::now() + self.config.write_timeout;
            let reached =
                tokio::time::timeout_at(deadline, commit.wait_for(|c| *c >= found.version)).await;
            if !matches!(reached, Ok(Ok(_))) {
                return Err(WriteError::NotReplicated(format!(
                    "the value read (version {}) is not committed yet and was not within {:?}",
                    found.version, self.config.write_timeout
                )));
            }
        }
        Ok(Read {
            found,
            applied_index,
            role: role.name(),
        })
    }

    /// Adopts a newer term (durably, before acting on it) and the leader that sent it.
    fn follow(
        &self,
        replica: &mut Replica,
        term: u64,
        leader_id: u64,
        leader_url: &str,
        waits: &mut Vec<tokio::sync::oneshot::Receiver<Result<(), String>>>,
    ) -> Result<(), String> {
        if term > replica.term {
            replica.term = term;
            waits.push(self.storage.submit(Job::SaveTerm(term))?);
        }
        if replica.role == Role::Leader && leader_id != self.config.id {
            tracing::warn!(
                term,
                leader_id,
                "another node leads this term; stepping down"
            );
            replica.role = Role::Follower;
            replica.progress.clear();
        }
        replica.leader_id = Some(leader_id);
        replica.leader_url = Some(leader_url.to_string());
        Ok(())
    }

    // ANCHOR: on_append
    /// A follower's handling of `POST /internal/append`.
    pub async fn on_append(&self, request: AppendRequest) -> Result<AppendResponse, WriteError> {
        self.check_sender(request.term, request.leader_id, &request.leader_url)?;
        check_entries(&request).map_err(|reason| self.refuse(reason))?;
        let mut waits = Vec::new();
        let (decision, term) = {
            let mut replica = self.lock();
            let decision = check_append(&*replica, &request);
            if decision == AppendDecision::StaleTerm {
                return Ok(AppendResponse::StaleTerm { term: replica.term });
            }
            self.follow(
                &mut replica,
                request.term,
                request.leader_id,
                &request.leader_url,
                &mut waits,
            )
            .map_err(WriteError::Unavailable)?;
            if let AppendDecision::Accept {
                truncate_from,
                append_from,
                ..
            } = &decision
            {
                if let Some(from) = truncate_from {
                    tracing::info!(from, "dropping a suffix the leader does not have");
                    replica.entries.retain(|e| e.index < *from);
                }
                let new = request.entries.get(*append_from..).unwrap_or_default();
                replica.entries.extend_from_slice(new);
                // Even with nothing new: a job queued behind the earlier ones is done only
                // when they are, so the answer never claims entries not yet durable.
                waits.push(
                    self.storage
                        .submit(Job::Append(new.to_vec()))
                        .map_err(WriteError::Unavailable)?,
                );
            }
            (decision, replica.term)
        };
        for done in waits {
            Storage::wait(done).await.map_err(WriteError::Unavailable)?;
        }
        Ok(match decision {
            AppendDecision::StaleTerm => AppendResponse::StaleTerm { term },
            AppendDecision::Mismatch { hint } => AppendResponse::Mismatch { term, hint },
            AppendDecision::NeedSnapshot => AppendResponse::NeedSnapshot { term },
            AppendDecision::Accept {
                match_index,
                commit,
                ..
            } => {
                let mut replica = self.lock();
                let commit = commit.min(LogView::last_index(&*replica));
                replica.commit = replica.commit.max(commit);
                replica.apply_committed();
                self.commit.send_replace(replica.commit);
                AppendResponse::Accepted { term, match_index }
            }
        })
    }
    // ANCHOR_END: on_append

    /// A follower's handling of `POST /internal/snapshot`: replace everything.
    pub async fn on_snapshot(
        &self,
        request: SnapshotRequest,
    ) -> Result<AppendResponse, WriteError> {
        self.check_sender(request.term, request.leader_id, &request.leader_url)?;
        let mut waits = Vec::new();
        let (term, match_index) = {
            let mut replica = self.lock();
            if request.term < replica.term {
                return Ok(AppendResponse::StaleTerm { term: replica.term });
            }
            self.follow(
                &mut replica,
                request.term,
                request.leader_id,
                &request.leader_url,
                &mut waits,
            )
            .map_err(WriteError::Unavailable)?;
            let snapshot = request.snapshot;
            let already_have = snapshot.last_index < replica.snapshot_index
                || LogView::term_at(&*replica, snapshot.last_index) == Some(snapshot.last_term);
            if snapshot.last_index <= replica.applied && already_have {
                // A late or repeated snapshot of entries this node already has: installing
                // it would roll the map and the log back past what it has acknowledged.
                (replica.term, snapshot.last_index)
            } else {
                tracing::info!(
                    last_index = snapshot.last_index,
                    keys = snapshot.entries.len(),
                    "installing the leader's snapshot"
                );
                waits.push(
                    self.storage
                        .submit(Job::InstallSnapshot(snapshot.clone()))
                        .map_err(WriteError::Unavailable)?,
                );
                replica.install(snapshot);
                self.commit.send_replace(replica.commit);
                (replica.term, LogView::last_index(&*replica))
            }
        };
        for done in waits {
            Storage::wait(done).await.map_err(WriteError::Unavailable)?;
        }
        Ok(AppendResponse::Accepted { term, match_index })
    }

    /// Refuses a request whose sender no correct leader of this group could be: not a
    /// member, no http(s) URL, or an absurd term (which would fence every real leader).
    fn check_sender(&self, term: u64, leader_id: u64, leader_url: &str) -> Result<(), WriteError> {
        if !self.config.peers.iter().any(|p| p.id == leader_id) {
            return Err(self.refuse(format!(
                "node {leader_id} is not a member of this group (peers: {:?})",
                self.config.peers.iter().map(|p| p.id).collect::<Vec<_>>()
            )));
        }
        if leader_url.len() > 256
            || !(leader_url.starts_with("http://") || leader_url.starts_with("https://"))
        {
            return Err(self.refuse(format!("leader_url {leader_url:?} is not an http(s) URL")));
        }
        if term > MAX_TERM {
            return Err(self.refuse(format!(
                "term {term} is implausibly large (the limit is {MAX_TERM})"
            )));
        }
        Ok(())
    }

    fn refuse(&self, reason: String) -> WriteError {
        tracing::warn!(%reason, "refused a peer's request");
        WriteError::Invalid(reason)
    }

    /// The given procedure for a hand failover: make this node the leader of a new term.
    /// Run it only once the old leader is dead (or cut off for good), and on the follower
    /// whose log is most up to date, by (last term, last index): nothing stops two
    /// leaders in this chapter but the terms.
    pub async fn promote(&self) -> Result<(), WriteError> {
        let done = {
            let mut replica = self.lock();
            if replica.role == Role::Leader {
                return Ok(());
            }
            replica.term += 1;
            let done = self
                .storage
                .submit(Job::SaveTerm(replica.term))
                .map_err(WriteError::Unavailable)?;
            replica.role = Role::Leader;
            replica.leader_id = Some(self.config.id);
            replica.leader_url = Some(self.config.advertise_url.clone());
            // The leader's map holds its whole log.
            let pending: Vec<LogEntry> = replica
                .entries
                .iter()
                .filter(|e| e.index > replica.applied)
                .cloned()
                .collect();
            for entry in &pending {
                replica.apply(entry);
            }
            let last = LogView::last_index(&*replica);
            replica.progress = self
                .config
                .peers
                .iter()
                .map(|p| (p.id, Progress::new(last)))
                .collect();
            tracing::warn!(term = replica.term, last_index = last, "promoted to leader");
            done
        };
        Storage::wait(done).await.map_err(WriteError::Unavailable)?;
        self.bump();
        self.update_commit();
        Ok(())
    }

    fn step_down(&self, term: u64) {
        let mut replica = self.lock();
        if term <= replica.term && replica.role == Role::Follower {
            return;
        }
        tracing::warn!(term, "a follower knows a newer term; stepping down");
        if term > replica.term {
            replica.term = term;
            // Not waited for: stepping down is safe whether or not the term is durable yet.
            let _ = self.storage.submit(Job::SaveTerm(term));
        }
        replica.role = Role::Follower;
        replica.leader_id = None;
        replica.leader_url = None;
        replica.progress.clear();
        drop(replica);
        self.bump();
    }

    // ANCHOR: replicate
    /// The leader's task for one follower: ship what it lacks, in batches, forever.
    async fn replicate(self: Arc<Self>, peer: Peer) {
        let mut changed = self.changed.subscribe();
        let mut sent_commit = 0;
        let mut last_sent = Instant::now() - self.config.heartbeat;
        loop {
            let outgoing = {
                let mut replica = self.lock();
                if replica.role != Role::Leader {
                    None
                } else {
                    let last = LogView::last_index(&*replica);
                    let progress = replica
                        .progress
                        .entry(peer.id)
                        .or_insert_with(|| Progress::new(last))
                        .clone();
                    Some(self.outgoing(&replica, &progress, sent_commit, last_sent))
                }
            };
            let Some(Some((term, commit, body))) = outgoing else {
                // Nothing to do: wait for a new write, a commit to pass on, or the heartbeat.
                tokio::select! {
                    _ = changed.changed() => {}
                    _ = tokio::time::sleep(self.config.heartbeat) => {}
                }
                continue;
            };
            last_sent = Instant::now();
            let (path, json) = match &body {
                AppendRequestBody::Append(request) => ("append", serde_json::to_vec(request)),
                AppendRequestBody::Snapshot(request) => ("snapshot", serde_json::to_vec(request)),
            };
            // An encoding failure is an error like any other, never an empty body.
            let answer = match json {
                Ok(json) => self.call(&peer, path, json).await,
                Err(e) => Err(anyhow::anyhow!("encoding the {path} request failed: {e}")),
            };
            match self.on_answer(peer.id, term, answer, commit) {
                AfterAnswer::Continue => {}
                AfterAnswer::Committed(commit) => {
                    sent_commit = commit.max(sent_commit);
                    self.update_commit();
                }
                AfterAnswer::StepDown(term) => self.step_down(term),
                AfterAnswer::Wait(delay) => tokio::time::sleep(delay).await,
            }
        }
    }
    // ANCHOR_END: replicate

    /// Records a follower's answer in its progress; says what the task does next.
    fn on_answer(
        &self,
        peer: u64,
        term: u64,
        answer: anyhow::Result<AppendResponse>,
        sent_commit: u64,
    ) -> AfterAnswer {
        let mut replica = self.lock();
        if replica.role != Role::Leader || replica.term != term {
            return AfterAnswer::Continue; // an answer to a leadership that is over
        }
        let Some(progress) = replica.progress.get_mut(&peer) else {
            return AfterAnswer::Continue;
        };
        match answer {
            Ok(AppendResponse::Accepted { match_index, .. }) => {
                progress.on_accepted(match_index);
                AfterAnswer::Committed(sent_commit)
            }
            Ok(AppendResponse::Mismatch { hint, .. }) => {
                let before = progress.next_index;
                progress.on_mismatch(hint);
                if progress.next_index == before {
                    // No way back through the log (the follower lost entries it had
                    // acknowledged?): start it over from a snapshot.
                    progress.on_need_snapshot();
                }
                AfterAnswer::Continue
            }
            Ok(AppendResponse::NeedSnapshot { .. }) => {
                progress.on_need_snapshot();
                AfterAnswer::Continue
            }
            Ok(AppendResponse::StaleTerm { term }) => AfterAnswer::StepDown(term),
            Err(error) => {
                let delay = progress.on_unreachable();
                tracing::debug!(peer, %error, ?delay, "follower unreachable; retrying");
                AfterAnswer::Wait(delay)
            }
        }
    }

    /// The request to send a follower at `progress`, or `None` if it has everything.
    fn outgoing(
        &self,
        replica: &Replica,
        progress: &Progress,
        sent_commit: u64,
        last_sent: Instant,
    ) -> Option<(u64, u64, AppendRequestBody)> {
        let body = match plan(progress, replica, self.config.max_batch) {
            Plan::Entries {
                prev_index,
                prev_term,
                from,
                to,
            } => {
                let idle = from > to
                    && sent_commit >= replica.commit
                    && last_sent.elapsed() < self.config.heartbeat;
                if idle {
                    return None;
                }
                // At most `max_batch` entries, and past the first no more than
                // MAX_APPEND_BYTES of keys and values, so a batch fits a request.
                let mut bytes = 0;
                let entries = (from..=to)
                    .map_while(|i| replica.entry(i).cloned())
                    .enumerate()
                    .take_while(|(n, e)| {
                        bytes += e.key.len() + e.value.as_ref().map_or(0, String::len);
                        *n == 0 || bytes <= MAX_APPEND_BYTES
                    })
                    .map(|(_, e)| e)
                    .collect();
                AppendRequestBody::Append(AppendRequest {
                    term: replica.term,
                    leader_id: self.config.id,
                    leader_url: self.config.advertise_url.clone(),
                    prev_index,
                    prev_term,
                    entries,
                    leader_commit: replica.commit,
                })
            }
            Plan::Snapshot => AppendRequestBody::Snapshot(SnapshotRequest {
                term: replica.term,
                leader_id: self.config.id,
                leader_url: self.config.advertise_url.clone(),
                snapshot: replica.snapshot(),
            }),
        };
        Some((replica.term, replica.commit, body))
    }

    async fn call(&self, peer: &Peer, path: &str, body: Vec<u8>) -> anyhow::Result<AppendResponse> {
        let url = format!("{}/internal/{path}", peer.url.trim_end_matches('/'));
        let response = self
            .http
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if !status.is_success() {
            anyhow::bail!(
                "{url} answered {status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            );
        }
        Ok(serde_json::from_slice(&bytes)?)
    }

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
