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
use crate::transfer;
use crate::wal::LogOptions;
use plumbing::cluster_key::ClusterKey;

/// The file, in the data directory, that keeps the node's membership across restarts.
pub const MEMBERSHIP_FILE: &str = "cluster.json";

/// A node's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The node's id.
    pub id: NodeId,
    /// The URL other nodes and clients reach it at (`http://` + its address by default).
    pub advertise_url: Option<String>,
    /// The founding members (this node included), used when the data directory holds no
    /// membership yet. Empty: the node waits to be added with `POST /cluster/join`.
    pub members: Vec<Member>,
    /// How keys are placed.
    pub placement: Placement,
    /// Where the log, the snapshot and the membership live.
    pub data_dir: std::path::PathBuf,
    /// The disk they live on.
    pub disk: Arc<dyn Disk>,
    /// When to fsync and when to compact.
    pub log: LogOptions,
    /// How long a client request may take before it is answered with `504 timeout`.
    pub request_timeout: Duration,
    /// How long a forwarded request or a call to a peer may take.
    pub peer_timeout: Duration,
    /// How long a request for a key that is still moving here waits before `503`.
    pub move_wait: Duration,
    /// How long a membership change may take before its coordinator gives up waiting.
    pub change_timeout: Duration,
    /// The cluster's secret: required on `/internal/` and on membership changes, sent to
    /// peers.
    pub cluster_key: ClusterKey,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            id: 1,
            advertise_url: None,
            members: Vec::new(),
            placement: Placement::Consistent { vnodes: 128 },
            data_dir: std::path::PathBuf::from("data"),
            disk: Arc::new(plumbing::disk::RealDisk),
            log: LogOptions::default(),
            request_timeout: Duration::from_secs(10),
            peer_timeout: Duration::from_secs(5),
            move_wait: Duration::from_secs(5),
            change_timeout: Duration::from_secs(30),
            cluster_key: ClusterKey::none(),
        }
    }
}

/// A request on one key, as it travels from node to node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvOp {
    /// `GET /kv/{key}`.
    Get,
    /// `PUT /kv/{key}`.
    Put(PutRequest),
    /// `DELETE /kv/{key}`.
    Delete,
}

