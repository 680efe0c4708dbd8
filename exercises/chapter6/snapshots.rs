// This file is yours to edit: replace each `todo!()` with your code, then run the
// chapter's tests. It was generated from solutions/chapter6/snapshots.rs by `cargo xtask exercises`;
// running that again overwrites your work, so do it only to start over.
//! The snapshot rules of the core: when to take one, what compacting the log leaves,
//! when a leader sends its snapshot instead of entries, and how a follower installs one.
//!
//! Exercises 6.2, 6.3, 6.5 and 6.6 live here. A child module of [`super`] (the core's
//! file), so it reads and changes the same fields; like the rest of the core it does no
//! I/O: the shell takes the state machine's snapshot when [`Ready::snapshot_due`] asks,
//! and persists what [`Ready::snapshot`] carries.

// The stubs leave some parameters, imports and helpers unused until you write the code;
// delete this line once every exercise in the file is done.
#![allow(unused_variables, unused_imports, dead_code)]

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
    // ANCHOR: snapshot_due
    /// Whether the shell should snapshot the state machine now, and at which index.
    pub(super) fn snapshot_due(&self) -> Option<u64> {
        // EXERCISE 6.2: ask for a snapshot once `compaction.every` applied entries follow the last one
        // HINT: Only what the state machine has applied can go into its snapshot: which index is that?
        todo!(
            "exercise 6.2 is not implemented yet: edit exercises/chapter6/snapshots.rs: ask for a snapshot once `compaction.every` applied entries follow the last one (book: chapter 6, exercise 2)"
        )
    }
    // ANCHOR_END: snapshot_due

    // ANCHOR: compact
    /// The shell snapshotted the state machine at `index` (its `data`): the snapshot
    /// replaces the entries up to `index`, which are dropped. Answers whether it did;
    /// an index at or below the current snapshot, or past what was handed to the state
    /// machine, changes nothing.
    pub fn compact(&mut self, index: u64, data: String) -> bool {
        // EXERCISE 6.3: replace the log up to `index` by the snapshot, keeping the boundary's term
        // HINT: Once an entry is dropped, who still knows its term? And how will the shell learn that there is something to persist?
        todo!(
            "exercise 6.3 is not implemented yet: edit exercises/chapter6/snapshots.rs: replace the log up to `index` by the snapshot, keeping the boundary's term (book: chapter 6, exercise 3)"
        )
    }
    // ANCHOR_END: compact

    // ANCHOR: send_snapshot
    /// Whether a follower whose next entry is `next` can only be sent the snapshot.
    pub(super) fn needs_snapshot(&self, next: u64) -> bool {
        // EXERCISE 6.5: a follower that needs an entry the snapshot replaced gets the snapshot
        todo!(
            "exercise 6.5 is not implemented yet: edit exercises/chapter6/snapshots.rs: a follower that needs an entry the snapshot replaced gets the snapshot (book: chapter 6, exercise 5)"
        )
    }

    /// Sends `peer` the next piece of the snapshot, from the offset it acknowledged.
    pub(super) fn send_snapshot(&mut self, peer: NodeId) {
        // EXERCISE 6.5: send the piece at the follower's offset: at most `chunk_bytes`, cut between characters
        // HINT: The data is a `String`: where may a piece end? And how does the follower know it holds the last one?
        todo!(
            "exercise 6.5 is not implemented yet: edit exercises/chapter6/snapshots.rs: send the piece at the follower's offset: at most `chunk_bytes`, cut between characters (book: chapter 6, exercise 5)"
        )
    }
    // ANCHOR_END: send_snapshot

    // ANCHOR: handle_install_snapshot
    /// A piece of the leader's snapshot. `step` has already adopted a higher term.
    pub(super) fn handle_install_snapshot(&mut self, leader: NodeId, term: u64, piece: Piece) {
        // EXERCISE 6.6: install a snapshot: refuse stale terms and pieces out of order; keep a matching suffix
        // HINT: Decide in order: is the sender the current leader (then its piece is news from it, as an append is)? is the snapshot news? is this the piece we expect? the last?
        todo!(
            "exercise 6.6 is not implemented yet: edit exercises/chapter6/snapshots.rs: install a snapshot: refuse stale terms and pieces out of order; keep a matching suffix (book: chapter 6, exercise 6)"
        )
    }
    // ANCHOR_END: handle_install_snapshot

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
