// This file is yours to edit: replace each `todo!()` with your code, then run the
// chapter's tests. It was generated from solutions/chapter3/replication.rs by `cargo xtask exercises`;
// running that again overwrites your work, so do it only to start over.
//! The replication protocol's core: plain structs and functions, no I/O.
//!
//! Exercises 3.1 to 3.4 live here. Nothing in this file touches a socket, a clock or a
//! file: the async shell in [`crate::node`] calls these functions and does what they
//! say, and the tests (and the deterministic simulator) call them directly.
//!
//! - A **follower** checks every append request against its own log
//!   ([`check_append`], exercise 3.1): the log-matching check.
//! - The **leader** keeps a [`Progress`] per follower: where to send from next, how much
//!   is known to match, how long to wait after a failure (exercise 3.2).
//! - The leader's **commit index** follows from its own durable log and the followers'
//!   acknowledgements, by the cluster's [`AckMode`] ([`commit_index`], exercise 3.3).
//! - What to send a follower next, entries or a snapshot, is [`plan`] (exercise 3.4).

// The stubs leave some parameters, imports and helpers unused until you write the code;
// delete this line once every exercise in the file is done.
#![allow(unused_variables, unused_imports, dead_code)]

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One entry of the replicated log: a write, at its index, from a leader's term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    /// Its position in the log (1, 2, 3, ...); also the write's version.
    pub index: u64,
    /// The term of the leader that created it.
    pub term: u64,
    /// The key written.
    pub key: String,
    /// The new value, or `None` for a delete.
    pub value: Option<String>,
}

/// When the leader acknowledges a write to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AckMode {
    /// Once the leader's own log has it durably. Fast; a leader crash can lose it.
    Async,
    /// Once a majority of the nodes (the leader included) have it durably.
    #[default]
    Quorum,
    /// Once every node has it durably. One slow or dead node stops all writes.
    All,
}

/// What a follower knows about its own log, as the append check needs it.
pub trait LogView {
    /// The highest term this node has seen.
    fn current_term(&self) -> u64;
    /// The index of the last entry (0 for an empty log).
    fn last_index(&self) -> u64;
    /// The term of the entry at `index`: `Some(0)` for index 0, `None` when the log does
    /// not reach `index` or the entry was compacted into the snapshot.
    fn term_at(&self, index: u64) -> Option<u64>;
    /// The last index covered by the snapshot (0 if none); entries up to here are gone.
    fn snapshot_index(&self) -> u64;
    /// The term of the entry at [`LogView::snapshot_index`].
    fn snapshot_term(&self) -> u64;
    /// Entries up to here are applied to the map and can no longer be undone.
    fn applied_index(&self) -> u64;
    /// The first index of the run of entries that share the term of the entry at `index`
    /// and end there (never before the first entry after the snapshot).
    fn first_index_of_term_at(&self, index: u64) -> u64 {
        let Some(term) = self.term_at(index) else {
            return index;
        };
        let mut first = index;
        while first > self.snapshot_index() + 1 && self.term_at(first - 1) == Some(term) {
            first -= 1;
        }
        first
    }
}

/// What a leader asks of a follower: "after the entry at `prev_index` (of term
/// `prev_term`), your log is `entries`; everything up to `leader_commit` is committed".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppendRequest {
    /// The leader's term.
    pub term: u64,
    /// The leader's id.
    pub leader_id: u64,
    /// Where clients reach the leader (followers pass it on in `421 not_leader`).
    pub leader_url: String,
    /// The index just before `entries`.
    pub prev_index: u64,
    /// The term of the entry at `prev_index`.
    pub prev_term: u64,
    /// The entries to append (empty: a heartbeat that carries the commit index).
    pub entries: Vec<LogEntry>,
    /// The leader's commit index.
    pub leader_commit: u64,
}

/// A follower's answer to an append (or to a snapshot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case", deny_unknown_fields)]
pub enum AppendResponse {
    /// The log now matches the leader's up to `match_index`, durably.
    Accepted {
        /// The follower's term.
        term: u64,
        /// The last index known to match the leader's log.
        match_index: u64,
    },
    /// The log does not contain the entry the request builds on: send from `hint` instead.
    Mismatch {
        /// The follower's term.
        term: u64,
        /// The index the leader should send from next.
        hint: u64,
    },
    /// The entries that differ are already applied (or compacted): send a snapshot.
    NeedSnapshot {
        /// The follower's term.
        term: u64,
    },
    /// The request comes from a leader of an older term: it is no longer the leader.
    StaleTerm {
        /// The follower's (newer) term.
        term: u64,
    },
}

/// The follower's verdict on an append request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendDecision {
    /// The request's term is older than ours: refuse it.
    StaleTerm,
    /// Our log does not have a matching entry at `prev_index`: ask for entries from `hint`.
    Mismatch {
        /// The index the leader should send from next.
        hint: u64,
    },
    /// An entry that differs from the leader's is already applied: only a snapshot helps.
    NeedSnapshot,
    /// Apply the request.
    Accept {
        /// Drop every entry from this index on before appending (a conflicting suffix).
        truncate_from: Option<u64>,
        /// Append `request.entries[append_from..]`: the ones before are already in the log.
        append_from: usize,
        /// The last index now known to match the leader's log.
        match_index: u64,
        /// The new commit index: the leader's, but never past `match_index`.
        commit: u64,
    },
}

