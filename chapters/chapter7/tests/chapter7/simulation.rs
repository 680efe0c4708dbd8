//! The whole sharded system in the deterministic simulator: the configuration service and
//! three groups, each a log of three replicas running chapter 6's Raft with snapshots; two
//! controllers that race to change the configuration; three clients; over a network that
//! loses, delays, reorders and duplicates messages, with crashes of any replica or
//! controller and partitions chosen by the seed. Moves and failovers happen together.
//!
//! Checked after every event: the rules of Raft in each log (`core_rules`); and on each log's
//! committed state (its most advanced machine seen so far: committed entries never
//! change), no shard is served by two groups, a group serves a shard only for a
//! configuration that gives it that shard, and no group is past the service's newest
//! configuration (fencing). At the end, with the faults healed: every change finished,
//! every client's operations done, every replica of every group holding exactly the
//! shards it owns (moved shards deleted), and the clients' history linearizable.

use std::collections::BTreeMap;
use std::time::Duration;

use chapter7::machine::{Kind, Machine};
use chapter7::{Group, Service, ShardState};
use harness::history::{Event, Operation, from_virtual_ms};
use harness::linearizability::{Verdict, check_with_events};
use harness::sim::{NodeId, SimConfig, Simulation, check_seeds};

use crate::common::SHARDS;
use crate::core_rules::CoreRules;
use crate::sim_actors::Phase;
use crate::sim_nodes::{
    CLIENTS, CONTROLLERS, LOGS, NODES, Node, REPLICAS, SERVERS, log_of, replicas,
};

/// The running replicas of `log`'s machines.
fn machines(sim: &Simulation<Node>, log: usize) -> impl Iterator<Item = &Machine> {
    replicas(log).filter_map(|id| match sim.node(id) {
        Some(Node::Server(s)) => Some(&s.machine),
        _ => None,
    })
}

/// The most advanced running replica of the service.
pub fn service(sim: &Simulation<Node>) -> Option<&Service> {
    machines(sim, 0)
        .max_by_key(|m| m.applied_index())
        .and_then(|m| match m.kind() {
            Kind::Service(s) => Some(s),
            Kind::Group(_) => None,
        })
}

/// What the checks remember between events.
#[derive(Debug)]
pub struct Observed {
    /// The rules of Raft itself (`core_rules`).
    core: CoreRules,
    /// Each log's most advanced machine seen so far: its committed state.
    committed: Vec<Option<Machine>>,
}

impl Default for Observed {
    fn default() -> Self {
        Observed {
            core: CoreRules::default(),
            committed: vec![None; LOGS],
        }
    }
}

impl Observed {
    fn service(&self) -> Option<&Service> {
        match self.committed[0].as_ref().map(Machine::kind) {
            Some(Kind::Service(s)) => Some(s),
            _ => None,
        }
    }

    fn groups(&self) -> impl Iterator<Item = &Group> {
        self.committed[1..]
            .iter()
            .filter_map(|m| match m.as_ref().map(Machine::kind) {
                Some(Kind::Group(g)) => Some(g),
                _ => None,
            })
    }
}

