//! The follower's side: an append or a snapshot from the leader, checked before the core
//! sees it, made durable before it is answered.

use super::*;

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

impl Node {
    /// Adopts a newer term (durably, before acting on it) and the leader that sent it.
    pub(super) fn follow(
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
    pub(super) fn check_sender(
        &self,
        term: u64,
        leader_id: u64,
        leader_url: &str,
    ) -> Result<(), WriteError> {
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

    pub(super) fn refuse(&self, reason: String) -> WriteError {
        tracing::warn!(%reason, "refused a peer's request");
        WriteError::Invalid(reason)
    }
}
