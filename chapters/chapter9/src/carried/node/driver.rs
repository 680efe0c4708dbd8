//! Carried from `chapters/chapter6/src/node/driver.rs` by `cargo xtask exercises`:
//! chapter 6's driver. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs nothing of this chapter's own.
//!
//! The driver: the one task that owns the core, the storage and the state machine, and
//! works in rounds (feed, persist, send, apply, compact).

use super::*;
use crate::api::LOG_TAIL;
use crate::protocol::{Entry, HardState, Snapshot, check_snapshot_taken};

impl Driver {
    pub(super) async fn run(mut self, mut inbox: mpsc::Receiver<Event>, tick: Duration) {
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let mut events = Vec::new();
            tokio::select! {
                event = inbox.recv() => match event {
                    Some(event) => events.push(event),
                    None => return, // the node is gone
                },
                _ = ticker.tick() => {}
            }
            while events.len() < 1024 {
                match inbox.try_recv() {
                    Ok(event) => events.push(event),
                    Err(_) => break,
                }
            }
            self.round(events).await;
        }
    }

    pub(super) fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// One round: feed, persist, send, apply, compact.
    pub(super) async fn round(&mut self, events: Vec<Event>) {
        if let Some(fault) = self.fault() {
            for event in events {
                match event {
                    Event::Command { reply, .. } => {
                        let _ = reply.send(Err(fault.clone()));
                    }
                    Event::Messages { reply, .. } => {
                        let _ = reply.send(Err(Refused::Stopped(fault.to_string())));
                    }
                }
            }
            return;
        }
        let now = self.now();
        let term_before = self.raft.term();
        let fed = std::panic::catch_unwind(AssertUnwindSafe(|| {
            for event in events {
                self.feed(now, event);
            }
            let candidate_before = self.raft.role() == Role::Candidate;
            let term = self.raft.term();
            self.raft.tick(now);
            if self.raft.role() == Role::Candidate && (!candidate_before || self.raft.term() > term)
            {
                self.elections += 1;
            }
            self.raft.take_ready()
        }));
        let Some(mut ready) = self.core_or_stop(fed) else {
            return;
        };
        if self.raft.term() > term_before {
            tracing::info!(term = self.raft.term(), role = %self.raft.role(), "new term");
        }
        loop {
            let (snapshot, entries, committed, due) = (
                ready.snapshot.take(),
                std::mem::take(&mut ready.entries),
                std::mem::take(&mut ready.committed),
                ready.snapshot_due.take(),
            );
            if let Err(e) = self
                .persist(ready.hard_state, snapshot.clone(), entries)
                .await
            {
                tracing::error!(error = %e, "cannot persist; this node stops");
                self.stop(CommandError::Disk(e.to_string()));
                return;
            }
            self.send(ready);
            if let Some(snapshot) = snapshot
                && snapshot.index > self.machine.applied_index()
                && !self.install(&snapshot)
            {
                return;
            }
            // The state machine runs code too (in chapter 7, exercises): a panic there
            // stops this node with its message, as one in the core does.
            let applied = std::panic::catch_unwind(AssertUnwindSafe(|| self.apply(committed)));
            if self.core_or_stop(applied).is_none() {
                return;
            }
            // A snapshot is due: take it, and persist what compacting changed.
            let Some(index) = due.filter(|&i| i == self.machine.applied_index()) else {
                break;
            };
            let data = self.machine.snapshot();
            let before = self.raft.snapshot().index;
            let compacted = std::panic::catch_unwind(AssertUnwindSafe(|| {
                let done = self.raft.compact(index, data);
                (done, self.raft.take_ready())
            }));
            let Some((done, next)) = self.core_or_stop(compacted) else {
                return;
            };
            if let Err(message) = check_snapshot_taken(index, before, self.raft.snapshot().index) {
                tracing::error!(%message, "the core asks for a snapshot it does not take; this node stops");
                self.stop(CommandError::Fault(message));
                return;
            }
            if done {
                self.counters.snapshots_taken += 1;
                tracing::debug!(index, "took a snapshot");
            }
            ready = next;
            if ready.is_empty() {
                break;
            }
        }
        self.publish();
    }

    /// The core's (or the state machine's) answer, or, if it panicked (an unfinished
    /// exercise, a bug), `None` once this node has stopped with the panic's message.
    fn core_or_stop<T>(&mut self, result: std::thread::Result<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(panic) => {
                let message = plumbing::unfinished::payload_message(panic.as_ref())
                    .trim_start_matches("not yet implemented: ")
                    .to_string();
                tracing::error!(%message, "the Raft core or the state machine panicked; this node stops");
                self.stop(CommandError::Fault(message));
                None
            }
        }
    }

    /// The machine restarts from a snapshot the leader sent (checked when it arrived:
    /// see [`check_against`]). Answers whether it could.
    fn install(&mut self, snapshot: &Snapshot) -> bool {
        match self.machine.restore(&snapshot.data, snapshot.index) {
            Ok(machine) => {
                self.machine = machine;
                self.counters.snapshots_installed += 1;
                tracing::info!(index = snapshot.index, "installed the leader's snapshot");
                true
            }
            Err(e) => {
                self.stop(CommandError::Fault(format!(
                    "the snapshot at index {} does not restore: {e}",
                    snapshot.index
                )));
                false
            }
        }
    }

    pub(super) fn feed(&mut self, now: u64, event: Event) {
        match event {
            Event::Messages { envelopes, reply } => {
                let count = envelopes.len();
                let mut refused = Vec::new();
                for envelope in envelopes {
                    match check_against(&self.raft, &self.machine, envelope.from, &envelope.message)
                    {
                        Ok(()) => {
                            if let Message::Append { entries, .. } = &envelope.message {
                                self.counters.entries_received += entries.len() as u64;
                            }
                            self.raft.step(now, envelope.from, envelope.message)
                        }
                        Err(reason) => {
                            tracing::warn!(from = envelope.from, %reason, "refused a peer's message");
                            refused.push(reason);
                        }
                    }
                }
                let answer = match refused.first() {
                    None => Ok(count),
                    Some(first) => Err(Refused::Invalid(format!(
                        "{} of {count} messages refused, the first because: {first}",
                        refused.len()
                    ))),
                };
                let _ = reply.send(answer);
            }
            Event::Command { command, reply } => match self.raft.propose(command) {
                Ok((index, term)) => {
                    self.waiting.insert(index, (term, reply));
                }
                Err(not_leader) => {
                    let leader = not_leader.leader.and_then(|id| {
                        let shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
                        shared.addresses.public(id)
                    });
                    let _ = reply.send(Err(CommandError::NotLeader { leader }));
                }
            },
        }
    }

    /// Makes a `Ready`'s term, vote, snapshot and entries durable, on a blocking thread:
    /// the term and vote first; then either the snapshot and the log after it, which
    /// replaces the stored log, or the entries appended.
    pub(super) async fn persist(
        &mut self,
        hard_state: Option<HardState>,
        snapshot: Option<Snapshot>,
        entries: Vec<Entry>,
    ) -> std::io::Result<()> {
        if hard_state.is_none() && snapshot.is_none() && entries.is_empty() {
            return Ok(());
        }
        let Some(mut storage) = self.storage.take() else {
            return Err(std::io::Error::other("storage lost after a failed write"));
        };
        let (storage, result) = tokio::task::spawn_blocking(move || {
            let result = match &snapshot {
                Some(snapshot) => storage
                    .persist(hard_state, &[])
                    .and_then(|()| storage.save_snapshot(snapshot, &entries)),
                None => storage.persist(hard_state, &entries),
            };
            (storage, result)
        })
        .await
        .map_err(std::io::Error::other)?;
        self.counters.log_bytes = storage.log_bytes();
        self.storage = Some(storage);
        result
    }

    pub(super) fn send(&mut self, ready: Ready) {
        for (to, message) in ready.messages {
            if let Some(outbox) = self.outboxes.get(&to) {
                // A full queue drops the message: the peer has been slow or away, and
                // the leader resends whatever it did not acknowledge.
                let _ = outbox.try_send(Envelope {
                    from: self.raft.id(),
                    from_url: self.advertise_url.clone(),
                    to,
                    message,
                });
            }
        }
    }

    /// Applies newly committed entries and answers the clients waiting for them.
    pub(super) fn apply(&mut self, committed: Vec<Entry>) {
        for entry in committed {
            let index = entry.index;
            let result = self.machine.apply(&entry);
            if let Some((term, reply)) = self.waiting.remove(&index) {
                let answer = if term == entry.term {
                    Ok(result)
                } else {
                    Err(CommandError::LostLeadership)
                };
                let _ = reply.send(answer);
            }
        }
        // A node that no longer leads cannot promise anything about what it appended.
        if self.raft.role() != Role::Leader {
            for (_, (_, reply)) in std::mem::take(&mut self.waiting) {
                let _ = reply.send(Err(CommandError::LostLeadership));
            }
        }
        // Clients that gave up (timed out) left their senders behind.
        self.waiting.retain(|_, (_, reply)| !reply.is_closed());
    }

    pub(super) fn publish(&self) {
        let status = status_of(
            &self.raft,
            &self.machine,
            self.counters,
            self.elections,
            self.started.elapsed(),
        );
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        let fault = shared.fault.as_ref().map(ToString::to_string);
        let leader = status.leader_id.and_then(|id| shared.addresses.public(id));
        shared.status = Status {
            leader,
            fault,
            ..status
        };
    }

    /// Why the node stopped acting, if it did.
    pub(super) fn fault(&self) -> Option<CommandError> {
        let shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        shared.fault.clone()
    }

    pub(super) fn stop(&mut self, fault: CommandError) {
        for (_, (_, reply)) in std::mem::take(&mut self.waiting) {
            let _ = reply.send(Err(fault.clone()));
        }
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fault = Some(fault);
        self.publish();
    }
}

