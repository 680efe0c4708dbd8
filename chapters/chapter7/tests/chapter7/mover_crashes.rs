//! Chapter-wide: configuration changes carried out by movers that crash at every point,
//! race a second controller, and leave stale messages that arrive after later changes.
//! Nothing may be lost, nothing served twice, and every moved shard's old copy deleted.

use std::collections::BTreeMap;

use chapter7::placement::shard_of;
use chapter7::{Action, Answer, Change, Mover};

use crate::common::{SHARDS, World, get, join, key_in, put};

/// The changes every run goes through.
fn changes() -> Vec<Change> {
    vec![
        join(&[1]),
        join(&[2]),
        join(&[3]),
        Change::Leave(vec![1]),
        Change::Move { shard: 0, group: 3 },
        join(&[1]),
        Change::Leave(vec![2, 3]),
        join(&[2]),
    ]
}

/// One run: every change's first mover crashes after `crash_after` deliveries, a fresh
/// mover and a racing one finish it, their messages interleaved by `seed`, and the dead
/// mover's unsent messages are delivered at random later times.
fn run(seed: u64, crash_after: usize) -> Result<(), String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut world = World::new(&[1, 2, 3]);
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    let mut late: Vec<Action> = Vec::new();
    let mut ignored = Mover::new(world.service.latest(), world.service.latest());
    for (step, change) in changes().into_iter().enumerate() {
        let from = world.service.latest().clone();
        let to = world.propose(change.clone());
        let moving: Vec<usize> = from.moves_to(&to).iter().map(|m| m.shard).collect();
        // The first mover: some deliveries, then a crash; its next actions stay in flight.
        let mut first = Mover::new(&from, &to);
        let mut delivered = 0;
        while delivered < crash_after {
            let Some(action) = first.actions().into_iter().next() else {
                break;
            };
            world.deliver(&mut first, action);
            delivered += 1;
        }
        late.extend(first.actions());
        // A replacement and a racing controller (which may find the change finished
        // already), interleaved with old messages.
        let mut movers = [Mover::new(&from, &to), Mover::new(&from, &to)];
        for round in 0.. {
            if round > 400 {
                return Err(format!("change {step} ({change:?}) never finished"));
            }
            if movers.iter().all(Mover::is_finished) {
                break;
            }
            let who = rng.usize(0..3);
            if who == 2 {
                if !late.is_empty() {
                    let action = late.swap_remove(rng.usize(0..late.len()));
                    world.deliver(&mut ignored, action);
                }
            } else if let Some(action) = rng.choice(movers[who].actions()) {
                world.deliver(&mut movers[who], action);
            }
            // Unaffected shards keep serving while others move.
            let shard = rng.usize(0..SHARDS);
            if !moving.contains(&shard) && world.service.latest().num > 0 {
                let key = key_in(shard);
                let value = format!("s{seed}-c{step}-r{round}");
                world.client(put(&key, &value));
                expected.insert(key, value);
            }
        }
        world.assert_settled();
        for shard in 0..SHARDS {
            let key = key_in(shard);
            let value = format!("s{seed}-after-{step}");
            world.client(put(&key, &value));
            expected.insert(key, value);
        }
    }
    for action in late.drain(..) {
        world.deliver(&mut ignored, action);
    }
    world.assert_settled();
    for (key, value) in &expected {
        match world.client(get(key)) {
            Answer::Value(Some((v, _))) if v == *value => {}
            other => {
                return Err(format!(
                    "key {key:?} (shard {}) should hold {value:?}, found {other:?}",
                    shard_of(key, SHARDS)
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn chapter_movers_crash_at_every_step_race_and_leave_stale_messages_nothing_lost() {
    for crash_after in 0..12 {
        for seed in 0..25 {
            if let Err(e) = run(seed, crash_after) {
                panic!(
                    "seed {seed}, first mover crashed after {crash_after} deliveries: {e}\n\
                     replay: cargo test -p chapter7 chapter_movers_crash"
                );
            }
        }
    }
}
