//! Exercise 7.3: a group answers only for the shards it serves.

use chapter7::{Answer, Group, GroupOp, GroupReply, ShardData, ShardState};

use crate::common::{SHARDS, get, key_in, put, put_as};

/// Group 1 with shard 0 in `state`, holding its (empty) data, and every other shard
/// absent. Built the way a snapshot restores a group, not by installing and freezing:
/// those steps are exercise 7.4's, and 7.3's tests must not need it.
fn group_with_shard_0(state: ShardState) -> Group {
    let mut states = vec![ShardState::Absent { num: 0 }; SHARDS];
    states[0] = state;
    serde_json::from_value(serde_json::json!({
        "id": 1,
        "states": states,
        "data": { "0": ShardData::default() },
    }))
    .expect("a group's state reads back from JSON, as from a snapshot")
}

/// Group 1 serving shard 0 (since configuration 1) and nothing else.
fn serving_shard_0() -> Group {
    group_with_shard_0(ShardState::Serving { num: 1 })
}

#[test]
fn ex3_a_served_shard_answers_reads_and_writes() {
    let mut group = serving_shard_0();
    let key = key_in(0);
    assert_eq!(
        group.apply(GroupOp::Client(put(&key, "v1"))),
        GroupReply::Answer(Answer::Written { version: 1 }),
        "group 1 serves shard 0: a write to {key:?} is applied and answered"
    );
    assert_eq!(
        group.apply(GroupOp::Client(get(&key))),
        GroupReply::Answer(Answer::Value(Some(("v1".into(), 1)))),
        "and a read of {key:?} sees it"
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
    let mut group = group_with_shard_0(ShardState::Frozen { num: 2 });
    let key = key_in(0);
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