/// The rules of Raft per log, then the shard invariants on the committed states.
pub fn invariants(sim: &Simulation<Node>, seen: &mut Observed) -> Result<(), String> {
    seen.core.check(sim)?;
    for id in 0..SERVERS {
        let Some(Node::Server(server)) = sim.node(id) else {
            continue;
        };
        let log = log_of(id);
        let ahead = seen.committed[log]
            .as_ref()
            .is_none_or(|m| server.machine.applied_index() > m.applied_index());
        if ahead {
            seen.committed[log] = Some(server.machine.clone());
        }
    }
    let Some(service) = seen.service() else {
        return Ok(());
    };
    let newest = service.pending().unwrap_or(service.latest()).num;
    for shard in 0..SHARDS {
        let mut serving = Vec::new();
        for group in seen.groups() {
            let state = group.states()[shard];
            if state.num() > newest {
                return Err(format!(
                    "group {} has shard {shard} {state:?}, but the service's newest \
                     configuration is {newest} (a step ran for a configuration never made)",
                    group.id()
                ));
            }
            if let ShardState::Serving { num } = state {
                serving.push(group.id());
                let owner = service.config(num).map(|c| c.owner(shard));
                if owner != Some(group.id()) {
                    return Err(format!(
                        "group {} serves shard {shard} for configuration {num}, which gives \
                         it to {owner:?}",
                        group.id(),
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
        id if id < REPLICAS => format!("service replica {id}"),
        id if id < SERVERS => format!("group {} replica {}", log_of(id), id % REPLICAS),
        id if CLIENTS.contains(&id) => format!("client {id}"),
        id => format!("controller {id}"),
    }
}

/// A seed's faults: crash a replica or a controller, restart those down, partition, heal.
/// Returns what it changed, for the timeline (nothing: a restart with nothing down, a
/// heal with nothing cut).
fn inject_fault(
    sim: &mut Simulation<Node>,
    rng: &mut fastrand::Rng,
    cut: &mut bool,
) -> Option<String> {
    let crashable: Vec<NodeId> = (0..SERVERS).chain(CONTROLLERS).collect();
    match rng.u8(0..5) {
        0 => {
            let id = crashable[rng.usize(0..crashable.len())];
            let running = sim.node(id).is_some();
            sim.crash(id);
            running.then(|| format!("crash {}", name(id)))
        }
        1 => {
            let down: Vec<NodeId> = crashable
                .iter()
                .copied()
                .filter(|&id| sim.node(id).is_none())
                .collect();
            for &id in &down {
                sim.restart(id);
            }
            let names: Vec<String> = down.iter().map(|&id| name(id)).collect();
            (!down.is_empty()).then(|| format!("restart {}", names.join(", ")))
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
        self.events.push(Event {
            at: from_virtual_ms(at),
            what,
        });
    }

    /// Notes the configurations proposed or put in effect since the last look.
    fn look(&mut self, seen: &Observed, at: u64) {
        let Some(service) = seen.service() else {
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

/// Runs until [`settled`], or fails after `limit_ms` of virtual time.
pub fn settle(
    sim: &mut Simulation<Node>,
    seen: &mut Observed,
    limit_ms: u64,
    mut each: impl FnMut(&Observed, u64),
) -> Result<(), String> {
    let deadline = sim.now() + limit_ms;
    while !settled(sim) {
        if sim.now() >= deadline {
            return Err(format!(
                "not settled {limit_ms} ms (virtual) after the faults healed:\n{}",
                progress(sim)
            ));
        }
        let next = sim.now() + 50;
        sim.run_until(next, |sim| invariants(sim, seen))?;
        each(seen, next);
    }
    Ok(())
}

/// What one run did, to check that the runs test something.
#[derive(Debug)]
struct Ran {
    history: Vec<Operation>,
    /// The configuration it ended on.
    configs: u64,
    /// Leaders elected, over the four logs (four would mean no failover).
    leaders: usize,
    /// Snapshots installed by replicas running at the end.
    snapshots: u64,
    /// Commands a client sent on to a moving configuration's owner.
    tried_ahead: u64,
}

/// One seed: faults for `chaos_ms`, then healed until everything settles (or a deadline).
fn run(seed: u64, chaos_ms: u64) -> Result<Ran, String> {
    let mut sim: Simulation<Node> = Simulation::new(config(), seed);
    let mut seen = Observed::default();
    let mut schedule = Schedule::default();
    if let Err(failure) = drive(&mut sim, &mut seen, &mut schedule, seed, chaos_ms) {
        // Not a linearizability failure: draw the whole run, faults included, so the
        // calls and faults before the broken rule are in one picture.
        let page = harness::timeline::write_run(&failure, &history(&sim), &schedule.events);
        let page = page.map_or_else(
            |e| format!("(the timeline could not be written: {e})"),
            |path| format!("timeline of the run: {}", path.display()),
        );
        let core = chapter7::stack::which_core();
        return Err(format!("{failure}\n{page}\n{core}"));
    }
    let configs = service(&sim).map_or(0, |s| s.latest().num);
    let history = history(&sim);
    let snapshots = (0..SERVERS)
        .filter_map(|id| match sim.node(id) {
            Some(Node::Server(s)) => Some(s.snapshots_installed),
            _ => None,
        })
        .sum();
    match check_with_events(&history, &schedule.events, Duration::from_secs(10)) {
        Verdict::Linearizable => Ok(Ran {
            history,
            configs,
            leaders: seen.core.leaders(),
            snapshots,
            tried_ahead: CLIENTS
                .iter()
                .filter_map(|&id| match sim.node(id) {
                    Some(Node::Client(c)) => Some(c.tried_ahead),
                    _ => None,
                })
                .sum(),
        }),
        verdict => Err(format!(
            "the clients' history is not linearizable (the timeline shows the faults and \
             configurations on the same axis): {verdict} {}",
            chapter7::stack::which_core()
        )),
    }
}

/// Faults for `chaos_ms`, then healed until everything settles; every moved shard
/// deleted.
fn drive(
    sim: &mut Simulation<Node>,
    seen: &mut Observed,
    schedule: &mut Schedule,
    seed: u64,
    chaos_ms: u64,
) -> Result<(), String> {
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5EED);
    let mut cut = false;
    let mut t = 0;
    while t < chaos_ms {
        t += 10;
        sim.run_until(t, |sim| invariants(sim, seen))?;
        schedule.look(seen, t);
        if t.is_multiple_of(100)
            && let Some(what) = inject_fault(sim, &mut rng, &mut cut)
        {
            schedule.note(t, what);
        }
    }
    sim.heal();
    for id in 0..NODES {
        sim.restart(id);
    }
    schedule.note(t, "heal, restart all".to_string());
    settle(sim, seen, 20_000, |seen, at| schedule.look(seen, at))?;
    garbage_collected(sim)
}

/// The clients' calls so far, those still waiting recorded as unknown.
fn history(sim: &Simulation<Node>) -> Vec<Operation> {
    CLIENTS
        .iter()
        .filter_map(|&id| match sim.node(id) {
            Some(Node::Client(c)) => Some(c.finished_history()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Every client done, every controller idle, no change pending, and every replica of
/// every log caught up with the others.
pub fn settled(sim: &Simulation<Node>) -> bool {
    let actors_done = (SERVERS..NODES).all(|id| match sim.node(id) {
        Some(Node::Client(c)) => c.ops_left == 0 && c.in_flight.is_none(),
        Some(Node::Controller(c)) => matches!(c.phase, Phase::Idle),
        _ => true,
    });
    let caught_up = (0..LOGS).all(|log| {
        let applied: Vec<u64> = machines(sim, log).map(Machine::applied_index).collect();
        applied.len() == REPLICAS && applied.iter().all(|&a| a == applied[0])
    });
    actors_done && caught_up && service(sim).is_some_and(|s| s.pending().is_none())
}

pub fn progress(sim: &Simulation<Node>) -> String {
    (0..NODES)
        .map(|id| match sim.node(id) {
            Some(Node::Client(c)) => format!("client {id}: {} left", c.ops_left),
            Some(Node::Controller(c)) => format!("controller {id}: {:?}", c.phase),
            Some(Node::Server(s)) => format!(
                "{}: {:?} term {}, applied {}",
                name(id),
                s.raft.role(),
                s.raft.term(),
                s.machine.applied_index()
            ),
            None => format!("{}: down", name(id)),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every replica of every group holds data for exactly the shards the latest
/// configuration gives its group.
fn garbage_collected(sim: &Simulation<Node>) -> Result<(), String> {
    let latest = service(sim)
        .ok_or("the service is down at the end")?
        .latest();
    for log in 1..LOGS {
        for machine in machines(sim, log) {
            let Kind::Group(group) = machine.kind() else {
                return Err(format!("log {log} holds the service's machine"));
            };
            let held: Vec<usize> = group.data().keys().copied().collect();
            if held != latest.shards_of(group.id()) {
                return Err(format!(
                    "a replica of group {} holds shards {held:?}; configuration {} gives it \
                     {:?} (a moved shard not deleted, or one never installed)",
                    group.id(),
                    latest.num,
                    latest.shards_of(group.id())
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn chapter_sharded_store_linearizable_through_moves_failovers_crashes_and_partitions() {
    let runs = check_seeds(0..1_000, |seed| run(seed, 2_000));
    let operations: usize = runs.iter().map(|r| r.history.len()).sum();
    let configs: u64 = runs.iter().map(|r| r.configs).sum();
    let leaders: usize = runs.iter().map(|r| r.leaders).sum();
    let snapshots: u64 = runs.iter().map(|r| r.snapshots).sum();
    let ahead: u64 = runs.iter().map(|r| r.tried_ahead).sum();
    eprintln!(
        "{} runs: {operations} operations, {configs} configurations, {leaders} leaders \
         elected, {snapshots} snapshots installed, {ahead} commands tried at a moving \
         configuration's owner",
        runs.len()
    );
    assert!(
        ahead >= runs.len() as u64 / 10,
        "clients too rarely met a moving shard to test routing ahead: {ahead} in {} runs",
        runs.len()
    );
    assert!(
        leaders >= runs.len() * (LOGS + 2),
        "too few failovers to test moves across them: {leaders} leaders in {} runs",
        runs.len()
    );
    assert!(
        snapshots >= runs.len() as u64,
        "too few snapshots installed to test them: {snapshots} in {} runs",
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
    let a = run(17, 2_000).expect("seed 17 passes").history;
    let b = run(17, 2_000).expect("seed 17 passes").history;
    assert_eq!(a, b, "the same seed must replay the same run");
    let keys: BTreeMap<&str, usize> = a.iter().fold(BTreeMap::new(), |mut m, op| {
        *m.entry(op.op.key()).or_default() += 1;
        m
    });
    assert!(keys.len() > 3, "the clients used several keys: {keys:?}");
}
