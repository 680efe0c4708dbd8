//! The protocol core in the deterministic simulator: a leader and four followers built
//! from `check_append`, `Progress`, `commit_index` and `plan` alone, over a network that
//! loses, delays, reorders and duplicates messages, with partitions and crashes.
//!
//! Invariants, checked after every event:
//! - log matching: two logs with the same term at an index are identical up to it;
//! - every entry a follower has applied is the leader's entry at that index;
//! - the leader's commit index never goes back.
//!   And at the end, healed: every follower holds the leader's whole log.

use chapter3::api::LogEntry;
use chapter3::replication::{
    AckMode, AppendDecision, AppendRequest, AppendResponse, LeaderLog, LogView, Plan, Progress,
    check_append, commit_index, plan,
};
use harness::sim::{Ctx, NodeId, SimConfig, SimNode, Simulation, check_seeds};

const WRITES: u64 = 60;

#[derive(Debug, Clone)]
enum Message {
    Append(AppendRequest),
    Reply(AppendResponse),
}

#[derive(Debug, Clone)]
struct Durable {
    log: Vec<LogEntry>,
}

#[derive(Debug)]
struct Replica {
    id: NodeId,
    peers: Vec<NodeId>,
    log: Vec<LogEntry>,
    commit: u64,
    applied: u64,
    progress: Vec<Progress>,
    ticks: u64,
}

impl LogView for Replica {
    fn current_term(&self) -> u64 {
        1
    }
    fn last_index(&self) -> u64 {
        self.log.len() as u64
    }
    fn term_at(&self, index: u64) -> Option<u64> {
        if index == 0 {
            return Some(0);
        }
        self.log.get(index as usize - 1).map(|e| e.term)
    }
    fn snapshot_index(&self) -> u64 {
        0
    }
    fn snapshot_term(&self) -> u64 {
        0
    }
    fn applied_index(&self) -> u64 {
        self.applied
    }
}

impl LeaderLog for Replica {
    fn last_index(&self) -> u64 {
        self.log.len() as u64
    }
    fn snapshot_index(&self) -> u64 {
        0
    }
    fn term_at(&self, index: u64) -> Option<u64> {
        LogView::term_at(self, index)
    }
}

impl Replica {
    fn send_to(&self, peer: NodeId, ctx: &mut Ctx<Message>) {
        let progress = &self.progress[peer];
        if let Plan::Entries {
            prev_index,
            prev_term,
            from,
            to,
        } = plan(progress, self, 8)
        {
            let entries = (from..=to)
                .map(|i| self.log[i as usize - 1].clone())
                .collect();
            ctx.send(
                peer,
                Message::Append(AppendRequest {
                    term: 1,
                    leader_id: 0,
                    leader_url: String::new(),
                    prev_index,
                    prev_term,
                    entries,
                    leader_commit: self.commit,
                }),
            );
        }
    }
}

impl SimNode for Replica {
    type Message = Message;
    type Durable = Durable;

    fn start(
        id: NodeId,
        peers: Vec<NodeId>,
        durable: Option<Durable>,
        _: &mut Ctx<Message>,
    ) -> Self {
        let log = durable.map(|d| d.log).unwrap_or_default();
        let last = log.len() as u64;
        Replica {
            id,
            progress: (0..=peers.len()).map(|_| Progress::new(last)).collect(),
            peers,
            // The leader's map is its whole log; a follower's starts empty and waits for
            // the leader to say what is committed.
            commit: 0,
            applied: if id == 0 { last } else { 0 },
            log,
            ticks: 0,
        }
    }

    fn on_message(&mut self, from: NodeId, message: Message, ctx: &mut Ctx<Message>) {
        match message {
            Message::Append(request) => match check_append(self, &request) {
                AppendDecision::Accept {
                    truncate_from,
                    append_from,
                    match_index,
                    commit,
                } => {
                    if let Some(index) = truncate_from {
                        self.log.truncate(index as usize - 1);
                    }
                    self.log.extend_from_slice(&request.entries[append_from..]);
                    self.commit = self.commit.max(commit);
                    self.applied = self.applied.max(self.commit);
                    ctx.send(
                        from,
                        Message::Reply(AppendResponse::Accepted {
                            term: 1,
                            match_index,
                        }),
                    );
                }
                AppendDecision::Mismatch { hint } => ctx.send(
                    from,
                    Message::Reply(AppendResponse::Mismatch { term: 1, hint }),
                ),
                other => panic!("a follower of a single-term leader decided {other:?}"),
            },
            Message::Reply(AppendResponse::Accepted { match_index, .. }) => {
                self.progress[from].on_accepted(match_index);
                let matches: Vec<u64> = self
                    .peers
                    .iter()
                    .map(|&p| self.progress[p].match_index)
                    .collect();
                let commit = commit_index(AckMode::Quorum, self.log.len() as u64, &matches);
                self.commit = self.commit.max(commit);
            }
            Message::Reply(AppendResponse::Mismatch { hint, .. }) => {
                self.progress[from].on_mismatch(hint);
                self.send_to(from, ctx);
            }
            Message::Reply(other) => panic!("unexpected answer {other:?}"),
        }
    }

