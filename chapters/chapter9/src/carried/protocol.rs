//! Carried from `chapters/chapter6/src/protocol.rs` by `cargo xtask exercises`:
//! chapter 6's protocol. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs of this chapter's own: `command::Command`.
//!
//! The vocabulary of chapter 6's protocol, shared by the core, the shell, the simulator
//! and the API: what the log holds ([`Entry`], [`Command`]), what replaces its beginning
//! ([`Snapshot`]), what nodes send each other ([`Message`]), what must survive a crash
//! ([`HardState`], [`Persisted`]), what the core hands back ([`Ready`]), and its settings
//! ([`Timing`], [`Compaction`]). No exercise lives here: the exercises are the core's
//! rules, in `raft.rs`.

use serde::{Deserialize, Serialize};

/// A node's id in the group.
pub type NodeId = u64;

/// The most entries one append message carries.
pub const MAX_BATCH: usize = 64;
/// The most key and value bytes one append carries past its first entry, so that an
/// append always fits in a request between nodes (an entry holds at most 1 MiB).
pub const MAX_APPEND_BYTES: usize = 1024 * 1024;

/// The most bytes of a snapshot one [`Message::InstallSnapshot`] may carry.
pub const MAX_CHUNK_BYTES: usize = 4 * 1024 * 1024;
/// The largest snapshot a node accepts from a leader: the state machine must fit in
/// memory (this chapter holds a snapshot whole; a production system streams it to disk).
pub const MAX_SNAPSHOT_BYTES: u64 = 256 * 1024 * 1024;

/// When a node snapshots its state machine, and how big the pieces are in which a
/// leader sends a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compaction {
    /// Snapshot once this many applied entries follow the last snapshot (etcd's
    /// `--snapshot-count`). `u64::MAX`: never.
    pub every: u64,
    /// The most snapshot bytes per [`Message::InstallSnapshot`] (at most
    /// [`MAX_CHUNK_BYTES`]).
    pub chunk_bytes: usize,
}

impl Compaction {
    /// A snapshot every 10,000 entries, sent in 1 MiB chunks.
    pub const DEFAULT: Compaction = Compaction {
        every: 10_000,
        chunk_bytes: 1024 * 1024,
    };
    /// Never snapshot: chapter 5's log, kept whole (for comparisons).
    pub const NEVER: Compaction = Compaction {
        every: u64::MAX,
        chunk_bytes: 1024 * 1024,
    };

    /// Checks the values make sense.
    pub fn validate(&self) -> Result<(), String> {
        if self.every == 0 {
            return Err("a snapshot every 0 entries: --snapshot-every must be positive".into());
        }
        if self.chunk_bytes == 0 || self.chunk_bytes > MAX_CHUNK_BYTES {
            return Err(format!(
                "snapshot chunks of {} bytes: they must be 1 to {MAX_CHUNK_BYTES}",
                self.chunk_bytes
            ));
        }
        Ok(())
    }
}

impl Default for Compaction {
    fn default() -> Self {
        Compaction::DEFAULT
    }
}

/// The state machine as of one log position, standing in for every entry up to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The last index it covers (its "last included index").
    pub index: u64,
    /// The term of the entry at `index` (what log matching compares at the boundary).
    pub term: u64,
    /// The state machine's own encoding of its state (the map and the table of
    /// answered requests): the core never reads it.
    pub data: String,
}

/// What a node made durable, as recovery reads it back: the core starts from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Persisted {
    /// The term and vote.
    pub hard_state: HardState,
    /// The latest snapshot, if one was taken or installed.
    pub snapshot: Option<Snapshot>,
    /// The entries after the snapshot (after index 0 without one), in order.
    pub log: Vec<Entry>,
}

/// Timeouts, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// The shortest election timeout.
    pub election_min_ms: u64,
    /// The longest election timeout: each follower draws its own in `min..=max`.
    pub election_max_ms: u64,
    /// How often a leader sends heartbeats (appends, empty if nothing is new).
    pub heartbeat_ms: u64,
}

