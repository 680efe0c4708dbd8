//! The vocabulary of chapter 5's protocol, shared by the core, the shell, the simulator
//! and the API: what the log holds ([`Entry`], [`Command`]), what nodes send each other
//! ([`Message`]), what must survive a crash ([`HardState`]), what the core hands back
//! ([`Ready`]), and its settings ([`Timing`]). No exercise lives here: the exercises are
//! the core's rules, in `raft.rs`.

use serde::{Deserialize, Serialize};

/// A node's id in the group.
pub type NodeId = u64;

/// The most entries one append message carries.
pub const MAX_BATCH: usize = 64;
/// The most key and value bytes one append carries past its first entry, so that an
/// append always fits in a request between nodes (an entry holds at most 1 MiB).
pub const MAX_APPEND_BYTES: usize = 1024 * 1024;

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
}

impl Message {
    /// The sender's term.
    pub fn term(&self) -> u64 {
        match self {
            Message::RequestVote { term, .. }
            | Message::Vote { term, .. }
            | Message::Append { term, .. }
            | Message::AppendReply { term, .. } => *term,
        }
    }
}

/// What the caller must do after feeding the core, in this order: persist the hard
/// state and the entries, then send the messages, then apply the committed entries. It
/// carries everything the caller needs, so the caller never reads the core's log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// The new term and vote, if they changed.
    pub hard_state: Option<HardState>,
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
}

impl Ready {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.hard_state.is_none()
            && self.log_from.is_none()
            && self.entries.is_empty()
            && self.committed.is_empty()
            && self.messages.is_empty()
    }
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
}

/// Who sent a write, so that a retry is recognised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestId {
    /// The client's id (`x-client-id`).
    pub client: String,
    /// The write's number for that client (`x-request-id`).
    pub seq: u64,
}

/// What a log entry asks the state machine to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Nothing: the entry a new leader appends to commit its predecessors' entries.
    Noop,
    /// A read, ordered with the writes by going through the log.
    Get {
        /// The key.
        key: String,
    },
    /// A write, conditional if `if_version` is set.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// Write only if the key is at this version (0: absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        if_version: Option<u64>,
        /// The client's request id, if it sent one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<RequestId>,
    },
    /// A delete.
    Delete {
        /// The key.
        key: String,
        /// The client's request id, if it sent one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<RequestId>,
    },
}

impl Command {
    /// The bytes of keys and values it carries (what bounds a message's size).
    pub fn payload_len(&self) -> usize {
        match self {
            Command::Noop => 0,
            Command::Get { key } | Command::Delete { key, .. } => key.len(),
            Command::Put { key, value, .. } => key.len() + value.len(),
        }
    }
}