// ANCHOR: check_append
/// Exercise 3.1: the follower's log-matching check.
///
/// An append is accepted only if the follower's log has the entry the request builds on
/// (`prev_index` with `prev_term`). Then each entry of the request is either already
/// there (same index and term: skip it), in conflict (same index, other term: truncate
/// from there, unless it is already applied) or new (append it).
pub fn check_append(log: &impl LogView, request: &AppendRequest) -> AppendDecision {
    // EXERCISE 3.1: the follower's append check: stale terms, log matching, conflicts
    // HINT: A deposed leader must change nothing, and a late or repeated append must be harmless.
    todo!(
        "exercise 3.1 is not implemented yet: edit exercises/chapter3/replication.rs: the follower's append check: stale terms, log matching, conflicts (book: chapter 3, exercise 1)"
    )
}
// ANCHOR_END: check_append

/// The shortest and the longest wait before retrying an unreachable follower.
pub const RETRY_MIN: Duration = Duration::from_millis(10);
/// See [`RETRY_MIN`].
pub const RETRY_MAX: Duration = Duration::from_millis(1_000);

/// What the leader knows about one follower.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The next index to send.
    pub next_index: u64,
    /// The last index known to be in the follower's log (durably, and matching ours).
    pub match_index: u64,
    /// Set when the follower asked for a snapshot; cleared when one is accepted.
    pub needs_snapshot: bool,
    /// Failed calls in a row (for the retry backoff).
    pub failures: u32,
}

impl Progress {
    /// A follower the leader knows nothing about yet: optimistically assume its log is
    /// ours, and let the first append's answer say otherwise.
    pub fn new(leader_last_index: u64) -> Self {
        Self {
            next_index: leader_last_index + 1,
            match_index: 0,
            needs_snapshot: false,
            failures: 0,
        }
    }

    // ANCHOR: progress
    /// The follower accepted everything up to `match_index`.
    pub fn on_accepted(&mut self, match_index: u64) {
        // EXERCISE 3.2: the leader's per-follower progress and its backoff
        // HINT: Answers arrive late and twice: what is known to match never stops matching.
        todo!(
            "exercise 3.2 is not implemented yet: edit exercises/chapter3/replication.rs: the leader's per-follower progress and its backoff (book: chapter 3, exercise 2)"
        )
    }

    /// The follower's log does not match at `next_index - 1`; it suggests `hint`.
    pub fn on_mismatch(&mut self, hint: u64) {
        // EXERCISE 3.2: the leader's per-follower progress and its backoff
        // HINT: Step back, but never below what is known to match.
        todo!(
            "exercise 3.2 is not implemented yet: edit exercises/chapter3/replication.rs: the leader's per-follower progress and its backoff (book: chapter 3, exercise 2)"
        )
    }

    /// The follower asked for a snapshot.
    pub fn on_need_snapshot(&mut self) {
        self.needs_snapshot = true;
        self.failures = 0;
    }

    /// The follower did not answer: how long to wait before the next try.
    pub fn on_unreachable(&mut self) -> Duration {
        // EXERCISE 3.2: the leader's per-follower progress and its backoff
        // HINT: A dead follower should cost the leader little, and a recovered one should not wait long: how should the wait grow, and what stops it growing for ever?
        todo!(
            "exercise 3.2 is not implemented yet: edit exercises/chapter3/replication.rs: the leader's per-follower progress and its backoff (book: chapter 3, exercise 2)"
        )
    }
    // ANCHOR_END: progress
}

// ANCHOR: commit_index
/// Exercise 3.3: the highest index the leader may call committed.
///
/// `leader_durable` is the last index durable in the leader's own log;
/// `follower_matches` the `match_index` of every follower (reachable or not).
pub fn commit_index(mode: AckMode, leader_durable: u64, follower_matches: &[u64]) -> u64 {
    // EXERCISE 3.3: the commit index for each acknowledgement mode
    // HINT: Count the leader too: how many nodes hold at least a given index?
    todo!(
        "exercise 3.3 is not implemented yet: edit exercises/chapter3/replication.rs: the commit index for each acknowledgement mode (book: chapter 3, exercise 3)"
    )
}
// ANCHOR_END: commit_index

/// What the leader's log looks like to [`plan`].
pub trait LeaderLog {
    /// The index of the last entry.
    fn last_index(&self) -> u64;
    /// The last index the snapshot covers: entries up to it are no longer in the log.
    fn snapshot_index(&self) -> u64;
    /// The term of the entry at `index`, if the log (or the snapshot's last entry) has it.
    fn term_at(&self, index: u64) -> Option<u64>;
}

/// What to send a follower next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// An append with the entries `from..=to` after `prev_index`/`prev_term`
    /// (`from > to`: none, a heartbeat).
    Entries {
        /// The index before the first entry sent.
        prev_index: u64,
        /// Its term.
        prev_term: u64,
        /// The first index to send.
        from: u64,
        /// The last index to send.
        to: u64,
    },
    /// The entries the follower needs are compacted away (or it asked): send the snapshot.
    Snapshot,
}

// ANCHOR: plan
/// Exercise 3.4: catch-up. What to send a follower at `progress`, at most `max_batch`
/// entries at a time.
pub fn plan(progress: &Progress, log: &impl LeaderLog, max_batch: u64) -> Plan {
    // EXERCISE 3.4: catch-up: a batch of entries from next_index, or the snapshot
    // HINT: The entry *before* the batch matters: the follower checks its term.
    todo!(
        "exercise 3.4 is not implemented yet: edit exercises/chapter3/replication.rs: catch-up: a batch of entries from next_index, or the snapshot (book: chapter 3, exercise 4)"
    )
}
// ANCHOR_END: plan
