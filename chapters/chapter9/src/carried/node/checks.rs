//! Carried from `chapters/chapter6/src/node/checks.rs` by `cargo xtask exercises`:
//! chapter 6's checks of a peer's messages. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs nothing of this chapter's own.
//!
//! A peer's bytes are input too: what the shell checks before the core believes a
//! message.

use super::*;
use crate::raft::{MAX_CHUNK_BYTES, MAX_SNAPSHOT_BYTES};

/// The largest term a message may carry: far beyond any real group's (a term per
/// millisecond for a hundred million years), and far from overflowing.
pub const MAX_TERM: u64 = 1 << 62;

/// Refuses a message no correct node sends: an absurd term, entries that are not
/// numbered `prev_index + 1, prev_index + 2, ...` (the core trusts that numbering), or a
/// piece of a snapshot that is too big, or would make one too big.
pub(super) fn check_message(message: &Message) -> Result<(), String> {
    if message.term() > MAX_TERM {
        return Err(format!(
            "term {} is implausibly large (the limit is {MAX_TERM})",
            message.term()
        ));
    }
    if let Message::InstallSnapshot {
        term,
        last_index,
        last_term,
        offset,
        data,
        ..
    } = message
    {
        if data.len() > MAX_CHUNK_BYTES {
            return Err(format!(
                "a snapshot piece of {} bytes; the limit is {MAX_CHUNK_BYTES}",
                data.len()
            ));
        }
        if offset.saturating_add(data.len() as u64) > MAX_SNAPSHOT_BYTES {
            return Err(format!(
                "a snapshot piece ending past byte {MAX_SNAPSHOT_BYTES}, the largest snapshot \
                 a node accepts"
            ));
        }
        if *last_index == 0 || last_term > term {
            return Err(format!(
                "a snapshot up to index {last_index} of term {last_term} cannot come from a \
                 leader of term {term}"
            ));
        }
    }
    if let Message::Append {
        prev_index,
        entries,
        ..
    } = message
    {
        if entries.len() > crate::raft::MAX_BATCH {
            return Err(format!(
                "{} entries in one append; the limit is {}",
                entries.len(),
                crate::raft::MAX_BATCH
            ));
        }
        for (i, entry) in entries.iter().enumerate() {
            let Some(expected) = prev_index.checked_add(1 + i as u64) else {
                return Err(format!("append entry {i} would be past the last index"));
            };
            if entry.index != expected || entry.term > message.term() {
                return Err(format!(
                    "append entry {i} has index {} and term {}; expected index {expected} and \
                     a term no higher than the append's {}",
                    entry.index,
                    entry.term,
                    message.term()
                ));
            }
        }
    }
    Ok(())
}

/// Refuses a message that would make this node break one of its own invariants. No
/// correct peer sends one (Raft's safety argument says so), so it is forged, or a peer
/// has a bug: either way this node keeps serving and says so in its log, instead of
/// letting its core reach an assertion (which would stop it for good).
///
/// Two rules: an append that matches this node's log at `prev_index` may not replace a
/// committed entry (the core would have to truncate below its commit index); and the
/// last piece of a snapshot this node would install must make a state machine of this node's kind (see
/// [`check_snapshot`]).
pub fn check_against(
    raft: &Raft,
    machine: &Machine,
    from: NodeId,
    message: &Message,
) -> Result<(), String> {
    if let Message::InstallSnapshot { .. } = message {
        return check_snapshot(raft, machine, message);
    }
    let Message::Append {
        term,
        prev_index,
        prev_term,
        entries,
        ..
    } = message
    else {
        return Ok(());
    };
    // What the core compares: the append without the entries this node's snapshot covers.
    let snapshot = raft.snapshot();
    let (prev_index, prev_term) = if *prev_index < snapshot.index {
        (snapshot.index, snapshot.term)
    } else {
        (*prev_index, *prev_term)
    };
    if *term < raft.term() || raft.term_at(prev_index) != Some(prev_term) {
        return Ok(()); // the core refuses it by the protocol's own rules
    }
    for entry in entries.iter().filter(|e| e.index > snapshot.index) {
        if entry.index > raft.commit_index() {
            break;
        }
        if raft.term_at(entry.index) != Some(entry.term) {
            return Err(format!(
                "node {from}'s append of term {term} would replace committed entry {} \
                 (term {:?} here) with one of term {}: committed entries never change",
                entry.index,
                raft.term_at(entry.index),
                entry.term
            ));
        }
    }
    Ok(())
}

/// The last piece of a snapshot this node would install (current term, past its commit
/// index, the piece it expects) must complete a snapshot whose data restores a state
/// machine of this node's kind at the snapshot's index: the core cannot read the data, and a node whose
/// machine cannot be restored would have to stop.
fn check_snapshot(raft: &Raft, machine: &Machine, message: &Message) -> Result<(), String> {
    let Message::InstallSnapshot {
        term,
        last_index,
        last_term,
        offset,
        data,
        done: true,
    } = message
    else {
        return Ok(());
    };
    if *term < raft.term() || *last_index <= raft.commit_index() {
        return Ok(()); // the core ignores it
    }
    let whole = match raft.incoming_snapshot() {
        _ if *offset == 0 => data.clone(),
        Some(s) if s.index == *last_index && s.term == *last_term => {
            if *offset != s.data.len() as u64 {
                return Ok(()); // out of order: the core asks for the right piece
            }
            format!("{}{data}", s.data)
        }
        _ => return Ok(()), // the core asks for the first piece
    };
    machine
        .restore(&whole, *last_index)
        .map(|_| ())
        .map_err(|e| format!("the snapshot up to index {last_index} is unusable: {e}"))
}
