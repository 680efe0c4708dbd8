// This file is yours to edit: replace each `todo!()` with your code, then run the
// chapter's tests. It was generated from solutions/chapter5/raft.rs by `cargo xtask exercises`;
// running that again overwrites your work, so do it only to start over.
//! The election and log rules of Raft as a plain state machine: no sockets, no clocks.
//!
//! Exercises 5.1 to 5.6 live here. A [`Raft`] holds one node's role, term, vote, log and
//! commit index. The shell (or the simulator) feeds it three things: the time
//! ([`Raft::tick`]), a message from a peer ([`Raft::step`]) and a client's command
//! ([`Raft::propose`]). It answers through [`Raft::take_ready`]: what to persist (term
//! and vote, log entries) and what to send. The rule every caller follows: **persist a
//! `Ready` before sending its messages or answering anyone**. A vote that was sent but
//! not saved could be given twice after a crash; an entry acknowledged but not saved
//! could vanish from the majority that "has" it.
//!
//! Index 0 is the empty log's position (term 0); the first entry is index 1.

// The stubs leave some parameters, imports and helpers unused until you write the code;
// delete this line once every exercise in the file is done.
#![allow(unused_variables, unused_imports, dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use crate::protocol::Command;

pub use crate::protocol::{
    Entry, HardState, MAX_APPEND_BYTES, MAX_BATCH, Message, NodeId, NotLeader, Progress, Ready,
    Role, Timing,
};

/// One node's Raft state.
#[derive(Debug)]
pub struct Raft {
    id: NodeId,
    peers: Vec<NodeId>,
    timing: Timing,
    // Persistent: changed only through `set_hard_state` and the log helpers, which
    // record the change in `ready`.
    term: u64,
    voted_for: Option<NodeId>,
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
    /// The last index handed out in a `Ready`'s `committed` (volatile, like the state
    /// machine it feeds, which is rebuilt from the log after a restart).
    handed_out: u64,
}