    fn on_tick(&mut self, ctx: &mut Ctx<Message>) {
        if self.id != 0 {
            return;
        }
        self.ticks += 1;
        if (self.log.len() as u64) < WRITES && self.ticks.is_multiple_of(2) {
            let index = self.log.len() as u64 + 1;
            self.log.push(LogEntry {
                index,
                term: 1,
                key: format!("k{}", index % 7),
                value: Some(format!("v{index}")),
            });
            self.applied = index;
        }
        // Every other tick: enough to keep entries flowing without flooding the network.
        if self.ticks.is_multiple_of(2) {
            for peer in self.peers.clone() {
                self.send_to(peer, ctx);
            }
        }
    }

    fn durable(&self) -> Durable {
        Durable {
            log: self.log.clone(),
        }
    }
}

/// Checked after every event: cheap.
fn commit_never_goes_back(
    sim: &Simulation<Replica>,
    leader_commit: &mut u64,
) -> Result<(), String> {
    let Some(leader) = sim.node(0) else {
        *leader_commit = 0; // the commit index is not durable: a restarted leader relearns it
        return Ok(());
    };
    if leader.commit < *leader_commit {
        return Err(format!(
            "the leader's commit index went back from {leader_commit} to {}",
            leader.commit
        ));
    }
    *leader_commit = leader.commit;
    Ok(())
}

/// Checked every 20 ms of virtual time: compares whole logs.
fn invariants(sim: &Simulation<Replica>) -> Result<(), String> {
    let nodes: Vec<&Replica> = sim.nodes().iter().flatten().collect();
    for a in &nodes {
        for b in &nodes {
            let common = a.log.len().min(b.log.len());
            if let Some(last_same) = (0..common).rev().find(|&i| a.log[i].term == b.log[i].term)
                && a.log[..=last_same] != b.log[..=last_same]
            {
                return Err(format!(
                    "log matching broken between nodes {} and {}",
                    a.id, b.id
                ));
            }
        }
    }
    if let Some(leader) = sim.node(0) {
        for follower in &nodes {
            let applied = follower.applied as usize;
            if applied > follower.log.len()
                || follower.log[..applied] != leader.log[..applied.min(leader.log.len())]
            {
                return Err(format!(
                    "node {} applied entries that are not the leader's",
                    follower.id
                ));
            }
        }
    }
    Ok(())
}

fn run(seed: u64) -> Result<(), String> {
    let config = SimConfig {
        nodes: 5,
        loss: 0.1,
        duplicate: 0.05,
        delay_ms: 1..40,
        ..SimConfig::default()
    };
    let mut sim: Simulation<Replica> = Simulation::new(config, seed);
    let mut leader_commit = 0;
    for t in (20..=1500).step_by(20) {
        sim.run_until(t, |sim| commit_never_goes_back(sim, &mut leader_commit))?;
        invariants(&sim).map_err(|e| format!("at t={t}ms: {e}"))?;
        if t.is_multiple_of(100) {
            sim.random_fault();
        }
    }
    sim.heal();
    for id in 0..5 {
        sim.restart(id);
    }
    // The leader restarted from its log: its commit index starts over, as the shell's does.
    leader_commit = 0;
    sim.run_until(3000, |sim| commit_never_goes_back(sim, &mut leader_commit))?;
    invariants(&sim)?;
    let leader = sim
        .node(0)
        .ok_or("the leader is down after the final restart")?;
    for follower in sim.nodes().iter().flatten() {
        if follower.log != leader.log {
            return Err(format!(
                "after healing, node {} has {} entries, the leader {}",
                follower.id,
                follower.log.len(),
                leader.log.len()
            ));
        }
    }
    if leader.commit != WRITES {
        return Err(format!(
            "after healing, the leader committed {} of {WRITES}",
            leader.commit
        ));
    }
    Ok(())
}

#[test]
fn chapter_the_core_converges_under_loss_reordering_duplication_and_crashes_over_1000_seeds() {
    check_seeds(0..1000, run);
}
