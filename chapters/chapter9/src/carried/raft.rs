//! Carried from `solutions/chapter6/raft.rs` by `cargo xtask exercises`:
//! chapter 6's Raft core, exercises 6.1 and 6.4 and chapter 5's rules, finished. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs nothing of this chapter's own.
//!
//! Chapter 5's election and log rules, over a log that begins at a snapshot: no sockets,
//! no clocks.
//!
//! Exercises 6.1 and 6.4 live here, 6.2, 6.3, 6.5 and 6.6 in [`snapshots`]. A [`Raft`]
//! holds one node's role, term, vote, snapshot, log and commit index. The shell (or the
//! simulator) feeds it four things: the time ([`Raft::tick`]), a message from a peer
//! ([`Raft::step`]), a client's command ([`Raft::propose`]) and, when it asked for one,
//! a snapshot of the state machine ([`Raft::compact`]). It answers through
//! [`Raft::take_ready`]: what to persist (term and vote, snapshot, log entries) and what
//! to send. The rule every caller follows: **persist a `Ready` before sending its
//! messages or answering anyone**.
//!
//! The log no longer starts at index 1. The entries up to the snapshot's index are gone;
//! the snapshot remembers that index and the term of its entry, so log matching still has
//! a term to compare at the boundary. Index 0 is the empty log's position (term 0).

use std::collections::{BTreeMap, BTreeSet};

use crate::protocol::Command;

pub use crate::protocol::{
    Compaction, Entry, HardState, MAX_APPEND_BYTES, MAX_BATCH, MAX_CHUNK_BYTES, MAX_SNAPSHOT_BYTES,
    Message, NodeId, NotLeader, Persisted, Progress, Ready, Role, Snapshot, Timing,
};

/// The payload bytes above which an append, while unanswered, is not sent again with each
/// new proposal (see `Raft::awaiting`): small appends go at once, as in chapter 5.
pub const RESEND_BYTES: usize = 64 * 1024;

// The snapshot rules, in a file of their own (a child module sees this one's fields).
#[path = "raft/snapshots.rs"]
mod snapshots;

/// One node's Raft state.
#[derive(Debug)]
pub struct Raft {
    id: NodeId,
    peers: Vec<NodeId>,
    timing: Timing,
    compaction: Compaction,
    // Persistent: changed only through `set_hard_state`, the log helpers and the
    // snapshot rules, which record the change in `ready`.
    term: u64,
    voted_for: Option<NodeId>,
    /// The latest snapshot: it stands for every entry up to `snapshot.index` (index 0,
    /// term 0 and no data before the first one).
    snapshot: Snapshot,
    /// The entries after the snapshot: entry `i` is at position `i - snapshot.index - 1`.
    log: Vec<Entry>,
    // Volatile.
    role: Role,
    leader: Option<NodeId>,
    commit: u64,
    votes: BTreeSet<NodeId>,
    progress: BTreeMap<NodeId, Progress>,
    election_deadline: u64,
    next_heartbeat: u64,
    now: u64,
    rng: fastrand::Rng,
    ready: Ready,
    broadcast: bool,
    /// Leader only: the followers sent an append of more than [`RESEND_BYTES`] they have
    /// not yet acknowledged, with its last index and when it was sent. Until they answer
    /// it (or an election timeout passes, in case it was lost), they get heartbeats
    /// without entries: an append starts at `next_index`, so sending entries meanwhile
    /// would carry the unanswered ones again, a big one (a moving shard's piece) with
    /// every new proposal.
    awaiting: BTreeMap<NodeId, (u64, u64)>,
    /// The last index handed out to the state machine, in a `Ready`'s `committed` or as a
    /// snapshot (volatile, like the state machine it feeds, which restarts from the
    /// snapshot after a crash).
    handed_out: u64,
    /// A snapshot arriving from the leader, piece by piece.
    incoming: Option<Snapshot>,
}

