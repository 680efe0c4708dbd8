//! Exercise 7.5: the mover: freeze, install, delete, finish; never a step early; resumable
//! by a fresh mover at any point.

use chapter7::{Action, Answer, GroupOp, Mover, ServiceOp, ShardData, Step};

use crate::common::{World, get, join, key_in, put};

/// Groups 1 and 2; group 1 joined and holds every shard with one key each; group 2's join
/// is pending.
fn joining_second_group() -> World {
    let mut world = World::new(&[1, 2]);
    world.change(join(&[1]));
    for shard in 0..crate::common::SHARDS {
        world.client(put(&key_in(shard), &format!("value {shard}")));
    }
    world.propose(join(&[2]));
    world
}

/// The first shard the pending change moves to group 2.
fn moving_to_group_2(world: &World) -> usize {
    world
        .service
        .pending()
        .expect("a change is pending")
        .shards_of(2)[0]
}

fn ops(actions: &[Action]) -> Vec<&GroupOp> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Group { op, .. } => Some(op),
            Action::Service(_) => None,
        })
        .collect()
}

#[test]
fn ex5_the_first_step_freezes_each_moving_shard_at_its_old_owner() {
    let world = joining_second_group();
    let mover = world.mover();
    let moving: Vec<usize> = world
        .service
        .pending()
        .expect("a change is pending")
        .shards_of(2);
    assert_eq!(moving.len(), 4, "half of the 8 shards go to group 2");
    let actions = mover.actions();
    assert_eq!(
        actions.len(),
        4,
        "one step per moving shard, the first of each a freeze: {actions:?}"
    );
    for action in &actions {
        assert!(
            matches!(
                action,
                Action::Group {
                    group: 1,
                    op: GroupOp::Freeze { num: 2, .. }
                }
            ),
            "nothing may be installed or deleted before it is frozen: {action:?}"
        );
    }
}

#[test]
fn ex5_a_frozen_shard_is_installed_then_deleted_never_both_at_once() {
    let mut world = joining_second_group();
    let mut mover = world.mover();
    for action in mover.actions() {
        world.deliver(&mut mover, action);
    }
    let actions = mover.actions();
    for op in ops(&actions) {
        assert!(
            matches!(op, GroupOp::Install { num: 2, data, .. } if data.kv.len() == 1),
            "after the freeze comes the install of the frozen data, and only that (deleting \
             now would lose the shard if the install is lost): {op:?}"
        );
    }
    for action in actions {
        world.deliver(&mut mover, action);
    }
    for op in ops(&mover.actions()) {
        assert!(
            matches!(op, GroupOp::Delete { num: 2, .. }),
            "once installed, the old owner deletes: {op:?}"
        );
    }
    world.run(&mut mover);
    assert!(
        mover.is_finished(),
        "once every shard is installed and deleted, the mover finishes: {mover:?}"
    );
    world.assert_settled();
    for shard in 0..crate::common::SHARDS {
        assert_eq!(
            world.client(get(&key_in(shard))),
            Answer::Value(Some((format!("value {shard}"), 1))),
            "shard {shard}'s key survived the move"
        );
    }
}

#[test]
fn ex5_finish_is_sent_only_when_every_shard_has_moved() {
    let mut world = joining_second_group();
    let mut mover = world.mover();
    let mut rounds = 0;
    while !mover.is_finished() {
        let actions = mover.actions();
        let finishing = actions
            .iter()
            .any(|a| matches!(a, Action::Service(ServiceOp::Finish { .. })));
        if finishing {
            assert!(
                mover.steps().all(|(_, step)| *step == Step::Done),
                "Finish before every shard moved: {:?}",
                mover.steps().collect::<Vec<_>>()
            );
        }
        for action in actions {
            world.deliver(&mut mover, action);
        }
        rounds += 1;
        assert!(rounds < 10, "the mover never finished: {mover:?}");
    }
    assert_eq!(
        world.service.latest().num,
        2,
        "Finish makes the pending configuration (2) the latest"
    );
}

#[test]
fn ex5_answers_from_the_wrong_group_or_configuration_are_ignored() {
    let mut world = joining_second_group();
    let mut mover = world.mover();
    let before = mover.actions();
    let shard = moving_to_group_2(&world);
    let data = ShardData::default();
    // Group 2 is not the old owner; configuration 7 is not this change.
    mover.on_reply(
        2,
        chapter7::GroupReply::Frozen {
            shard,
            num: 2,
            data: data.clone(),
        },
    );
    mover.on_reply(
        1,
        chapter7::GroupReply::Frozen {
            shard,
            num: 7,
            data,
        },
    );
    assert_eq!(
        mover.actions(),
        before,
        "neither answer may advance the move"
    );
    world.run(&mut mover);
    world.assert_settled();
}