impl Timing {
    /// 150–300 ms election timeouts, a heartbeat every 50 ms: a dead leader is replaced
    /// in a few hundred milliseconds.
    pub const FAST: Timing = Timing {
        election_min_ms: 150,
        election_max_ms: 300,
        heartbeat_ms: 50,
    };
    /// 1–2 s election timeouts, a heartbeat every 100 ms (at most 10 a second): less
    /// traffic, slower failover, fewer false suspicions on a busy machine.
    pub const SLOW: Timing = Timing {
        election_min_ms: 1000,
        election_max_ms: 2000,
        heartbeat_ms: 100,
    };

    /// Checks the values make sense: `0 < heartbeat < min <= max`.
    pub fn validate(&self) -> Result<(), String> {
        if self.heartbeat_ms == 0 || self.election_min_ms == 0 {
            return Err("timeouts must be positive".into());
        }
        if self.election_min_ms > self.election_max_ms {
            return Err(format!(
                "the election timeout range {}..{} ms is empty",
                self.election_min_ms, self.election_max_ms
            ));
        }
        if self.heartbeat_ms >= self.election_min_ms {
            return Err(format!(
                "heartbeats every {} ms would not stop followers whose timeout can be {} ms",
                self.heartbeat_ms, self.election_min_ms
            ));
        }
        Ok(())
    }
}

impl Default for Timing {
    fn default() -> Self {
        Timing::FAST
    }
}

/// What a node is doing in its term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Follows a leader, or waits for one.
    Follower,
    /// Asks for votes.
    Candidate,
    /// Accepts writes and replicates them.
    Leader,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        })
    }
}

/// One log entry: a command, and the term of the leader that created it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its position, from 1.
    pub index: u64,
    /// The term of the leader that appended it.
    pub term: u64,
    /// What to apply.
    pub command: Command,
}

/// What must survive a crash besides the log: the term and whom this node voted for in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HardState {
    /// The highest term this node has seen.
    pub term: u64,
    /// The candidate it voted for in `term`, if any.
    pub voted_for: Option<NodeId>,
}

/// What nodes send each other. Every message carries its sender's term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// A candidate asks for a vote.
    RequestVote {
        /// The candidate's term.
        term: u64,
        /// The index of its last entry.
        last_log_index: u64,
        /// The term of its last entry.
        last_log_term: u64,
    },
    /// The answer to a vote request.
    Vote {
        /// The voter's term.
        term: u64,
        /// Whether it voted for the candidate.
        granted: bool,
    },
    /// A leader's entries (none for a heartbeat) and commit index.
    Append {
        /// The leader's term.
        term: u64,
        /// The index just before `entries`.
        prev_index: u64,
        /// The term of the entry at `prev_index`.
        prev_term: u64,
        /// Entries `prev_index + 1 ..`.
        entries: Vec<Entry>,
        /// The leader's commit index.
        commit: u64,
    },
    /// The answer to an append.
    AppendReply {
        /// The follower's term.
        term: u64,
        /// Whether the follower's log now matches the leader's up to `match_index`.
        success: bool,
        /// On success, the last index known to match; on failure, the highest index
        /// that might (the leader retries from just after it).
        match_index: u64,
    },
    /// A piece of the leader's snapshot, for a follower that needs entries the leader
    /// no longer has.
    InstallSnapshot {
        /// The leader's term.
        term: u64,
        /// The snapshot's last included index.
        last_index: u64,
        /// The term of the entry at `last_index`.
        last_term: u64,
        /// Where `data` starts in the snapshot's bytes.
        offset: u64,
        /// The snapshot's bytes from `offset` (at most [`Compaction::chunk_bytes`]).
        data: String,
        /// Whether this piece is the last.
        done: bool,
    },
    /// The answer to a piece of a snapshot.
    SnapshotReply {
        /// The follower's term.
        term: u64,
        /// The snapshot the answer is about.
        last_index: u64,
        /// How many of its bytes the follower holds: the leader sends from there.
        received: u64,
        /// Whether the follower now holds everything up to `last_index` (installed
        /// now, or covered already).
        installed: bool,
    },
}