impl Raft {
    /// A node starting (or restarting) as a follower, with what it persisted; `seed`
    /// drives its random timeouts; `now` is the time in milliseconds.
    pub fn new(
        id: NodeId,
        peers: Vec<NodeId>,
        (timing, compaction): (Timing, Compaction),
        persisted: Persisted,
        now: u64,
        seed: u64,
    ) -> Self {
        let Persisted {
            hard_state,
            snapshot,
            log,
        } = persisted;
        let mut raft = Raft {
            id,
            peers: peers.into_iter().filter(|&p| p != id).collect(),
            timing,
            compaction,
            term: hard_state.term,
            voted_for: hard_state.voted_for,
            snapshot: snapshot.unwrap_or(Snapshot {
                index: 0,
                term: 0,
                data: String::new(),
            }),
            log,
            role: Role::Follower,
            leader: None,
            commit: 0,
            votes: BTreeSet::new(),
            progress: BTreeMap::new(),
            election_deadline: 0,
            next_heartbeat: 0,
            now,
            rng: fastrand::Rng::with_seed(seed),
            ready: Ready::default(),
            broadcast: false,
            awaiting: BTreeMap::new(),
            handed_out: 0,
            incoming: None,
        };
        raft.start_from_snapshot();
        raft.reset_election_timer();
        raft
    }

    /// A (re)starting node: its snapshot holds only committed entries, and the shell
    /// restores its state machine from it, so both indexes start there.
    fn start_from_snapshot(&mut self) {
        self.commit = self.snapshot.index;
        self.handed_out = self.snapshot.index;
    }