impl Raft {
    /// A node starting (or restarting) as a follower, with what it persisted; `seed`
    /// drives its random timeouts; `now` is the time in milliseconds.
    pub fn new(
        id: NodeId,
        peers: Vec<NodeId>,
        timing: Timing,
        hard_state: HardState,
        log: Vec<Entry>,
        now: u64,
        seed: u64,
    ) -> Self {
        let mut raft = Raft {
            id,
            peers: peers.into_iter().filter(|&p| p != id).collect(),
            timing,
            term: hard_state.term,
            voted_for: hard_state.voted_for,
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
            handed_out: 0,
        };
        raft.reset_election_timer();
        raft
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
    /// The whole log (entry `i` is at position `i - 1`).
    pub fn log(&self) -> &[Entry] {
        &self.log
    }
    /// The entry at `index`, if the log has it.
    pub fn entry(&self, index: u64) -> Option<&Entry> {
        index.checked_sub(1).and_then(|i| self.log.get(i as usize))
    }
    /// The index of the last entry (0 if the log is empty).
    pub fn last_index(&self) -> u64 {
        self.log.len() as u64
    }
    /// The term of the last entry (0 if the log is empty).
    pub fn last_term(&self) -> u64 {
        self.log.last().map_or(0, |e| e.term)
    }
    /// The term of the entry at `index` (0 for index 0), if the log reaches it.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == 0 {
            return Some(0);
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

    // ANCHOR: step
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
        }
    }
    // ANCHOR_END: step

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
        if let Some(from) = self.ready.log_from {
            self.ready.entries = self.log[from as usize - 1..].to_vec();
        }
        let commit = self.commit.min(self.last_index());
        if commit > self.handed_out {
            self.ready.committed = self.log[self.handed_out as usize..commit as usize].to_vec();
            self.handed_out = commit;
        }
        std::mem::take(&mut self.ready)
    }

    // ---- The exercises ----

    // ANCHOR: start_election
    /// The election timeout expired: become a candidate of the next term.
    fn start_election(&mut self) {
        // EXERCISE 5.1: become a candidate: a new term, your own vote, a fresh timeout, ask everyone
        // HINT: Whatever must survive a crash changes through `set_hard_state`, never by assignment.
        todo!(
            "exercise 5.1 is not implemented yet: edit exercises/chapter5/raft.rs: become a candidate: a new term, your own vote, a fresh timeout, ask everyone (book: chapter 5, exercise 1)"
        )
    }
    // ANCHOR_END: start_election

    // ANCHOR: handle_request_vote
    /// A candidate asks for this node's vote. `step` has already adopted a higher term.
    fn handle_request_vote(
        &mut self,
        candidate: NodeId,
        term: u64,
        last_log_index: u64,
        last_log_term: u64,
    ) {
        // EXERCISE 5.2: grant a vote: once per term, only to a candidate whose log is at least as up to date
        // HINT: A leader must already hold every committed entry: whose logs can promise that?
        todo!(
            "exercise 5.2 is not implemented yet: edit exercises/chapter5/raft.rs: grant a vote: once per term, only to a candidate whose log is at least as up to date (book: chapter 5, exercise 2)"
        )
    }
    // ANCHOR_END: handle_request_vote

    // ANCHOR: handle_vote
    /// A peer answered this node's vote request.
    fn handle_vote(&mut self, voter: NodeId, term: u64, granted: bool) {
        // EXERCISE 5.3: count a vote: only a candidate, only for this term; a majority makes a leader
        // HINT: An answer to an earlier election says nothing about this one.
        todo!(
            "exercise 5.3 is not implemented yet: edit exercises/chapter5/raft.rs: count a vote: only a candidate, only for this term; a majority makes a leader (book: chapter 5, exercise 3)"
        )
    }

    /// Becomes leader once the votes reach a majority.
    fn count_votes(&mut self) {
        // EXERCISE 5.3: a majority of votes, your own included, makes you the leader
        todo!(
            "exercise 5.3 is not implemented yet: edit exercises/chapter5/raft.rs: a majority of votes, your own included, makes you the leader (book: chapter 5, exercise 3)"
        )
    }
    // ANCHOR_END: handle_vote

    // ANCHOR: handle_append
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
        // EXERCISE 5.4: fence stale leaders, follow the current one, and make the log match its
        // HINT: Decide in order: is this leader current? do our logs meet at `prev_index`? only then edit.
        todo!(
            "exercise 5.4 is not implemented yet: edit exercises/chapter5/raft.rs: fence stale leaders, follow the current one, and make the log match its (book: chapter 5, exercise 4)"
        )
    }
    // ANCHOR_END: handle_append

    // ANCHOR: advance_commit
    /// A leader's commit rule: the highest index of *its own term* stored on a majority.
    fn advance_commit(&mut self) {
        // EXERCISE 5.5: commit the highest index a majority stores, only if it is of your own term
        // HINT: Counting copies is safe only for entries of your own term (read the Figure 8 test).
        todo!(
            "exercise 5.5 is not implemented yet: edit exercises/chapter5/raft.rs: commit the highest index a majority stores, only if it is of your own term (book: chapter 5, exercise 5)"
        )
    }
    // ANCHOR_END: advance_commit

    // ANCHOR: observe_term
    /// Every message carries a term; a higher one than ours means we are out of date.
    fn observe_term(&mut self, term: u64) {
        // EXERCISE 5.6: step down: a higher term makes you a follower of that term, with no vote yet
        // HINT: A new term begins with no vote cast in it.
        todo!(
            "exercise 5.6 is not implemented yet: edit exercises/chapter5/raft.rs: step down: a higher term makes you a follower of that term, with no vote yet (book: chapter 5, exercise 6)"
        )
    }
    // ANCHOR_END: observe_term

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
            self.advance_commit();
            if behind {
                self.send_append(from);
            }
        } else if match_index < progress.next_index {
            // Back up to just after what may match, and retry at once.
            progress.next_index = (match_index + 1).max(progress.match_index + 1);
            self.send_append(from);
        }
    }

    /// Won the election.
    fn become_leader(&mut self) {
        self.role = Role::Leader;
        self.leader = Some(self.id);
        self.votes.clear();
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

    /// Sends `peer` what it lacks from its `next_index` on (or a heartbeat).
    fn send_append(&mut self, peer: NodeId) {
        let Some(progress) = self.progress.get(&peer) else {
            return;
        };
        let next = progress.next_index.clamp(1, self.last_index() + 1);
        let prev_index = next - 1;
        let prev_term = self.term_at(prev_index).unwrap_or(0);
        let mut entries = Vec::new();
        let mut bytes = 0;
        for entry in self.log[prev_index as usize..].iter().take(MAX_BATCH) {
            bytes += entry.command.payload_len();
            if !entries.is_empty() && bytes > MAX_APPEND_BYTES {
                break;
            }
            entries.push(entry.clone());
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
        debug_assert_eq!(entry.index, self.last_index() + 1);
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
        self.log.truncate(index as usize - 1);
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
