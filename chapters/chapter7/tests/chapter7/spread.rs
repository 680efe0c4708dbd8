//! Chapter-wide: the data is really spread (a group that is down stops only its own
//! shards), a write retried across a move and a crash is applied once, and a moved shard
//! serves from its install on.

use chapter7::placement::shard_of;
use chapter7::{Answer, Change, Client, GroupId, GroupOp, GroupReply, Next};
use harness::sim::{SimConfig, Simulation, check_seeds};

use crate::common::{SHARDS, World, get, join, key_in, put_as};
use crate::sim_nodes::{CLIENTS, CONTROLLERS, Node, replicas};
use crate::simulation::{Observed, config, invariants, service, settle};

/// Two keys (from `k0, k1, ...`) whose shards `group` owns.
fn keys_of(group: GroupId, owners: &[GroupId]) -> Vec<String> {
    (0..)
        .map(|i| format!("k{i}"))
        .filter(|k| owners[shard_of(k, SHARDS)] == group)
        .take(2)
        .collect()
}

/// Three groups join; then group 1 goes down for good (all three replicas), and one
/// client uses only keys of group 1's shards, the two others only keys of groups 2 and 3.
fn one_group_down(seed: u64) -> Result<(), String> {
    let quiet = SimConfig {
        loss: 0.0,
        duplicate: 0.0,
        ..config()
    };
    let mut sim: Simulation<Node> = Simulation::new(quiet, seed);
    let mut seen = Observed::default();
    for (i, &id) in CONTROLLERS.iter().enumerate() {
        if let Some(Node::Controller(c)) = sim.node_mut(id) {
            c.script = if i == 0 {
                vec![join(&[1]), join(&[2]), join(&[3])]
            } else {
                Vec::new()
            };
        }
    }
    for &id in &CLIENTS {
        if let Some(Node::Client(c)) = sim.node_mut(id) {
            c.ops_left = 0;
        }
    }
    settle(&mut sim, &mut seen, 20_000, |_, _| {})?;
    let latest = service(&sim).ok_or("the service is down")?.latest().clone();
    for group in 1..=3 {
        let held = latest.shards_of(group).len();
        if !(2..=3).contains(&held) {
            return Err(format!(
                "group {group} owns {held} of {SHARDS} shards: not spread"
            ));
        }
    }
    for id in replicas(1) {
        sim.crash(id);
    }
    for (&id, group) in CLIENTS.iter().zip(1..) {
        if let Some(Node::Client(c)) = sim.node_mut(id) {
            c.keys = keys_of(group, &latest.shards);
            c.ops_left = 10;
        }
    }
    let until = sim.now() + 5_000;
    sim.run_until(until, |sim| invariants(sim, &mut seen))?;
    for (&id, group) in CLIENTS.iter().zip(1..) {
        let Some(Node::Client(c)) = sim.node(id) else {
            return Err(format!("client {id} is down"));
        };
        let done = c.history.len();
        match group {
            1 if done > 0 => {
                return Err(format!(
                    "client {id} completed {done} operations on group 1's shards while \
                     group 1 is down"
                ));
            }
            2 | 3 if done < 10 => {
                return Err(format!(
                    "client {id} completed only {done} of 10 operations on group {group}'s \
                     shards in 5 s: a group down must not stop the others' shards"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

#[test]
fn chapter_a_group_down_stops_only_its_own_shards() {
    check_seeds(0..20, one_group_down);
}

#[test]
fn chapter_a_write_retried_across_a_move_and_a_crash_is_applied_once() {
    let mut world = World::new(&[1, 2]);
    world.change(join(&[1]));
    let key = key_in(0);
    let write = put_as(&key, "once", "carol", 1);
    // Group 1 applies the write; its answer is lost on the way.
    let first = world.group(1, GroupOp::Client(write.clone()));
    assert_eq!(
        first,
        GroupReply::Answer(Answer::Written { version: 1 }),
        "group 1 owns shard 0 and applies the write"
    );
    // Group 1 crashes and recovers its machine from what it made durable (the
    // simulator's test runs the same with Raft replicas and failovers).
    let saved = serde_json::to_string(&world.groups[&1]).expect("a group serializes");
    let recovered = serde_json::from_str(&saved).expect("and deserializes");
    world.groups.insert(1, recovered);
    // Group 2 joins and shard 0 moves to it.
    world.change(join(&[2]));
    if world.service.latest().owner(0) != 2 {
        world.change(Change::Move { shard: 0, group: 2 });
    }
    // The client retries: the old owner sends it on, the new owner answers from the
    // table that moved with the shard.
    assert_eq!(
        world.group(1, GroupOp::Client(write.clone())),
        GroupReply::WrongGroup { shard: 0 },
        "the old owner no longer serves the moved shard, not even from its table of answers: it \
         says wrong_group"
    );
    assert_eq!(
        world.group(2, GroupOp::Client(write)),
        first,
        "the retry across the move gets the first answer"
    );
    assert_eq!(
        world.client(get(&key)),
        Answer::Value(Some(("once".into(), 1))),
        "and the write was applied once: still version 1"
    );
    world.assert_settled();
}

#[test]
fn chapter_a_moved_shard_serves_from_its_install_before_the_change_finishes() {
    let mut world = World::new(&[1, 2]);
    let latest = world.change(join(&[1]));
    let moving = world.propose(join(&[2]));
    let shard = moving.shards_of(2)[0];
    let key = key_in(shard);
    world.client(put_as(&key, "before", "frank", 1));
    // The mover freezes and installs, but has not deleted or finished.
    let mut mover = world.mover();
    for _ in 0..2 {
        for action in mover.actions() {
            world.deliver(&mut mover, action);
        }
    }
    assert_eq!(
        world.service.latest().num,
        1,
        "the change is still pending: clients routing by the latest configuration would \
         wait for it"
    );
    let mut client = Client::new("frank", latest);
    client.on_config(world.service.latest().clone(), Some(moving));
    let command = client.start(get(&key));
    let mut answer = None;
    for _ in 0..2 {
        let target = client.target();
        match client.on_reply(world.group(target, GroupOp::Client(command.clone()))) {
            Next::Done(a) => {
                answer = Some(a);
                break;
            }
            Next::Retry => {}
            other => panic!("group {target} sent the client to {other:?}"),
        }
    }
    assert_eq!(
        answer,
        Some(Answer::Value(Some(("before".into(), 1)))),
        "the new owner answers from its install on"
    );
}
