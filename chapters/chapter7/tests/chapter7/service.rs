//! Given code: the configuration service's machine (proposals fenced by configuration
//! number, so two controllers cannot both change the configuration; one change moving at a
//! time), and a group's refusal of a shard that does not exist.

use chapter7::{Change, Group, GroupOp, GroupReply, ServiceOp, ServiceReply, ShardData};

use crate::common::{SHARDS, World, join};

#[test]
fn chapter_two_controllers_proposing_on_the_same_configuration_one_wins() {
    let mut world = World::new(&[1, 2, 3]);
    world.change(join(&[1]));
    let a = world.service.apply(&ServiceOp::Propose {
        base: 1,
        change: join(&[2]),
    });
    let b = world.service.apply(&ServiceOp::Propose {
        base: 1,
        change: join(&[3]),
    });
    assert!(
        matches!(a, ServiceReply::Proposed(ref c) if c.num == 2),
        "{a:?}"
    );
    assert!(
        matches!(b, ServiceReply::Refused(_)),
        "a second proposal on configuration 1 must lose: {b:?}"
    );
    world.run(&mut world.mover());
    let c = world.service.apply(&ServiceOp::Propose {
        base: 1,
        change: join(&[3]),
    });
    assert!(
        matches!(c, ServiceReply::Refused(_)),
        "configuration 1 is no longer the latest: {c:?}"
    );
    assert_eq!(
        world.service.latest().num,
        2,
        "once its shards have moved, the winning proposal is the latest configuration, 2"
    );
    assert_eq!(
        world
            .service
            .latest()
            .groups
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![1, 2],
        "configuration 2 is the winner's change (group 2 joins), not the loser's (group 3)"
    );
}

#[test]
fn chapter_invalid_changes_are_refused_and_change_nothing() {
    let mut world = World::new(&[1]);
    world.change(join(&[1]));
    for change in [
        join(&[1]),
        join(&[0]),
        Change::Leave(vec![9]),
        Change::Leave(vec![1]),
        Change::Move {
            shard: 99,
            group: 1,
        },
        Change::Move { shard: 0, group: 4 },
    ] {
        let reply = world.service.apply(&ServiceOp::Propose {
            base: 1,
            change: change.clone(),
        });
        assert!(
            matches!(reply, ServiceReply::Refused(_)),
            "{change:?}: {reply:?}"
        );
    }
    assert!(
        world.service.pending().is_none(),
        "a refused change leaves nothing pending"
    );
    assert!(
        matches!(
            world.service.apply(&ServiceOp::Finish { num: 9 }),
            ServiceReply::Refused(_)
        ),
        "finishing a configuration that is not pending is refused"
    );
    assert!(
        matches!(
            world.service.apply(&ServiceOp::Query { num: Some(5) }),
            ServiceReply::Refused(_)
        ),
        "asking for a configuration that does not exist is refused"
    );
}

#[test]
fn chapter_a_step_for_a_shard_out_of_range_is_refused_not_a_panic() {
    let mut group = Group::new(1, SHARDS);
    for op in [
        GroupOp::Freeze {
            shard: SHARDS,
            num: 1,
        },
        GroupOp::Install {
            shard: usize::MAX,
            num: 1,
            data: ShardData::default(),
        },
        GroupOp::Delete {
            shard: SHARDS + 1,
            num: 1,
        },
    ] {
        let reply = group.apply(op.clone());
        assert!(
            matches!(reply, GroupReply::Refused { .. }),
            "{op:?} names no shard of this group: {reply:?}"
        );
    }
}