#[test]
fn ex5_install_and_delete_answers_count_only_from_the_group_they_went_to() {
    let mut world = joining_second_group();
    let mut mover = world.mover();
    let shard = moving_to_group_2(&world);
    let step_of = |mover: &Mover| {
        mover
            .steps()
            .find(|(s, _)| *s == shard)
            .map(|(_, step)| step.clone())
    };
    // Delivers the mover's step for `shard` that `wanted` picks, and its answer.
    let send = |world: &mut World, mover: &mut Mover, wanted: fn(&GroupOp) -> Option<usize>| {
        let action = mover
            .actions()
            .into_iter()
            .find(|a| matches!(a, Action::Group { op, .. } if wanted(op) == Some(shard)))
            .unwrap_or_else(|| panic!("no such step for shard {shard}: {:?}", mover.actions()));
        world.deliver(mover, action);
    };
    let stale = |num| chapter7::GroupReply::Stale {
        shard,
        num,
        now: chapter7::ShardState::Serving { num: 3 },
    };
    // Group 2 is the new owner: its Stale says nothing about the old owner's freeze.
    mover.on_reply(2, stale(2));
    assert_eq!(
        step_of(&mover),
        Some(Step::Freeze),
        "a Stale answer ends a freeze only from the group the freeze went to (group 1), \
         not group 2"
    );
    send(&mut world, &mut mover, |op| match op {
        GroupOp::Freeze { shard, .. } => Some(*shard),
        _ => None,
    });
    assert!(
        matches!(step_of(&mover), Some(Step::Install(_))),
        "the old owner's freeze answer moves shard {shard} on to its install: {:?}",
        step_of(&mover)
    );
    // Group 1 is the old owner: an Installed from it is no answer to the install.
    mover.on_reply(1, chapter7::GroupReply::Installed { shard, num: 2 });
    assert!(
        matches!(step_of(&mover), Some(Step::Install(_))),
        "an install counts as done only when the group it went to (group 2) answers, not \
         group 1: {:?}",
        step_of(&mover)
    );
    // Nor does the old owner's Stale say anything about the new owner's install.
    mover.on_reply(1, stale(2));
    assert!(
        matches!(step_of(&mover), Some(Step::Install(_))),
        "a Stale answer ends an install only from the group it went to (group 2), not \
         group 1: skipping the install loses the shard: {:?}",
        step_of(&mover)
    );
    send(&mut world, &mut mover, |op| match op {
        GroupOp::Install { shard, .. } => Some(*shard),
        _ => None,
    });
    assert_eq!(
        step_of(&mover),
        Some(Step::Delete),
        "the new owner's install answer moves shard {shard} on to the delete"
    );
    // Group 2 is the new owner: a Deleted from it is no answer to the delete.
    mover.on_reply(2, chapter7::GroupReply::Deleted { shard, num: 2 });
    assert_eq!(
        step_of(&mover),
        Some(Step::Delete),
        "a delete counts as done only when the group it went to (group 1, the old owner) \
         answers, not group 2"
    );
    world.run(&mut mover);
    world.assert_settled();
}

#[test]
fn ex5_a_fresh_mover_finishes_what_a_crashed_one_started() {
    // Crash after each of the first k deliveries: a new mover, built from the service's
    // latest and pending configurations, must finish with nothing lost.
    for k in 0..16 {
        let mut world = joining_second_group();
        let mut first = world.mover();
        let mut delivered = 0;
        'crash: while delivered < k {
            let actions = first.actions();
            if actions.is_empty() {
                break;
            }
            for action in actions {
                if delivered == k {
                    break 'crash;
                }
                world.deliver(&mut first, action);
                delivered += 1;
            }
        }
        if world.service.pending().is_some() {
            let mut second: Mover = world.mover();
            world.run(&mut second);
        }
        world.assert_settled();
        for shard in 0..crate::common::SHARDS {
            assert_eq!(
                world.client(get(&key_in(shard))),
                Answer::Value(Some((format!("value {shard}"), 1))),
                "after a crash at step {k}, shard {shard}'s key must survive"
            );
        }
    }
}

#[test]
fn ex5_a_late_copy_of_the_freeze_answer_does_not_skip_the_install() {
    let mut world = joining_second_group();
    let mut mover = world.mover();
    let shard = moving_to_group_2(&world);
    let reply = world.group(1, GroupOp::Freeze { shard, num: 2 });
    mover.on_reply(1, reply.clone());
    let installing = mover.actions();
    mover.on_reply(1, reply);
    assert_eq!(
        mover.actions(),
        installing,
        "a duplicated answer to the freeze arrived while installing: only the new owner's \
         `Installed` may lead to the delete (else a lost install loses the shard)"
    );
    world.run(&mut mover);
    world.assert_settled();
}