/// The answer to a `/kv/` request, wherever it was served.
#[derive(Debug, Clone, PartialEq)]
pub struct KvReply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON body (an entry, a delete, or an error).
    pub body: serde_json::Value,
    /// The node that served it.
    pub served_by: NodeId,
    /// How many times it was forwarded.
    pub hops: u32,
}

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
        node.resume_pulls()?;
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

    fn resume_pulls(self: &Arc<Self>) -> anyhow::Result<()> {
        let membership = self.membership.try_read()?;
        if let Some(change) = membership.last_change() {
            for id in membership.pending() {
                if let Some(from) = change.from.member(id) {
                    self.spawn_pull(change.clone(), from.clone());
                }
            }
        }
        Ok(())
    }

    // ANCHOR: install
    /// Installs `change` (under the write lock), makes it durable before anything acts
    /// on it, and starts pulling the keys this node gains.
    pub async fn install(self: &Arc<Self>, change: &Change) -> Result<Installed, ApiError> {
        let mut membership = self.membership.write().await;
        let before = membership.clone();
        let installed = membership.install(change).map_err(install_error)?;
        if installed.changed {
            if let Err(e) = self.save(&membership) {
                *membership = before;
                return Err(ApiError::Unavailable(format!(
                    "node {} cannot save its new ring: {e:#}",
                    self.id
                )));
            }
            for from in &installed.pull_from {
                self.spawn_pull(change.clone(), from.clone());
            }
            self.changed.send_modify(|n| *n += 1);
            tracing::info!(
                epoch = change.to.epoch(),
                pull_from = ?installed.pull_from.iter().map(|m| m.id).collect::<Vec<_>>(),
                "installed a new ring"
            );
        }
        Ok(installed)
    }
    // ANCHOR_END: install

    /// Records that every key gained from `from` is here and durable: requests for them
    /// are served from now on.
    pub async fn mark_pulled(&self, from: NodeId) -> Result<(), ApiError> {
        let mut membership = self.membership.write().await;
        let before = membership.clone();
        membership.pulled(from);
        if let Err(e) = self.save(&membership) {
            *membership = before;
            return Err(ApiError::Unavailable(format!(
                "node {} cannot save its ring: {e:#}",
                self.id
            )));
        }
        self.changed.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Pulls from `from` until it succeeds, the pull is no longer needed, or the node
    /// stops (the task dies with the node's runtime; a restart resumes it). A pull that
    /// panics, or that the old owner cannot serve because of a bug, is a fault: recorded
    /// and reported to every request that waits for it, not retried.
    fn spawn_pull(self: &Arc<Self>, change: Change, from: Member) {
        let node = Arc::clone(self);
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(20);
            loop {
                {
                    let membership = node.membership.read().await;
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
                        let message =
                            plumbing::unfinished::payload_message(join.into_panic().as_ref());
                        node.record_fault(format!(
                            "the pull from node {} panicked: {message}",
                            from.id
                        ));
                        return;
                    }
                    Err(join) => join.to_string(),
                };
                tracing::warn!(from = from.id, %error, "pull failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        });
    }

    fn record_fault(&self, fault: String) {
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

    // ANCHOR: kv
    /// Serves a `/kv/` request that has been forwarded `hops` times: here if this node
    /// owns the key, after the key's pull if it is still moving here, else at its owner.
    pub async fn kv(&self, key: &str, op: KvOp, hops: u32) -> Result<KvReply, ApiError> {
        let deadline = Instant::now() + self.config.move_wait;
        loop {
            let mut changed = self.changed.subscribe();
            let membership = self.membership.read().await;
            match membership.route(key, hops) {
                Route::Local => {
                    // The synchronous half runs under the read lock; the wait does not.
                    let reply = match op {
                        KvOp::Get => {
                            let (found, durable) = self.store.begin_read(key);
                            drop(membership);
                            durable.await.map_err(|e| store_error(key, e))?;
                            let found = found.ok_or_else(|| ApiError::NotFound {
                                key: key.to_string(),
                            })?;
                            json(&Entry {
                                key: key.to_string(),
                                value: found.value,
                                version: found.version,
                            })
                        }
                        KvOp::Put(put) => {
                            let value = put.value.clone();
                            let pending = self
                                .store
                                .begin_write(key, Some(put.value), put.if_version)
                                .map_err(|e| store_error(key, e))?;
                            drop(membership);
                            let version =
                                pending.durable().await.map_err(|e| store_error(key, e))?;
                            json(&Entry {
                                key: key.to_string(),
                                value,
                                version,
                            })
                        }
                        KvOp::Delete => {
                            let pending = self
                                .store
                                .begin_write(key, None, None)
                                .map_err(|e| store_error(key, e))?;
                            drop(membership);
                            let version =
                                pending.durable().await.map_err(|e| store_error(key, e))?;
                            json(&DeleteResponse {
                                key: key.to_string(),
                                version,
                            })
                        }
                    };
                    return Ok(KvReply {
                        status: StatusCode::OK,
                        body: reply,
                        served_by: self.id,
                        hops,
                    });
                }
                Route::Wait { from } => {
                    drop(membership);
                    if let Some(fault) = self.fault() {
                        return Err(fault_error(fault));
                    }
                    let left = deadline.saturating_duration_since(Instant::now());
                    if tokio::time::timeout(left, changed.changed()).await.is_err() {
                        return Err(ApiError::Unavailable(format!(
                            "key {key:?} is moving to node {} from node {from} and has not \
                             arrived within {:?}; nothing was written: retry shortly",
                            self.id, self.config.move_wait
                        )));
                    }
                }
                Route::Forward(owner) => {
                    drop(membership);
                    return self.forward(&owner, key, op, hops + 1).await;
                }
                Route::TooManyHops { hops } => {
                    return Err(ApiError::Unavailable(format!(
                        "the request was forwarded {hops} times without reaching the key's \
                         owner: the nodes disagree about the ring while a change spreads; retry"
                    )));
                }
                Route::NoCluster => {
                    return Err(ApiError::Unavailable(format!(
                        "node {} is not in a cluster yet: start it with --member, or add it \
                         with `chapter4 join`",
                        self.id
                    )));
                }
            }
        }
    }
    // ANCHOR_END: kv

    /// Sends a `/kv/` request on to `owner` and relays its answer.
    async fn forward(
        &self,
        owner: &Member,
        key: &str,
        op: KvOp,
        hops: u32,
    ) -> Result<KvReply, ApiError> {
        let url = format!("{}/kv/{}", owner.url, encode_segment(key));
        let request = match &op {
            KvOp::Get => self.http.get(&url),
            KvOp::Put(put) => self.http.put(&url).json(put),
            KvOp::Delete => self.http.delete(&url),
        };
        let response = request
            .header(crate::api::HOPS, hops)
            .send()
            .await
            .map_err(|e| self.peer_failure(owner, key, &op, &e))?;
        let status = response.status();
        let served_by = header_number(&response, crate::api::SERVED_BY).unwrap_or(owner.id);
        let hops = header_number(&response, crate::api::HOPS)
            .and_then(|h| u32::try_from(h).ok())
            .unwrap_or(hops);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.peer_failure(owner, key, &op, &e))?;
        let body = serde_json::from_slice(&bytes).map_err(|_| {
            ApiError::Internal(format!(
                "node {} answered {status} with a body that is not JSON",
                owner.id
            ))
        })?;
        Ok(KvReply {
            status,
            body,
            served_by,
            hops,
        })
    }

    fn peer_failure(&self, owner: &Member, key: &str, op: &KvOp, e: &reqwest::Error) -> ApiError {
        if e.is_connect() || matches!(op, KvOp::Get) {
            ApiError::Unavailable(format!(
                "node {} at {}, the owner of key {key:?}, could not be reached ({e}); \
                 nothing was written",
                owner.id, owner.url
            ))
        } else {
            ApiError::Unknown(format!(
                "node {} at {}, the owner of key {key:?}, did not answer ({e}): the write \
                 may or may not have happened; read the key before retrying",
                owner.id, owner.url
            ))
        }
    }

    /// A JSON call to a peer's internal route; a refusal comes back as its API error.
    pub async fn call_peer<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        peer: &Member,
        path: &str,
        body: &Req,
    ) -> Result<Resp, ApiError> {
        let response = self
            .http
            .post(format!("{}{path}", peer.url))
            .json(body)
            .send()
            .await
            .map_err(|e| ApiError::Unavailable(format!("node {} at {}: {e}", peer.id, peer.url)))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ApiError::Unavailable(format!("node {} at {}: {e}", peer.id, peer.url)))?;
        if status.is_success() {
            serde_json::from_slice(&bytes).map_err(|e| {
                ApiError::Internal(format!(
                    "node {}'s answer to {path} is not valid: {e}",
                    peer.id
                ))
            })
        } else {
            let body = serde_json::from_slice::<ErrorBody>(&bytes).ok();
            let code = body.as_ref().map(|b| b.error.clone()).unwrap_or_default();
            let message = body
                .map(|b| b.message)
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
            let message = format!("node {} refused {path} ({status}): {message}", peer.id);
            Err(match (status, code.as_str()) {
                (StatusCode::CONFLICT, _) => ApiError::Conflict(message),
                (_, "not_implemented") => ApiError::NotImplemented(message),
                (StatusCode::INTERNAL_SERVER_ERROR, _) => ApiError::Internal(message),
                _ => ApiError::Unavailable(message),
            })
        }
    }

    /// `GET /cluster`.
    pub async fn view(&self) -> ClusterView {
        let membership = self.membership.read().await;
        let ring = membership.ring().clone();
        let members = ring
            .shares()
            .into_iter()
            .filter_map(|(id, share)| {
                ring.member(id).map(|m| MemberView {
                    id,
                    url: m.url.clone(),
                    share,
                })
            })
            .collect();
        let last_change = membership.last_change().map(|change| {
            let moves = moved_arcs(&change.from, &change.to);
            ChangeView {
                from_epoch: change.from.epoch(),
                to_epoch: change.to.epoch(),
                moved_share: moves.as_ref().map(|m| m.iter().map(|m| m.fraction()).sum()),
                moved_arcs: moves.as_ref().map(Vec::len),
            }
        });
        ClusterView {
            me: self.id,
            ring,
            members,
            pending: membership.pending(),
            last_change,
            fault: self.fault(),
        }
    }

    /// `POST /cluster/join`: adds a running node to the ring, moves its keys to it, and
    /// answers once every node has its keys. Safe to repeat after a failure.
    pub async fn join(self: &Arc<Self>, request: JoinRequest) -> Result<ClusterView, ApiError> {
        let _one = self.coordinating.lock().await;
        let membership = self.membership.read().await.clone();
        let ring = membership.ring();
        if ring.members().is_empty() {
            return Err(ApiError::Conflict(format!(
                "node {} is not in a cluster itself: send the join to a member",
                self.id
            )));
        }
        let change = match ring.member(request.id) {
            Some(m) if m.url != request.url => {
                return Err(ApiError::Conflict(format!(
                    "node {} is already a member, at {}",
                    m.id, m.url
                )));
            }
            // Already in: finish the change that added it, if it is the last one.
            Some(_) => match membership.last_change() {
                Some(change) if change.from.member(request.id).is_none() => change,
                _ => return Ok(self.view().await),
            },
            None => Change {
                from: ring.clone(),
                to: ring
                    .with_member(Member {
                        id: request.id,
                        url: request.url,
                    })
                    .map_err(|e| ApiError::InvalidBody(e.to_string()))?,
            },
        };
        self.carry_out(change).await
    }

    /// `POST /cluster/leave`: moves a member's keys to the others, then drops it from the
    /// ring. The node itself keeps running (and forwarding) until it is stopped.
    pub async fn leave(self: &Arc<Self>, request: LeaveRequest) -> Result<ClusterView, ApiError> {
        let _one = self.coordinating.lock().await;
        let membership = self.membership.read().await.clone();
        let ring = membership.ring();
        let change = match ring.member(request.id) {
            Some(_) if ring.members().len() == 1 => {
                return Err(ApiError::Conflict(format!(
                    "node {} is the last member: its keys would have nowhere to go",
                    request.id
                )));
            }
            Some(_) => Change {
                from: ring.clone(),
                to: ring
                    .without_member(request.id)
                    .map_err(|e| ApiError::Internal(e.to_string()))?,
            },
            None => match membership.last_change() {
                Some(change) if change.from.member(request.id).is_some() => change,
                _ => {
                    return Err(ApiError::UnknownNode(request.id));
                }
            },
        };
        self.carry_out(change).await
    }

    // ANCHOR: carry_out
    /// Sends `change` to every node of both rings, then waits until none is pulling.
    async fn carry_out(self: &Arc<Self>, change: Change) -> Result<ClusterView, ApiError> {
        let mut targets: Vec<Member> = change.from.members().to_vec();
        for m in change.to.members() {
            if !targets.iter().any(|t| t.id == m.id) {
                targets.push(m.clone());
            }
        }
        let mut failed = Vec::new();
        for target in &targets {
            let outcome = if target.id == self.id {
                self.install(&change).await.map(|_| ())
            } else {
                self.call_peer::<_, InstallResponse>(target, "/internal/ring", &change)
                    .await
                    .map(|_| ())
            };
            if let Err(e) = outcome {
                failed.push(format!("node {}: {e}", target.id));
            }
        }
        if !failed.is_empty() {
            return Err(ApiError::Unavailable(format!(
                "the change to epoch {} did not reach every node ({}); the nodes it reached \
                 forward and pull as it says: repeat the same request to finish it",
                change.to.epoch(),
                failed.join("; ")
            )));
        }
        let deadline = Instant::now() + self.config.change_timeout;
        for target in &targets {
            loop {
                // A pull of this node's that gave up will never settle: say why now.
                if let Some(fault) = self.fault() {
                    return Err(fault_error(fault));
                }
                let settled = if target.id == self.id {
                    self.membership.read().await.pending().is_empty()
                } else {
                    match self.peer_view(target).await {
                        Ok(view) => {
                            if let Some(fault) = view.fault {
                                return Err(fault_error(format!("node {}: {fault}", target.id)));
                            }
                            view.ring.epoch() >= change.to.epoch() && view.pending.is_empty()
                        }
                        Err(_) => false,
                    }
                };
                if settled {
                    break;
                }
                if Instant::now() >= deadline {
                    return Err(ApiError::Unavailable(format!(
                        "node {} is still pulling keys after {:?}; the change goes on: watch \
                         GET /cluster, or repeat the request",
                        target.id, self.config.change_timeout
                    )));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(self.view().await)
    }
    // ANCHOR_END: carry_out

    async fn peer_view(&self, peer: &Member) -> anyhow::Result<ClusterView> {
        Ok(self
            .http
            .get(format!("{}/cluster", peer.url))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
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
