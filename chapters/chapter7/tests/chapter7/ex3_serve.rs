//! Exercise 7.3: a group answers only for the shards it serves.

use chapter7::{Answer, Group, GroupOp, GroupReply, ShardData};

use crate::common::{SHARDS, get, key_in, put, put_as};

/// Group 1 serving shard 0 (since configuration 1) and nothing else.
fn serving_shard_0() -> Group {
    let mut group = Group::new(1, SHARDS);
    let reply = group.apply(GroupOp::Install {
        shard: 0,
        num: 1,
        data: ShardData::default(),
    });
    assert_eq!(reply, GroupReply::Installed { shard: 0, num: 1 });
    group
}

#[test]
fn ex3_a_served_shard_answers_reads_and_writes() {
    let mut group = serving_shard_0();
    let key = key_in(0);
    assert_eq!(
        group.apply(GroupOp::Client(put(&key, "v1"))),
        GroupReply::Answer(Answer::Written { version: 1 })
    );
    assert_eq!(
        group.apply(GroupOp::Client(get(&key))),
        GroupReply::Answer(Answer::Value(Some(("v1".into(), 1))))
    );
}

#[test]
fn ex3_a_shard_the_group_does_not_hold_is_the_wrong_group() {
    let mut group = serving_shard_0();
    for shard in 1..SHARDS {
        let key = key_in(shard);
        assert_eq!(
            group.apply(GroupOp::Client(put(&key, "v"))),
            GroupReply::WrongGroup { shard },
            "group 1 serves only shard 0; a write to {key:?} (shard {shard}) must be sent \
             elsewhere, not applied"
        );
    }
    assert!(
        group.data().keys().all(|&s| s == 0),
        "no data for another shard may appear: {:?}",
        group.data().keys()
    );
}

#[test]
fn ex3_a_frozen_shard_answers_nobody() {
    let mut group = serving_shard_0();
    let key = key_in(0);
    group.apply(GroupOp::Client(put(&key, "before")));
    let reply = group.apply(GroupOp::Freeze { shard: 0, num: 2 });
    assert!(matches!(reply, GroupReply::Frozen { .. }), "{reply:?}");
    for command in [get(&key), put(&key, "after")] {
        assert_eq!(
            group.apply(GroupOp::Client(command.clone())),
            GroupReply::WrongGroup { shard: 0 },
            "shard 0 is frozen for configuration 2 (its new owner may already serve it): \
             {command:?} must not be answered here, or a write could be lost and a read \
             stale"
        );
    }
}

#[test]
fn ex3_a_retried_write_gets_its_first_answer() {
    let mut group = serving_shard_0();
    let key = key_in(0);
    let first = group.apply(GroupOp::Client(put_as(&key, "once", "c", 1)));
    group.apply(GroupOp::Client(put(&key, "other")));
    let retry = group.apply(GroupOp::Client(put_as(&key, "once", "c", 1)));
    assert_eq!(first, retry, "a retry is answered from the shard's table");
    assert_eq!(
        group.apply(GroupOp::Client(get(&key))),
        GroupReply::Answer(Answer::Value(Some(("other".into(), 2)))),
        "the retry must not write again"
    );
}