    // ---- What the caller reads ----

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }
    /// The election timeouts and heartbeat interval.
    pub fn timing(&self) -> Timing {
        self.timing
    }
    /// The other members.
    pub fn peers(&self) -> &[NodeId] {
        &self.peers
    }
    /// The current term.
    pub fn term(&self) -> u64 {
        self.term
    }
    /// Whom this node voted for in the current term.
    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }
    /// The term and vote, as persisted.
    pub fn hard_state(&self) -> HardState {
        HardState {
            term: self.term,
            voted_for: self.voted_for,
        }
    }
    /// Follower, candidate or leader.
    pub fn role(&self) -> Role {
        self.role
    }
    /// The leader of the current term, if this node knows it.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }
    /// The highest index known to be committed.
    pub fn commit_index(&self) -> u64 {
        self.commit
    }
    /// The entries after the snapshot.
    pub fn log(&self) -> &[Entry] {
        &self.log
    }
    /// The latest snapshot (index 0, term 0, no data before the first).
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }
    /// The snapshot arriving from the leader, as far as it came.
    pub fn incoming_snapshot(&self) -> Option<&Snapshot> {
        self.incoming.as_ref()
    }
    /// The compaction settings.
    pub fn compaction(&self) -> Compaction {
        self.compaction
    }

    /// The entry at `index`, if the log still has it (not if a snapshot covers it).
    pub fn entry(&self, index: u64) -> Option<&Entry> {
        let position = index.checked_sub(self.snapshot.index + 1)?;
        self.log.get(position as usize)
    }
    /// The index of the last entry (the snapshot's if no entry follows it).
    pub fn last_index(&self) -> u64 {
        self.snapshot.index + self.log.len() as u64
    }
    /// The term of the last entry (the snapshot's if no entry follows it): what the
    /// vote's up-to-date rule compares.
    pub fn last_term(&self) -> u64 {
        self.log.last().map_or(self.snapshot.term, |e| e.term)
    }
    /// The term of the entry at `index`: the snapshot's at its own index (0 at index
    /// 0), `None` below it (forgotten) or past the end of the log.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.snapshot.index {
            return Some(self.snapshot.term);
        }
        self.entry(index).map(|e| e.term)
    }
    /// The votes a candidate has collected (its own included).
    pub fn votes(&self) -> &BTreeSet<NodeId> {
        &self.votes
    }
    /// A leader's view of each follower.
    pub fn progress(&self) -> &BTreeMap<NodeId, Progress> {
        &self.progress
    }
    /// When this node will start an election if it hears from no leader (a follower or
    /// candidate), in milliseconds.
    pub fn election_deadline(&self) -> u64 {
        self.election_deadline
    }
    /// How many votes (or copies) make a majority of the whole group.
    pub fn quorum(&self) -> usize {
        let group = self.peers.len() + 1;
        group / 2 + 1
    }

    // ---- What the caller feeds in ----

    /// Time passed: start an election if the timeout expired; as a leader, send
    /// heartbeats when due and step down if a majority has gone quiet.
    pub fn tick(&mut self, now: u64) {
        self.now = now;
        match self.role {
            Role::Follower | Role::Candidate => {
                if now >= self.election_deadline {
                    self.start_election();
                    if self.peers.is_empty() {
                        // A group of one: its own vote is a majority already.
                        self.count_votes();
                    }
                }
            }
            Role::Leader => {
                if now >= self.election_deadline {
                    self.check_quorum();
                }
                if self.role == Role::Leader && now >= self.next_heartbeat {
                    self.broadcast = true;
                }
            }
        }
    }

    /// A message from `from` arrived.
    pub fn step(&mut self, now: u64, from: NodeId, message: Message) {
        self.now = now;
        if from == self.id || !self.peers.contains(&from) {
            return; // not a member: ignore
        }
        // Any message from a higher term: that term is now ours (exercise 5.6).
        if message.term() > self.term {
            self.observe_term(message.term());
        }
        match message {
            Message::RequestVote {
                term,
                last_log_index,
                last_log_term,
            } => self.handle_request_vote(from, term, last_log_index, last_log_term),
            Message::Vote { term, granted } => self.handle_vote(from, term, granted),
            Message::Append {
                term,
                prev_index,
                prev_term,
                entries,
                commit,
            } => self.handle_append(from, term, prev_index, prev_term, entries, commit),
            Message::AppendReply {
                term,
                success,
                match_index,
            } => self.handle_append_reply(from, term, success, match_index),
            Message::InstallSnapshot {
                term,
                last_index,
                last_term,
                offset,
                data,
                done,
            } => {
                let piece = snapshots::Piece {
                    last_index,
                    last_term,
                    offset,
                    data,
                    done,
                };
                self.handle_install_snapshot(from, term, piece)
            }
            Message::SnapshotReply {
                term,
                last_index,
                received,
                installed,
            } => self.handle_snapshot_reply(from, term, last_index, received, installed),
        }
    }

    /// A client's command: a leader appends it and returns its index and term (the
    /// command is committed when that entry is, if it is still there); anyone else
    /// says who the leader is.
    pub fn propose(&mut self, command: Command) -> Result<(u64, u64), NotLeader> {
        if self.role != Role::Leader {
            return Err(NotLeader {
                leader: self.leader,
            });
        }
        let index = self.append_own(command);
        Ok((index, self.term))
    }

    /// Takes what the caller must persist, send and apply (see [`Ready`]).
    pub fn take_ready(&mut self) -> Ready {
        if self.broadcast && self.role == Role::Leader {
            self.broadcast = false;
            self.next_heartbeat = self.now + self.timing.heartbeat_ms;
            for peer in self.peers.clone() {
                self.send_append(peer);
            }
        }
        self.broadcast = false;
        if let Some(snapshot) = &self.ready.snapshot {
            // The stored log is rewritten whole, from just after the snapshot.
            self.ready.log_from = Some(snapshot.index + 1);
        }
        if let Some(from) = self.ready.log_from {
            let first = (from - self.snapshot.index - 1) as usize;
            self.ready.entries = self.log[first.min(self.log.len())..].to_vec();
        }
        let commit = self.commit.min(self.last_index());
        if commit > self.handed_out {
            let base = self.snapshot.index;
            self.ready.committed =
                self.log[(self.handed_out - base) as usize..(commit - base) as usize].to_vec();
            self.handed_out = commit;
        }
        // A core that never compacts (chapter 5's log kept whole) has nothing to ask.
        if self.compaction.every != Compaction::NEVER.every {
            self.ready.snapshot_due = self.snapshot_due();
        }
        std::mem::take(&mut self.ready)
    }

    // ---- The exercises ----

    /// The election timeout expired: become a candidate of the next term.
    fn start_election(&mut self) {
        let term = self.term + 1;
        self.set_hard_state(term, Some(self.id));
        self.role = Role::Candidate;
        self.leader = None;
        self.votes = BTreeSet::from([self.id]);
        self.reset_election_timer();
        let request = Message::RequestVote {
            term,
            last_log_index: self.last_index(),
            last_log_term: self.last_term(),
        };
        for peer in self.peers.clone() {
            self.send(peer, request.clone());
        }
    }

    /// A candidate asks for this node's vote. `step` has already adopted a higher term.
    fn handle_request_vote(
        &mut self,
        candidate: NodeId,
        term: u64,
        last_log_index: u64,
        last_log_term: u64,
    ) {
        let up_to_date = (last_log_term, last_log_index) >= (self.last_term(), self.last_index());
        let free = self.voted_for.is_none_or(|v| v == candidate);
        let granted = term == self.term && free && up_to_date;
        if granted {
            self.set_hard_state(term, Some(candidate));
            self.reset_election_timer();
        }
        let reply = Message::Vote {
            term: self.term,
            granted,
        };
        self.send(candidate, reply);
    }

    /// A peer answered this node's vote request.
    fn handle_vote(&mut self, voter: NodeId, term: u64, granted: bool) {
        if self.role == Role::Candidate && granted && term == self.term {
            self.votes.insert(voter);
            self.count_votes();
        }
    }

    /// Becomes leader once the votes reach a majority.
    fn count_votes(&mut self) {
        if self.role == Role::Candidate && self.votes.len() >= self.quorum() {
            self.become_leader();
        }
    }

    /// A leader's append (or heartbeat). `step` has already adopted a higher term.
    fn handle_append(
        &mut self,
        leader: NodeId,
        term: u64,
        prev_index: u64,
        prev_term: u64,
        entries: Vec<Entry>,
        leader_commit: u64,
    ) {
        if term < self.term {
            let reply = Message::AppendReply {
                term: self.term,
                success: false,
                match_index: 0,
            };
            self.send(leader, reply);
            return;
        }
        self.role = Role::Follower;
        self.leader = Some(leader);
        self.reset_election_timer();
        // Before the first snapshot there is nothing an append could start inside.
        let (prev_index, prev_term, entries) = match self.snapshot.index {
            0 => (prev_index, prev_term, entries),
            _ => self.clip_to_snapshot(prev_index, prev_term, entries),
        };
        assert!(
            prev_index >= self.snapshot.index
                && entries
                    .iter()
                    .zip(prev_index + 1..)
                    .all(|(e, index)| e.index == index),
            "node {}: exercise 6.4's clip_to_snapshot returned an append after {prev_index} \
             with entries {:?}, but the snapshot covers up to {}: what is left must start at \
             or after the snapshot's boundary, its entries numbered on from there (book: \
             chapter 6, exercise 4)",
            self.id,
            entries.iter().map(|e| e.index).collect::<Vec<_>>(),
            self.snapshot.index
        );
        if self.term_at(prev_index) != Some(prev_term) {
            let hint = self.last_index().min(prev_index.saturating_sub(1));
            let reply = Message::AppendReply {
                term: self.term,
                success: false,
                match_index: hint,
            };
            self.send(leader, reply);
            return;
        }
        let last_new = prev_index + entries.len() as u64;
        for entry in entries {
            match self.term_at(entry.index) {
                Some(existing) if existing == entry.term => {}
                Some(_) => {
                    self.truncate_log(entry.index);
                    self.append_log(entry);
                }
                None => self.append_log(entry),
            }
        }
        self.commit = self.commit.max(leader_commit.min(last_new));
        let reply = Message::AppendReply {
            term: self.term,
            success: true,
            match_index: last_new,
        };
        self.send(leader, reply);
    }

    /// An append may start inside this node's snapshot (the leader does not know what
    /// this node compacted): what is left of it once the entries the snapshot covers are
    /// skipped, as `(prev_index, prev_term, entries)`.
    fn clip_to_snapshot(
        &self,
        prev_index: u64,
        prev_term: u64,
        entries: Vec<Entry>,
    ) -> (u64, u64, Vec<Entry>) {
        if prev_index >= self.snapshot.index {
            return (prev_index, prev_term, entries);
        }
        let rest = entries
            .into_iter()
            .filter(|e| e.index > self.snapshot.index)
            .collect();
        (self.snapshot.index, self.snapshot.term, rest)
    }

    /// A leader's commit rule: the highest index of *its own term* stored on a majority.
    fn advance_commit(&mut self) {
        for index in (self.commit + 1..=self.last_index()).rev() {
            if self.term_at(index) != Some(self.term) {
                break; // older terms below: never counted directly
            }
            let copies = 1 + self
                .progress
                .values()
                .filter(|p| p.match_index >= index)
                .count();
            if copies >= self.quorum() {
                self.commit = index;
                break;
            }
        }
    }

    /// Every message carries a term; a higher one than ours means we are out of date.
    fn observe_term(&mut self, term: u64) {
        if term > self.term {
            self.set_hard_state(term, None);
            let was_leader = self.role == Role::Leader;
            self.role = Role::Follower;
            self.leader = None;
            self.votes.clear();
            self.progress.clear();
            if was_leader {
                self.reset_election_timer();
            }
        }
    }

    // ---- Given ----

    /// A follower answered an append.
    fn handle_append_reply(&mut self, from: NodeId, term: u64, success: bool, match_index: u64) {
        if self.role != Role::Leader || term != self.term {
            return; // an answer to an old term's append
        }
        let last = self.last_index();
        let Some(progress) = self.progress.get_mut(&from) else {
            return;
        };
        progress.recently_heard = true;
        if success {
            progress.match_index = progress.match_index.max(match_index.min(last));
            progress.next_index = progress.next_index.max(progress.match_index + 1);
            let behind = progress.next_index <= last;
            let matched = progress.match_index;
            if self
                .awaiting
                .get(&from)
                .is_some_and(|&(sent, _)| sent <= matched)
            {
                self.awaiting.remove(&from);
            }
            self.advance_commit();
            if behind && !self.is_awaited(from) {
                self.send_append(from);
            }
        } else if match_index < progress.next_index {
            // Back up to just after what may match, and retry at once.
            progress.next_index = (match_index + 1).max(progress.match_index + 1);
            self.awaiting.remove(&from);
            self.send_append(from);
        }
    }

    /// Won the election.
    fn become_leader(&mut self) {
        self.role = Role::Leader;
        self.leader = Some(self.id);
        self.votes.clear();
        self.awaiting.clear();
        let next_index = self.last_index() + 1;
        self.progress = self
            .peers
            .iter()
            .map(|&p| {
                (
                    p,
                    Progress {
                        next_index,
                        match_index: 0,
                        recently_heard: true,
                        snapshot_offset: 0,
                    },
                )
            })
            .collect();
        // An entry of its own term at once: entries of earlier terms can only be
        // committed under one (exercise 5.5), so this is what commits them.
        self.append_own(Command::Noop);
        // Check the quorum after one full election timeout.
        self.election_deadline = self.now + self.timing.election_max_ms;
    }

    /// A leader that has not heard from a majority for an election timeout steps down:
    /// it is probably cut off, and its clients should go and find the new leader.
    fn check_quorum(&mut self) {
        let heard = 1 + self.progress.values().filter(|p| p.recently_heard).count();
        if heard < self.quorum() {
            self.role = Role::Follower;
            self.leader = None;
            self.progress.clear();
            self.reset_election_timer();
            return;
        }
        for progress in self.progress.values_mut() {
            progress.recently_heard = false;
        }
        self.election_deadline = self.now + self.timing.election_max_ms;
    }

    /// Appends a command to the leader's own log.
    fn append_own(&mut self, command: Command) -> u64 {
        let entry = Entry {
            index: self.last_index() + 1,
            term: self.term,
            command,
        };
        let index = entry.index;
        self.append_log(entry);
        if self.peers.is_empty() {
            // A group of one commits alone; a larger group commits once followers answer.
            self.advance_commit();
        }
        self.broadcast = true;
        index
    }

    /// Sends `peer` what it lacks from its `next_index` on (or a heartbeat); the snapshot
    /// if the entries it lacks are gone.
    fn send_append(&mut self, peer: NodeId) {
        let Some(progress) = self.progress.get(&peer) else {
            return;
        };
        let next = progress.next_index.clamp(1, self.last_index() + 1);
        // Before the first snapshot every entry is still in the log.
        if self.snapshot.index > 0 && self.needs_snapshot(next) {
            self.send_snapshot(peer);
            return;
        }
        assert!(
            next > self.snapshot.index,
            "node {}: exercise 6.5's needs_snapshot said follower {peer}, whose next entry is \
             {next}, needs no snapshot, but the entries up to {} are gone: a follower that \
             needs an entry the snapshot replaced must be sent the snapshot (book: chapter 6, \
             exercise 5)",
            self.id,
            self.snapshot.index
        );
        let prev_index = next - 1;
        let prev_term = self.term_at(prev_index).unwrap_or(0);
        let mut entries = Vec::new();
        let mut bytes = 0;
        let first = (prev_index - self.snapshot.index) as usize;
        // A follower still acknowledging a big append gets a heartbeat, without entries.
        let batch = if self.is_awaited(peer) { 0 } else { MAX_BATCH };
        for entry in self.log[first..].iter().take(batch) {
            bytes += entry.command.payload_len();
            if !entries.is_empty() && bytes > MAX_APPEND_BYTES {
                break;
            }
            entries.push(entry.clone());
        }
        let sent: usize = entries.iter().map(|e| e.command.payload_len()).sum();
        if let Some(last) = entries.last()
            && sent > RESEND_BYTES
        {
            self.awaiting.insert(peer, (last.index, self.now));
        }
        let message = Message::Append {
            term: self.term,
            prev_index,
            prev_term,
            entries,
            commit: self.commit,
        };
        self.send(peer, message);
    }

    /// Whether `peer` has a big append unanswered, sent less than an election timeout ago.
    fn is_awaited(&self, peer: NodeId) -> bool {
        self.awaiting
            .get(&peer)
            .is_some_and(|&(_, at)| self.now < at + self.timing.election_min_ms)
    }

    /// Queues a message.
    fn send(&mut self, to: NodeId, message: Message) {
        self.ready.messages.push((to, message));
    }

    /// Changes the term and vote, and records that they must be persisted.
    fn set_hard_state(&mut self, term: u64, voted_for: Option<NodeId>) {
        self.term = term;
        self.voted_for = voted_for;
        self.ready.hard_state = Some(self.hard_state());
    }

    /// Appends one entry (its index must be `last_index + 1`), to be persisted.
    fn append_log(&mut self, entry: Entry) {
        debug_assert_eq!(
            entry.index,
            self.last_index() + 1,
            "node {}: an entry appended right after the last index must be numbered \
             last_index + 1: the log holds consecutive indexes (does exercise 6.1's entry \
             count positions from just after the snapshot?)",
            self.id
        );
        let index = entry.index;
        self.log.push(entry);
        self.mark_log_changed(index);
    }

    /// Removes the entries from `index` on. Committed entries are never removed.
    fn truncate_log(&mut self, index: u64) {
        assert!(
            index > self.commit,
            "node {}: truncating the log at {index}, below the commit index {}: \
             a committed entry would be lost (see book: chapter 5, the log rules)",
            self.id,
            self.commit
        );
        self.log
            .truncate((index - self.snapshot.index - 1) as usize);
        self.mark_log_changed(index);
    }

    fn mark_log_changed(&mut self, index: u64) {
        self.ready.log_from = Some(self.ready.log_from.map_or(index, |i| i.min(index)));
    }

    /// A new random election timeout from now.
    fn reset_election_timer(&mut self) {
        let timeout = self
            .rng
            .u64(self.timing.election_min_ms..=self.timing.election_max_ms);
        self.election_deadline = self.now + timeout;
    }
}