impl Message {
    /// The sender's term.
    pub fn term(&self) -> u64 {
        match self {
            Message::RequestVote { term, .. }
            | Message::Vote { term, .. }
            | Message::Append { term, .. }
            | Message::AppendReply { term, .. }
            | Message::InstallSnapshot { term, .. }
            | Message::SnapshotReply { term, .. } => *term,
        }
    }
}

/// What the caller must do after feeding the core, in this order: persist the hard
/// state, the snapshot and the entries, then send the messages, then restore the state
/// machine from the snapshot (if it is ahead of it) and apply the committed entries, then
/// take a snapshot if one is due. It carries everything the caller needs, so the caller
/// never reads the core's log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// The new term and vote, if they changed.
    pub hard_state: Option<HardState>,
    /// A new snapshot (taken here, or installed from the leader): make it durable, then
    /// replace the whole stored log with [`Ready::entries`] (which then start at
    /// `snapshot.index + 1`). If it is ahead of the state machine, the state machine
    /// restarts from it.
    pub snapshot: Option<Snapshot>,
    /// The log changed from this index on: write [`Ready::entries`] there, replacing
    /// whatever was stored at and after `log_from`.
    pub log_from: Option<u64>,
    /// The log's entries from `log_from` to its end (none if `log_from` is `None`).
    pub entries: Vec<Entry>,
    /// Entries newly known to be committed, in index order, each handed out once: the
    /// state machine applies them after this `Ready` is persisted.
    pub committed: Vec<Entry>,
    /// Messages to send, with their destination.
    pub messages: Vec<(NodeId, Message)>,
    /// Enough entries were applied since the last snapshot: once `committed` is applied,
    /// snapshot the state machine (at this index) and hand it to [`Raft::compact`].
    ///
    /// [`Raft::compact`]: crate::raft::Raft::compact
    pub snapshot_due: Option<u64>,
}

impl Ready {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.hard_state.is_none()
            && self.snapshot.is_none()
            && self.log_from.is_none()
            && self.entries.is_empty()
            && self.committed.is_empty()
            && self.messages.is_empty()
            && self.snapshot_due.is_none()
    }
}

/// Checks a snapshot the core asked for: due at `asked`, past the last one (at `before`),
/// and taken by [`Raft::compact`] (the snapshot is at `after`). Otherwise the core would
/// ask again for ever and the shell's loop would never end: the error says which
/// exercise answered what.
///
/// [`Raft::compact`]: crate::raft::Raft::compact
pub fn check_snapshot_taken(asked: u64, before: u64, after: u64) -> Result<(), String> {
    if asked <= before {
        return Err(format!(
            "exercise 6.2's snapshot_due asked for a snapshot at index {asked}, but the last \
             one is already at {before}: a snapshot is due only once `every` entries past \
             the last one were applied (book: chapter 6, exercise 2)"
        ));
    }
    if after != asked {
        return Err(format!(
            "exercise 6.3's compact was asked for a snapshot at index {asked}, applied and \
             past the last one ({before}), but the snapshot is at {after} after it: compact \
             takes every such snapshot (book: chapter 6, exercise 3)"
        ));
    }
    Ok(())
}

/// Why a command was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotLeader {
    /// The leader this node knows of, if any.
    pub leader: Option<NodeId>,
}

/// What a leader knows about one follower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The next index to send.
    pub next_index: u64,
    /// The highest index known to be replicated on the follower.
    pub match_index: u64,
    /// Whether the follower answered since the leader last checked its quorum.
    pub recently_heard: bool,
    /// While the follower is sent a snapshot: how many of its bytes it acknowledged.
    pub snapshot_offset: u64,
}

/// What a log entry asks the state machine to do: the chapter's own (its own file, so
/// that the core and this protocol can carry over to a chapter whose machine applies
/// something else).
pub use crate::command::Command;
