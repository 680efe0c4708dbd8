//! The whole sharded system in the deterministic simulator: a configuration service, three
//! groups, two controllers that race to change the configuration, and three clients, over
//! a network that loses, delays, reorders and duplicates messages, with crashes and
//! partitions chosen by the seed.
//!
//! The service and each group are one node that applies operations in order and keeps all
//! it applied across a crash: what a chapter-6 group gives (its own safety is chapter 6's
//! tests). Controllers keep only how far through their list of changes they are; a
//! restarted one asks the service and finishes any change it finds pending.
//!
//! Checked after every event: no shard is served by two groups; a group serves a shard only
//! for a configuration that gives it that shard; no group is past the service's newest
//! configuration (fencing). At the end, with the faults healed: every change finished,
//! every client's operations done, every moved shard deleted at its old owner, and the
//! clients' history linearizable.

use std::collections::BTreeMap;
use std::time::Duration;

use chapter7::{Group, Service, ShardState};
use harness::history::{Event, Operation};
use harness::linearizability::{Verdict, check_with_events};
use harness::sim::{NodeId, SimConfig, Simulation, check_seeds};

use crate::common::SHARDS;
use crate::sim_nodes::{CLIENTS, GROUPS, NODES, Node, Phase, SERVICE};

pub fn service(sim: &Simulation<Node>) -> Option<&Service> {
    match sim.node(SERVICE) {
        Some(Node::Service(s)) => Some(s),
        _ => None,
    }
}

fn groups(sim: &Simulation<Node>) -> impl Iterator<Item = &Group> {
    GROUPS.iter().filter_map(|&id| match sim.node(id) {
        Some(Node::Group(g)) => Some(g),
        _ => None,
    })
}

/// No shard served by two groups; a served shard's configuration gives it to the group
/// serving it; no group ahead of the service.
pub fn invariants(sim: &Simulation<Node>) -> Result<(), String> {
    let service = service(sim);
    let newest = service.map(|s| s.pending().unwrap_or(s.latest()).num);
    for shard in 0..SHARDS {
        let mut serving = Vec::new();
        for group in groups(sim) {
            let state = group.states()[shard];
            if let Some(newest) = newest
                && state.num() > newest
            {
                return Err(format!(
                    "group {} has shard {shard} {state:?}, but the service's newest \
                     configuration is {newest} (a step ran for a configuration never made)",
                    group.id()
                ));
            }
            if let ShardState::Serving { num } = state {
                serving.push(group.id());
                if let Some(config) = service.and_then(|s| s.config(num))
                    && config.owner(shard) != group.id()
                {
                    return Err(format!(
                        "group {} serves shard {shard} for configuration {num}, which gives \
                         it to group {}",
                        group.id(),
                        config.owner(shard)
                    ));
                }
            }
        }
        if serving.len() > 1 {
            return Err(format!(
                "shard {shard} is served by groups {serving:?} at once: a write to one is \
                 invisible to the other (book: chapter 7, fencing)"
            ));
        }
    }
    Ok(())
}

/// What a node is, for the timeline.
fn name(id: NodeId) -> String {
    match id {
        SERVICE => "the service".to_string(),
        id if GROUPS.contains(&id) => format!("group {id}"),
        id if CLIENTS.contains(&id) => format!("client {id}"),
        id => format!("controller {id}"),
    }
}

