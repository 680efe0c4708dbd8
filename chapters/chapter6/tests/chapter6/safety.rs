//! The simulator's safety checks on the Raft cores it runs (`simulation.rs`): what Raft
//! promises, checked while the schedule runs, not only at the end.
//!
//! - election safety, after every event: at most one leader per term;
//! - every 10 ms: no two nodes disagree on a committed entry (state machine safety), no
//!   node's commit index goes back while it runs, and every leader of a later term holds
//!   every entry known committed (leader completeness). Below a node's snapshot only the
//!   boundary's term can be compared: the snapshot must agree with it.

use std::collections::BTreeMap;

use chapter6::raft::Role;
use harness::sim::Simulation;

use crate::simulation::{Peer, SERVERS};

/// What the checks remember across events.
#[derive(Debug, Default)]
pub struct Observed {
    pub leaders: BTreeMap<u64, u64>,
    /// Per committed index: the entry's term, and the term of the node that first showed
    /// it committed (the entry was committed in that term or earlier).
    pub committed: BTreeMap<u64, (u64, u64)>,
    pub commit: [u64; SERVERS],
    pub elections: u64,
    /// Snapshots seen (a new snapshot index on a node), for the tests' vacuity checks.
    pub snapshots: u64,
    pub snapshot_index: [u64; SERVERS],
}

/// After every event: at most one leader per term.
pub fn election_safety(sim: &Simulation<Peer>, seen: &mut Observed) -> Result<(), String> {
    for server in sim.nodes().iter().flatten().filter_map(Peer::server) {
        if server.raft.role() == Role::Leader {
            let term = server.raft.term();
            let id = server.raft.id();
            match seen.leaders.insert(term, id) {
                Some(other) if other != id => {
                    return Err(format!(
                        "two leaders in term {term}: nodes {other} and {id} \
                         (election safety; see book: chapter 5, elections)"
                    ));
                }
                None => seen.elections += 1,
                _ => {}
            }
        }
    }
    Ok(())
}

/// Every 10 ms: committed entries agree everywhere, and every leader has them all.
pub fn log_safety(sim: &Simulation<Peer>, seen: &mut Observed) -> Result<(), String> {
    for (id, peer) in sim.nodes().iter().enumerate().take(SERVERS) {
        let Some(server) = peer.as_ref().and_then(Peer::server) else {
            seen.commit[id] = 0; // the commit index is volatile: it starts over
            continue;
        };
        let raft = &server.raft;
        if raft.commit_index() < seen.commit[id] {
            return Err(format!(
                "node {id}'s commit index went back from {} to {}",
                seen.commit[id],
                raft.commit_index()
            ));
        }
        seen.commit[id] = raft.commit_index();
        let snapshot = raft.snapshot().index;
        if snapshot > raft.commit_index() {
            return Err(format!(
                "node {id}'s snapshot reaches {snapshot}, past its commit index {}",
                raft.commit_index()
            ));
        }
        if snapshot > seen.snapshot_index[id] {
            seen.snapshots += 1;
        }
        seen.snapshot_index[id] = snapshot;
        // The boundary's term, then every entry after it (what the snapshot covers has no
        // term any more).
        for index in snapshot.max(1)..=raft.commit_index() {
            let term = raft
                .term_at(index)
                .ok_or_else(|| format!("node {id} committed index {index} beyond its log"))?;
            match seen.committed.get(&index) {
                Some(&(known, _)) if known != term => {
                    return Err(format!(
                        "node {id} committed index {index} with term {term}, but term {known} \
                         was committed there before (state machine safety)"
                    ));
                }
                Some(_) => {}
                None => {
                    seen.committed.insert(index, (term, raft.term()));
                }
            }
        }
    }
    for server in sim.nodes().iter().flatten().filter_map(Peer::server) {
        if server.raft.role() != Role::Leader {
            continue;
        }
        // What its snapshot covers, a leader has (the boundary's term is checked).
        let covered = server.raft.snapshot().index;
        for (&index, &(term, committed_by)) in seen.committed.range(covered..) {
            // Only leaders of later terms must have it (a deposed leader may still run).
            if server.raft.term() > committed_by && server.raft.term_at(index) != Some(term) {
                return Err(format!(
                    "leader {} of term {} lacks committed entry {index} (term {term}): \
                     leader completeness broken (the vote rule, exercise 5.2)",
                    server.raft.id(),
                    server.raft.term()
                ));
            }
        }
    }
    Ok(())
}
