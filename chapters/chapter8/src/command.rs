//! What the coordinator's replicated log holds: the coordinator's inputs, each stamped
//! with the time on the leader that proposed it.
//!
//! Chapter 6's core and protocol are carried unchanged (`raft.rs`, `protocol.rs`); they
//! need from this file only a `Command` with a `Noop` and its payload's size. The time is
//! part of the entry, not read when it is applied: every replica applies the same entry
//! at a different moment, and must still reach the same state.

use serde::{Deserialize, Serialize};

use crate::coordinator::{Millis, Report, WorkerId};

/// Chapter 6's API names the id of a client's request. The coordinator needs none: every
/// call a worker makes is safe to repeat (a repeated request gets the same attempt, a
/// repeated report the same verdict), so a worker is named by its own name only.
pub type RequestId = WorkerId;

/// One entry of the coordinator's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Command {
    /// Nothing: the entry a new leader appends to commit its predecessors' entries.
    Noop,
    /// A worker asks for work.
    Request { worker: WorkerId, now: Millis },
    /// A worker says it is alive.
    Heartbeat { worker: WorkerId, now: Millis },
    /// A worker reports on an attempt.
    Report {
        worker: WorkerId,
        now: Millis,
        report: Report,
    },
    /// Time passed on the leader.
    Tick { now: Millis },
    /// A new leader took over at `now`.
    TookOver { now: Millis },
    /// What the job has done so far (a read, through the log so it is never stale).
    Query,
}

impl Command {
    /// The bytes of names it carries (what the core counts to bound a message's size).
    pub fn payload_len(&self) -> usize {
        match self {
            Command::Request { worker, .. }
            | Command::Heartbeat { worker, .. }
            | Command::Report { worker, .. } => worker.len(),
            Command::Noop | Command::Tick { .. } | Command::TookOver { .. } | Command::Query => 0,
        }
    }
}