/// A seed's faults: crash or restart the service, a group or a controller; partition;
/// heal. Returns what it changed, for the timeline (nothing: a restart with nothing
/// down, a heal with nothing cut).
fn inject_fault(
    sim: &mut Simulation<Node>,
    rng: &mut fastrand::Rng,
    cut: &mut bool,
) -> Option<String> {
    let servers: Vec<NodeId> = (0..CLIENTS[0]).collect();
    match rng.u8(0..5) {
        0 => {
            let id = servers[rng.usize(0..servers.len())];
            let running = sim.node(id).is_some();
            sim.crash(id);
            running.then(|| format!("crash {}", name(id)))
        }
        1 => {
            let down: Vec<NodeId> = servers
                .iter()
                .copied()
                .filter(|&id| sim.node(id).is_none())
                .collect();
            for &id in &down {
                sim.restart(id);
            }
            (!down.is_empty()).then(|| {
                format!(
                    "restart {}",
                    down.iter()
                        .map(|&id| name(id))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        }
        2 => {
            let mut ids: Vec<NodeId> = (0..NODES).collect();
            rng.shuffle(&mut ids);
            let split = rng.usize(1..NODES);
            sim.partition(&[&ids[..split], &ids[split..]]);
            *cut = true;
            Some(format!(
                "partition {:?} | {:?}",
                &ids[..split],
                &ids[split..]
            ))
        }
        _ => {
            sim.heal();
            std::mem::take(cut).then(|| "heal".to_string())
        }
    }
}

/// The events of a run, for the timeline: faults, and configurations as the service
/// takes them.
#[derive(Default)]
struct Schedule {
    events: Vec<Event>,
    proposed: u64,
    in_effect: u64,
}

impl Schedule {
    fn note(&mut self, at: u64, what: String) {
        self.events.push(Event { at, what });
    }

    /// Notes the configurations proposed or put in effect since the last look.
    fn look(&mut self, sim: &Simulation<Node>, at: u64) {
        let Some(service) = service(sim) else {
            return;
        };
        if let Some(pending) = service.pending()
            && pending.num > self.proposed
        {
            self.proposed = pending.num;
            self.note(at, format!("configuration {} proposed", pending.num));
        }
        if service.latest().num > self.in_effect {
            self.in_effect = service.latest().num;
            self.note(at, format!("configuration {} in effect", self.in_effect));
        }
    }
}

pub fn config() -> SimConfig {
    SimConfig {
        nodes: NODES,
        tick_ms: 10,
        delay_ms: 1..25,
        loss: 0.05,
        duplicate: 0.05,
        record_trace: false,
    }
}

/// One seed: faults for `chaos_ms`, then healed until everything settles (or a deadline).
/// Returns the clients' history and the number of the configuration it ended on.
fn run(seed: u64, chaos_ms: u64) -> Result<(Vec<Operation>, u64), String> {
    let mut sim: Simulation<Node> = Simulation::new(config(), seed);
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5EED);
    let mut schedule = Schedule::default();
    let mut cut = false;
    let mut t = 0;
    while t < chaos_ms {
        t += 10;
        sim.run_until(t, invariants)?;
        schedule.look(&sim, t);
        if t.is_multiple_of(100)
            && let Some(what) = inject_fault(&mut sim, &mut rng, &mut cut)
        {
            schedule.note(t, what);
        }
    }
    sim.heal();
    for id in 0..NODES {
        sim.restart(id);
    }
    schedule.note(t, "heal, restart all".to_string());
    let deadline = t + 20_000;
    while !settled(&sim) {
        if t >= deadline {
            return Err(format!(
                "not settled 20 s (virtual) after the faults healed: {}",
                progress(&sim)
            ));
        }
        t += 50;
        sim.run_until(t, invariants)?;
        schedule.look(&sim, t);
    }
    garbage_collected(&sim)?;
    let configs = service(&sim).map_or(0, |s| s.latest().num);
    let mut history = Vec::new();
    for &id in &CLIENTS {
        if let Some(Node::Client(c)) = sim.node(id) {
            history.extend(c.finished_history());
        }
    }
    match check_with_events(&history, &schedule.events, Duration::from_secs(10)) {
        Verdict::Linearizable => Ok((history, configs)),
        verdict => Err(format!(
            "the clients' history is not linearizable (the timeline shows the faults and \
             configurations on the same axis): {verdict}"
        )),
    }
}

/// Every client done, every controller idle, no change pending.
pub fn settled(sim: &Simulation<Node>) -> bool {
    (0..NODES).all(|id| match sim.node(id) {
        Some(Node::Client(c)) => c.ops_left == 0 && c.in_flight.is_none(),
        Some(Node::Controller(c)) => matches!(c.phase, Phase::Idle),
        Some(Node::Service(s)) => s.pending().is_none(),
        _ => true,
    })
}

pub fn progress(sim: &Simulation<Node>) -> String {
    (0..NODES)
        .map(|id| match sim.node(id) {
            Some(Node::Client(c)) => format!("client {id}: {} left", c.ops_left),
            Some(Node::Controller(c)) => format!("controller {id}: {:?}", c.phase),
            Some(Node::Service(s)) => format!(
                "service: latest {:?}, pending {:?}",
                s.latest(),
                s.pending()
            ),
            Some(Node::Group(g)) => format!("group {id}: {:?}", g.states()),
            None => format!("node {id}: down"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Each group holds data for exactly the shards the latest configuration gives it.
fn garbage_collected(sim: &Simulation<Node>) -> Result<(), String> {
    let latest = service(sim)
        .ok_or("the service is down at the end")?
        .latest();
    for group in groups(sim) {
        let held: Vec<usize> = group.data().keys().copied().collect();
        if held != latest.shards_of(group.id()) {
            return Err(format!(
                "group {} holds shards {held:?}; configuration {} gives it {:?} (a moved \
                 shard not deleted, or one never installed)",
                group.id(),
                latest.num,
                latest.shards_of(group.id())
            ));
        }
    }
    Ok(())
}

#[test]
fn chapter_sharded_store_linearizable_through_moves_crashes_and_partitions() {
    let runs = check_seeds(0..1_000, |seed| run(seed, 2_000));
    let operations: usize = runs.iter().map(|(h, _)| h.len()).sum();
    let configs: u64 = runs.iter().map(|(_, c)| c).sum();
    eprintln!(
        "{} runs: {operations} operations, {configs} configurations",
        runs.len()
    );
    assert!(
        operations >= runs.len() * 80,
        "the clients did too little to test anything: {operations} operations"
    );
    assert!(
        configs >= runs.len() as u64 * 3,
        "too few configuration changes to test moves: {configs} in {} runs",
        runs.len()
    );
}

#[test]
fn chapter_a_seed_replays_exactly() {
    let (a, _) = run(17, 2_000).expect("seed 17 passes");
    let (b, _) = run(17, 2_000).expect("seed 17 passes");
    assert_eq!(a, b, "the same seed must replay the same run");
    let keys: BTreeMap<&str, usize> = a.iter().fold(BTreeMap::new(), |mut m, op| {
        *m.entry(op.op.key()).or_default() += 1;
        m
    });
    assert!(keys.len() > 3, "the clients used several keys: {keys:?}");
}
