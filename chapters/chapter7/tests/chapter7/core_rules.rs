//! The rules of Raft itself, checked on every replica of every log after every event of
//! the simulation: at most one leader per term (election safety), and an entry, once
//! committed at an index, the same on every replica for ever (log matching and state
//! machine safety, compared by term). No code of this chapter can break them: when one
//! breaks, the chapter 6 core did, and the message says whose core this build runs
//! (`chapter7::stack`: the carried reference, or the student's own with `--features own`).

use std::collections::BTreeMap;

use chapter7::raft::Role;
use chapter7::stack::core_broke;
use harness::sim::{NodeId, Simulation};

use crate::sim_nodes::{LOGS, Node, REPLICAS, SERVERS, log_of};

/// What the checks remember between events.
#[derive(Debug)]
pub struct CoreRules {
    /// (log, term) → the replica that led it.
    leaders: BTreeMap<(usize, u64), NodeId>,
    /// Per log: index → (term of the entry committed there, the replica first seen with it).
    committed: Vec<BTreeMap<u64, (u64, NodeId)>>,
    /// Per replica: the committed index up to which its entries were compared.
    compared: Vec<u64>,
}

impl Default for CoreRules {
    fn default() -> Self {
        CoreRules {
            leaders: BTreeMap::new(),
            committed: vec![BTreeMap::new(); LOGS],
            compared: vec![0; SERVERS],
        }
    }
}

/// A log's name, as the book says it.
pub fn log_name(log: usize) -> String {
    match log {
        0 => "the configuration service's log".to_string(),
        group => format!("group {group}"),
    }
}

impl CoreRules {
    /// How many (log, term) pairs had a leader.
    pub fn leaders(&self) -> usize {
        self.leaders.len()
    }

    /// Both rules, on every running replica.
    pub fn check(&mut self, sim: &Simulation<Node>) -> Result<(), String> {
        for id in 0..SERVERS {
            let Some(Node::Server(server)) = sim.node(id) else {
                continue;
            };
            let (log, raft) = (log_of(id), &server.raft);
            let replica = id % REPLICAS;
            if raft.role() == Role::Leader
                && let Some(other) = self.leaders.insert((log, raft.term()), id)
                && other != id
            {
                return Err(core_broke(
                    "election safety",
                    &log_name(log),
                    &format!(
                        "Replicas {} and {replica} both lead term {}: a candidate needs a \
                         majority of votes, and each replica votes once per term.",
                        other % REPLICAS,
                        raft.term()
                    ),
                ));
            }
            // A restarted replica's commit index starts over: compare again from there.
            let commit = raft.commit_index();
            let from = self.compared[id].min(commit).max(raft.snapshot().index);
            for index in from + 1..=commit {
                let Some(term) = raft.term_at(index) else {
                    continue;
                };
                let first = *self.committed[log].entry(index).or_insert((term, id));
                if first.0 != term {
                    return Err(core_broke(
                        "log matching",
                        &log_name(log),
                        &format!(
                            "Replica {} committed an entry of term {} at index {index}, and \
                             replica {replica} committed one of term {term} there: an entry, \
                             once committed, is the same on every replica for ever.",
                            first.1 % REPLICAS,
                            first.0
                        ),
                    ));
                }
            }
            self.compared[id] = commit;
        }
        Ok(())
    }
}
