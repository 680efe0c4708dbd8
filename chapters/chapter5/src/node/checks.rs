//! A peer's bytes are input too: what the shell checks before the core believes a
//! message.

use super::*;

/// The largest term a message may carry: far beyond any real group's (a term per
/// millisecond for a hundred million years), and far from overflowing.
pub const MAX_TERM: u64 = 1 << 62;

/// Refuses a message no correct node sends: an absurd term, or entries that are not
/// numbered `prev_index + 1, prev_index + 2, ...` (the core trusts that numbering).
pub(super) fn check_message(message: &Message) -> Result<(), String> {
    if message.term() > MAX_TERM {
        return Err(format!(
            "term {} is implausibly large (the limit is {MAX_TERM})",
            message.term()
        ));
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

// ANCHOR: check_against
/// Refuses a message that would make this node break one of its own invariants. No
/// correct peer sends one (Raft's safety argument says so), so it is forged, or a peer
/// has a bug: either way this node keeps serving and says so in its log, instead of
/// letting its core reach an assertion (which would stop it for good).
///
/// Today one rule: an append that matches this node's log at `prev_index` may not
/// replace a committed entry (the core would have to truncate below its commit index).
pub fn check_against(raft: &Raft, from: NodeId, message: &Message) -> Result<(), String> {
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
    if *term < raft.term() || raft.term_at(*prev_index) != Some(*prev_term) {
        return Ok(()); // the core refuses it by the protocol's own rules
    }
    for entry in entries {
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
// ANCHOR_END: check_against
