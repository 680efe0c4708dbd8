//! Carried from `solutions/chapter6/snapshots.rs` by `cargo xtask exercises`:
//! chapter 6's snapshot rules, exercises 6.2, 6.3, 6.5 and 6.6, finished. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs nothing of this chapter's own.
//!
//! The snapshot rules of the core: when to take one, what compacting the log leaves,
//! when a leader sends its snapshot instead of entries, and how a follower installs one.
//!
//! A child module of [`super`] (the core's
//! file), so it reads and changes the same fields; like the rest of the core it does no
//! I/O: the shell takes the state machine's snapshot when [`Ready::snapshot_due`] asks,
//! and persists what [`Ready::snapshot`] carries.

use super::*;

/// One piece of a leader's snapshot, as [`Message::InstallSnapshot`] carries it.
#[derive(Debug)]
pub(super) struct Piece {
    pub last_index: u64,
    pub last_term: u64,
    pub offset: u64,
    pub data: String,
    pub done: bool,
}

impl Raft {
    /// Whether the shell should snapshot the state machine now, and at which index.
    pub(super) fn snapshot_due(&self) -> Option<u64> {
        let since = self.handed_out - self.snapshot.index;
        (since >= self.compaction.every).then_some(self.handed_out)
    }

    /// The shell snapshotted the state machine at `index` (its `data`): the snapshot
    /// replaces the entries up to `index`, which are dropped. Answers whether it did;
    /// an index at or below the current snapshot, or past what was handed to the state
    /// machine, changes nothing.
    pub fn compact(&mut self, index: u64, data: String) -> bool {
        if index <= self.snapshot.index || index > self.handed_out {
            return false;
        }
        let Some(term) = self.term_at(index) else {
            return false;
        };
        self.log.drain(..(index - self.snapshot.index) as usize);
        self.snapshot = Snapshot { index, term, data };
        self.ready.snapshot = Some(self.snapshot.clone());
        true
    }

    /// Whether a follower whose next entry is `next` can only be sent the snapshot.
    pub(super) fn needs_snapshot(&self, next: u64) -> bool {
        next <= self.snapshot.index
    }

    /// Sends `peer` the next piece of the snapshot, from the offset it acknowledged.
    pub(super) fn send_snapshot(&mut self, peer: NodeId) {
        let Some(progress) = self.progress.get(&peer) else {
            return;
        };
        let data = &self.snapshot.data;
        let mut start = (progress.snapshot_offset as usize).min(data.len());
        while !data.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (start + self.compaction.chunk_bytes).min(data.len());
        while !data.is_char_boundary(end) {
            end -= 1;
        }
        if end == start && start < data.len() {
            // A character longer than a chunk: send it whole.
            end = start + 1;
            while !data.is_char_boundary(end) {
                end += 1;
            }
        }
        let message = Message::InstallSnapshot {
            term: self.term,
            last_index: self.snapshot.index,
            last_term: self.snapshot.term,
            offset: start as u64,
            data: data[start..end].to_string(),
            done: end == data.len(),
        };
        self.send(peer, message);
    }

    /// A piece of the leader's snapshot. `step` has already adopted a higher term.
    pub(super) fn handle_install_snapshot(&mut self, leader: NodeId, term: u64, piece: Piece) {
        if term < self.term {
            self.reply_snapshot(leader, piece.last_index, 0, false);
            return;
        }
        self.role = Role::Follower;
        self.leader = Some(leader);
        self.reset_election_timer();
        if piece.last_index <= self.commit {
            // Everything it covers is committed here already: nothing to install.
            self.incoming = None;
            self.reply_snapshot(leader, piece.last_index, 0, true);
            return;
        }
        let same = |s: &Snapshot| s.index == piece.last_index && s.term == piece.last_term;
        match &mut self.incoming {
            Some(incoming) if same(incoming) && piece.offset == incoming.data.len() as u64 => {
                incoming.data.push_str(&piece.data);
            }
            _ if piece.offset == 0 => {
                self.incoming = Some(Snapshot {
                    index: piece.last_index,
                    term: piece.last_term,
                    data: piece.data,
                });
            }
            incoming => {
                // A duplicate or a piece out of order: say where we are; the leader resends.
                let received = match incoming {
                    Some(incoming) if same(incoming) => incoming.data.len() as u64,
                    _ => 0,
                };
                self.reply_snapshot(leader, piece.last_index, received, false);
                return;
            }
        }
        let Some(incoming) = self.incoming.take_if(|_| piece.done) else {
            let received = self.incoming.as_ref().map_or(0, |s| s.data.len() as u64);
            self.reply_snapshot(leader, piece.last_index, received, false);
            return;
        };
        // Entries after the snapshot survive only if the logs agree at its boundary.
        if self.term_at(incoming.index) == Some(incoming.term) {
            self.log
                .drain(..(incoming.index - self.snapshot.index) as usize);
        } else {
            self.log.clear();
        }
        let received = incoming.data.len() as u64;
        self.commit = incoming.index;
        self.handed_out = incoming.index;
        self.snapshot = incoming;
        self.ready.snapshot = Some(self.snapshot.clone());
        self.reply_snapshot(leader, self.snapshot.index, received, true);
    }

    /// The answer to a piece of a snapshot.
    fn reply_snapshot(&mut self, leader: NodeId, last_index: u64, received: u64, installed: bool) {
        let reply = Message::SnapshotReply {
            term: self.term,
            last_index,
            received,
            installed,
        };
        self.send(leader, reply);
    }

    /// A follower answered a piece of the snapshot: go on from where it is, or, once it
    /// holds the snapshot, send entries from just after it.
    pub(super) fn handle_snapshot_reply(
        &mut self,
        from: NodeId,
        term: u64,
        last_index: u64,
        received: u64,
        installed: bool,
    ) {
        if self.role != Role::Leader || term != self.term {
            return; // an answer to an old term's snapshot
        }
        let snapshot_index = self.snapshot.index;
        let last = self.last_index();
        let Some(progress) = self.progress.get_mut(&from) else {
            return;
        };
        progress.recently_heard = true;
        if installed {
            progress.match_index = progress.match_index.max(last_index.min(last));
            progress.next_index = progress.next_index.max(progress.match_index + 1);
            progress.snapshot_offset = 0;
            self.advance_commit();
            self.send_append(from);
        } else if last_index != snapshot_index {
            // About a snapshot this leader has replaced since: start over (if the
            // follower still needs one).
            progress.snapshot_offset = 0;
            self.send_append(from);
        } else if received != progress.snapshot_offset {
            // Go on from where the follower is: further on, or back to what it kept (a
            // restarted follower holds nothing). A duplicate answer sends nothing.
            progress.snapshot_offset = received;
            self.send_append(from);
        }
    }
}