pub(super) fn status_of(
    raft: &Raft,
    machine: &Machine,
    counters: Counters,
    elections: u64,
    uptime: Duration,
) -> Status {
    let now = uptime.as_millis() as u64;
    let snapshot = raft.snapshot();
    let tail_from = raft
        .last_index()
        .saturating_sub(LOG_TAIL - 1)
        .max(snapshot.index + 1);
    Status {
        id: raft.id(),
        role: raft.role().to_string(),
        term: raft.term(),
        voted_for: raft.voted_for(),
        leader_id: raft.leader(),
        leader: None,
        keys: machine.len(),
        last_index: raft.last_index(),
        last_term: raft.last_term(),
        commit_index: raft.commit_index(),
        applied_index: machine.applied_index(),
        elections,
        election_due_ms: (raft.role() != Role::Leader)
            .then(|| raft.election_deadline().saturating_sub(now)),
        // Read from the log itself, so a status never runs exercise code.
        log_tail: raft.log()[(tail_from - snapshot.index - 1) as usize..]
            .iter()
            .map(|e| e.term)
            .collect(),
        log_tail_from: tail_from,
        snapshot_index: snapshot.index,
        snapshot_term: snapshot.term,
        snapshot_bytes: snapshot.data.len() as u64,
        log_entries: raft.log().len() as u64,
        log_bytes: counters.log_bytes,
        snapshots_taken: counters.snapshots_taken,
        snapshots_installed: counters.snapshots_installed,
        entries_received: counters.entries_received,
        timing: raft.timing(),
        uptime_ms: now,
        fault: None,
    }
}
