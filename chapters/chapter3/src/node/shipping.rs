//! The leader's replication tasks: one per follower, shipping what it lacks in batches
//! (or the snapshot), backing off when it does not answer.

use super::*;

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

impl Node {
    // ANCHOR: replicate
    /// The leader's task for one follower: ship what it lacks, in batches, forever.
    pub(super) async fn replicate(self: Arc<Self>, peer: Peer) {
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
}
