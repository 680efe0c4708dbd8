//! Exercise 7.4: freeze, install and delete, fenced by configuration number: a repeat
//! changes nothing, a stale step changes nothing, a wrong step is refused.

use chapter7::{Answer, Group, GroupOp, GroupReply, ShardData, ShardState};

use crate::common::{SHARDS, get, key_in, put};

/// A group serving shard 0 since configuration `num`, holding one key.
fn serving(num: u64) -> (Group, ShardData) {
    let mut group = Group::new(1, SHARDS);
    group.apply(GroupOp::Install {
        shard: 0,
        num,
        data: ShardData::default(),
    });
    group.apply(GroupOp::Client(put(&key_in(0), "v")));
    let data = group.data()[&0].clone();
    (group, data)
}

#[test]
fn ex4_a_freeze_hands_over_the_data_and_a_repeat_hands_over_the_same() {
    let (mut group, data) = serving(1);
    let first = group.apply(GroupOp::Freeze { shard: 0, num: 2 });
    assert_eq!(
        first,
        GroupReply::Frozen {
            shard: 0,
            num: 2,
            data: data.clone()
        }
    );
    assert_eq!(group.states()[0], ShardState::Frozen { num: 2 });
    assert_eq!(
        group.apply(GroupOp::Freeze { shard: 0, num: 2 }),
        first,
        "a mover that lost the answer asks again and must get the same data"
    );
}

#[test]
fn ex4_a_freeze_for_an_old_configuration_changes_nothing() {
    let (mut group, _) = serving(3);
    for num in [1, 3] {
        let reply = group.apply(GroupOp::Freeze { shard: 0, num });
        assert!(
            matches!(reply, GroupReply::Stale { .. }),
            "shard 0 is served since configuration 3: a freeze for {num} is stale, got {reply:?}"
        );
        assert_eq!(group.states()[0], ShardState::Serving { num: 3 });
    }
    assert!(matches!(
        group.apply(GroupOp::Client(get(&key_in(0)))),
        GroupReply::Answer(_)
    ));
}

#[test]
fn ex4_a_freeze_of_a_shard_not_held_is_refused() {
    let mut group = Group::new(1, SHARDS);
    let reply = group.apply(GroupOp::Freeze { shard: 2, num: 4 });
    assert!(
        matches!(reply, GroupReply::Refused { .. }),
        "group 1 never held shard 2: freezing it must be refused, got {reply:?}"
    );
    assert_eq!(group.states()[2], ShardState::Absent { num: 0 });
}

#[test]
fn ex4_an_install_starts_serving_and_a_repeat_keeps_the_newer_writes() {
    let (_, data) = serving(1);
    let mut group = Group::new(2, SHARDS);
    let install = GroupOp::Install {
        shard: 0,
        num: 2,
        data,
    };
    assert_eq!(
        group.apply(install.clone()),
        GroupReply::Installed { shard: 0, num: 2 }
    );
    assert_eq!(group.states()[0], ShardState::Serving { num: 2 });
    let key = key_in(0);
    group.apply(GroupOp::Client(put(&key, "written after the move")));
    assert_eq!(
        group.apply(install),
        GroupReply::Installed { shard: 0, num: 2 },
        "a repeated install is answered as done"
    );
    assert_eq!(
        group.apply(GroupOp::Client(get(&key))),
        GroupReply::Answer(Answer::Value(Some(("written after the move".into(), 2)))),
        "a repeated install must not put the old data back over a write made since"
    );
}

#[test]
fn ex4_an_install_for_an_old_configuration_changes_nothing() {
    let mut group = Group::new(2, SHARDS);
    group.apply(GroupOp::Install {
        shard: 0,
        num: 5,
        data: ShardData::default(),
    });
    group.apply(GroupOp::Freeze { shard: 0, num: 6 });
    group.apply(GroupOp::Delete { shard: 0, num: 6 });
    let reply = group.apply(GroupOp::Install {
        shard: 0,
        num: 5,
        data: ShardData::default(),
    });
    assert!(
        matches!(reply, GroupReply::Stale { .. }),
        "shard 0 left this group in configuration 6: a late install for 5 is stale, got {reply:?}"
    );
    assert_eq!(group.states()[0], ShardState::Absent { num: 6 });
    assert!(group.data().is_empty(), "no data came back");
}

#[test]
fn ex4_delete_drops_only_a_shard_frozen_for_that_configuration() {
    let (mut group, _) = serving(1);
    for num in [1, 2] {
        let reply = group.apply(GroupOp::Delete { shard: 0, num });
        assert!(
            !matches!(reply, GroupReply::Deleted { .. }),
            "shard 0 is served here: a delete for {num} must not drop it, got {reply:?}"
        );
        assert!(
            group.data().contains_key(&0),
            "the served shard's data stays"
        );
    }
    group.apply(GroupOp::Freeze { shard: 0, num: 2 });
    assert_eq!(
        group.apply(GroupOp::Delete { shard: 0, num: 3 }),
        GroupReply::Refused {
            shard: 0,
            num: 3,
            now: ShardState::Frozen { num: 2 }
        },
        "frozen for 2, not 3: its data waits for configuration 2's mover"
    );
    assert!(group.data().contains_key(&0));
    assert_eq!(
        group.apply(GroupOp::Delete { shard: 0, num: 2 }),
        GroupReply::Deleted { shard: 0, num: 2 }
    );
    assert!(group.data().is_empty(), "the moved shard's data is gone");
    assert_eq!(group.states()[0], ShardState::Absent { num: 2 });
    assert_eq!(
        group.apply(GroupOp::Delete { shard: 0, num: 2 }),
        GroupReply::Deleted { shard: 0, num: 2 },
        "a repeat is answered as done"
    );
}
