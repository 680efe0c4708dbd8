//! Chapter-wide: every window of a move. A move is a sequence of steps (freeze at the old
//! owner, install at the new one, delete at the old one, finish at the service); between
//! any two of them a client may write to the moving shard, and any step's answer may be
//! lost (the mover sends it again). At every such point, for every change of a run:
//! at most one group accepts a write to the shard, and every accepted write is still
//! there once the change is finished.

use chapter7::{Action, Answer, Change, GroupOp, GroupReply};

use crate::common::{World, get, join, key_in, put};

/// The changes a run goes through: joins that split the shards, a move, leaves that
/// merge them back.
fn changes() -> Vec<Change> {
    vec![
        join(&[1]),
        join(&[2]),
        join(&[3]),
        Change::Move { shard: 0, group: 3 },
        Change::Leave(vec![1]),
        Change::Leave(vec![3]),
    ]
}

/// What a write at the point under test left: the key, the value and the group that
/// accepted it.
type Accepted = Vec<(String, String, u64)>;

/// Writes to every moving shard at every group; fails if two groups accept writes to
/// one shard at the same point (two owners at once).
fn write_everywhere(world: &mut World, moving: &[usize], tag: &str) -> Result<Accepted, String> {
    let mut accepted = Vec::new();
    for &shard in moving {
        let key = key_in(shard);
        let mut takers = Vec::new();
        for group in world.groups.keys().copied().collect::<Vec<_>>() {
            let value = format!("{tag}-g{group}");
            let reply = world.group(group, GroupOp::Client(put(&key, &value)));
            if let GroupReply::Answer(Answer::Written { .. }) = reply {
                takers.push(group);
                accepted.push((key.clone(), value, group));
            }
        }
        if takers.len() > 1 {
            return Err(format!(
                "groups {takers:?} all accepted a write to shard {shard} at the same point: \
                 a shard is served by one group at a time (a step applied before the one \
                 it depends on?)"
            ));
        }
    }
    Ok(accepted)
}

/// Runs `mover` to the end in `world`, then checks that every accepted write is read back.
fn finish_and_check(
    mut world: World,
    mut mover: chapter7::Mover,
    accepted: &Accepted,
) -> Result<(), String> {
    world.run(&mut mover);
    world.assert_settled();
    for (key, value, group) in accepted {
        match world.client(get(key)) {
            Answer::Value(Some((v, _))) if v == *value => {}
            other => {
                return Err(format!(
                    "group {group} acknowledged {key}={value:?} during the move, but after \
                     it the key reads {other:?}: an acknowledged write was lost"
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn chapter_a_write_between_any_two_steps_of_a_move_is_served_by_one_group_and_kept() {
    let mut world = World::new(&[1, 2, 3]);
    let mut points = 0;
    for (c, change) in changes().into_iter().enumerate() {
        let from = world.service.latest().clone();
        let to = world.propose(change.clone());
        let moving: Vec<usize> = from.moves_to(&to).iter().map(|m| m.shard).collect();
        let mut mover = world.mover();
        let mut k = 0;
        loop {
            // A write at this point, then the change carried out to its end.
            let tag = format!("change{c}-step{k}");
            let mut branch = world.clone();
            let outcome = write_everywhere(&mut branch, &moving, &tag)
                .and_then(|accepted| finish_and_check(branch, mover.clone(), &accepted));
            // The next step's answer lost: the mover must send it again and still finish.
            let lost = match mover.actions().into_iter().next() {
                Some(action) => {
                    let mut branch = world.clone();
                    lose_answer(&mut branch, action);
                    finish_and_check(branch, mover.clone(), &Vec::new())
                }
                None => Ok(()),
            };
            if let Err(e) = outcome.and(lost) {
                panic!(
                    "change {c} ({change:?}), after {k} steps of its move: {e}\n\
                     replay: cargo test -p chapter7 chapter_a_write_between_any_two_steps"
                );
            }
            points += 1;
            let Some(action) = mover.actions().into_iter().next() else {
                break;
            };
            world.deliver(&mut mover, action);
            k += 1;
            assert!(k < 200, "the move of change {c} never finished: {mover:?}");
        }
        world.assert_settled();
    }
    assert!(
        points >= 20,
        "the run reached only {points} points between steps: the changes move too little to \
         test the windows between steps"
    );
}

/// Delivers `action` but not its answer, as when the reply is lost on the way back.
fn lose_answer(world: &mut World, action: Action) {
    match action {
        Action::Group { group, op } => {
            world.group(group, op);
        }
        Action::Service(op) => {
            world.service.apply(&op);
        }
    }
}
