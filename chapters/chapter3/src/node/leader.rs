//! The leader's side: a client's write and read, the commit index, and the given hand
//! failover (`promote`) with its counterpart, stepping down.

use super::*;

impl Node {
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

    pub(super) fn not_replicated(&self, index: u64) -> String {
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
    pub(super) fn update_commit(&self) {
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

    pub(super) fn step_down(&self, term: u64) {
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
}
