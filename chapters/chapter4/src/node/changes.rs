//! Membership changes: installing a change and recording what it gains (on every node),
//! and carrying a join or a leave out across the cluster (on the node asked).

use super::*;
use crate::holds::Step;

impl Node {
    // ANCHOR: install
    /// Installs `change` (under the write lock), makes it durable before anything acts
    /// on it, and announces it: the pulls of the keys this node gains start then
    /// ([`crate::pulls`]).
    pub async fn install(self: &Arc<Self>, change: &Change) -> Result<Installed, ApiError> {
        self.config.holds.pass(Step::Install).await;
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
        drop(membership);
        self.config.holds.pass(Step::Pulled).await;
        Ok(())
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
    pub(super) async fn carry_out(
        self: &Arc<Self>,
        change: Change,
    ) -> Result<ClusterView, ApiError> {
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

    pub(super) async fn peer_view(&self, peer: &Member) -> anyhow::Result<ClusterView> {
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
