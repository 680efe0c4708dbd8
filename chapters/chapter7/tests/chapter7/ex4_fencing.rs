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
        },
        "a freeze for 2 of a shard served since 1 hands over its data"
    );
    assert_eq!(
        group.states()[0],
        ShardState::Frozen { num: 2 },
        "and leaves it frozen for configuration 2"
    );
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
        assert_eq!(
            group.states()[0],
            ShardState::Serving { num: 3 },
            "a stale freeze changes nothing"
        );
    }
    assert!(
        matches!(
            group.apply(GroupOp::Client(get(&key_in(0)))),
            GroupReply::Answer(_)
        ),
        "the shard still serves its clients"
    );
}

#[test]
fn ex4_a_freeze_of_a_shard_not_held_is_refused() {
    let mut group = Group::new(1, SHARDS);
    let reply = group.apply(GroupOp::Freeze { shard: 2, num: 4 });
    assert!(
        matches!(reply, GroupReply::Refused { .. }),
        "group 1 never held shard 2: freezing it must be refused, got {reply:?}"
    );
    assert_eq!(
        group.states()[2],
        ShardState::Absent { num: 0 },
        "a refused freeze changes nothing"
    );
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
        GroupReply::Installed { shard: 0, num: 2 },
        "an install for 2 of a shard absent since 0 is carried out"
    );
    assert_eq!(
        group.states()[0],
        ShardState::Serving { num: 2 },
        "the shard is served since configuration 2"
    );
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
    assert_eq!(
        group.states()[0],
        ShardState::Absent { num: 6 },
        "a stale install changes nothing"
    );
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
    assert!(
        group.data().contains_key(&0),
        "a refused delete drops nothing"
    );
    assert_eq!(
        group.apply(GroupOp::Delete { shard: 0, num: 2 }),
        GroupReply::Deleted { shard: 0, num: 2 },
        "a delete for the configuration the shard is frozen for is carried out"
    );
    assert!(group.data().is_empty(), "the moved shard's data is gone");
    assert_eq!(
        group.states()[0],
        ShardState::Absent { num: 2 },
        "the shard is absent since configuration 2"
    );
    assert_eq!(
        group.apply(GroupOp::Delete { shard: 0, num: 2 }),
        GroupReply::Deleted { shard: 0, num: 2 },
        "a repeat is answered as done"
    );
}

/// What the book's table says a step does to a shard in a given state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// The step is carried out: the shard moves to this state.
    Acts(ShardState),
    /// The step was done already: answered as done, nothing changes.
    Repeat,
    /// The step is behind the shard's state: `Stale`, nothing changes.
    Stale,
    /// The step does not fit and is not behind: `Refused`, nothing changes.
    Refused,
}

/// Group 1 with shard 0 in `state`, holding one key if it serves or is frozen: built as
/// a snapshot restores it, so each cell starts from exactly its state.
fn group_in(state: ShardState) -> Group {
    let mut states = vec![ShardState::Absent { num: 0 }; SHARDS];
    states[0] = state;
    let mut data = ShardData::default();
    data.kv.insert(key_in(0), ("held".into(), 1));
    data.version = 1;
    let data = match state {
        ShardState::Absent { .. } => serde_json::json!({}),
        _ => serde_json::json!({ "0": data }),
    };
    serde_json::from_value(serde_json::json!({ "id": 1, "states": states, "data": data }))
        .expect("a group's state reads back from JSON, as from a snapshot")
}

#[test]
fn ex4_every_cell_of_the_fencing_table() {
    use ShardState::{Absent, Frozen, Serving};
    const NUM: u64 = 5;
    let freeze = GroupOp::Freeze { shard: 0, num: NUM };
    let mut incoming = ShardData::default();
    incoming.kv.insert(key_in(0), ("incoming".into(), 1));
    let install = GroupOp::Install {
        shard: 0,
        num: NUM,
        data: incoming.clone(),
    };
    let delete = GroupOp::Delete { shard: 0, num: NUM };
    // (step, state, what the table says), for every state one below, at and above NUM.
    let cells = [
        (&freeze, Serving { num: 4 }, Rule::Acts(Frozen { num: NUM })),
        (&freeze, Serving { num: 5 }, Rule::Stale),
        (&freeze, Serving { num: 6 }, Rule::Stale),
        (&freeze, Frozen { num: 4 }, Rule::Refused),
        (&freeze, Frozen { num: 5 }, Rule::Repeat),
        (&freeze, Frozen { num: 6 }, Rule::Stale),
        (&freeze, Absent { num: 4 }, Rule::Refused),
        (&freeze, Absent { num: 5 }, Rule::Stale),
        (&freeze, Absent { num: 6 }, Rule::Stale),
        (
            &install,
            Absent { num: 4 },
            Rule::Acts(Serving { num: NUM }),
        ),
        (&install, Absent { num: 5 }, Rule::Stale),
        (&install, Absent { num: 6 }, Rule::Stale),
        (&install, Serving { num: 4 }, Rule::Refused),
        (&install, Serving { num: 5 }, Rule::Repeat),
        (&install, Serving { num: 6 }, Rule::Stale),
        (&install, Frozen { num: 4 }, Rule::Refused),
        (&install, Frozen { num: 5 }, Rule::Stale),
        (&install, Frozen { num: 6 }, Rule::Stale),
        (&delete, Frozen { num: 4 }, Rule::Refused),
        (&delete, Frozen { num: 5 }, Rule::Acts(Absent { num: NUM })),
        (&delete, Frozen { num: 6 }, Rule::Stale),
        (&delete, Absent { num: 4 }, Rule::Refused),
        (&delete, Absent { num: 5 }, Rule::Repeat),
        (&delete, Absent { num: 6 }, Rule::Repeat),
        (&delete, Serving { num: 4 }, Rule::Refused),
        (&delete, Serving { num: 5 }, Rule::Stale),
        (&delete, Serving { num: 6 }, Rule::Stale),
    ];
    let mut wrong = Vec::new();
    for (step, state, rule) in cells {
        let mut group = group_in(state);
        let before = group.clone();
        let reply = group.apply(step.clone());
        let held = group.data().get(&0).cloned();
        let ok = match rule {
            Rule::Acts(after) => {
                let answered = match step {
                    GroupOp::Freeze { .. } => {
                        matches!(&reply, GroupReply::Frozen { data, .. } if Some(data) == before.data().get(&0))
                    }
                    GroupOp::Install { .. } => {
                        reply == GroupReply::Installed { shard: 0, num: NUM }
                    }
                    _ => reply == GroupReply::Deleted { shard: 0, num: NUM },
                };
                let data_ok = match after {
                    Absent { .. } => held.is_none(),
                    Serving { .. } => held.as_ref() == Some(&incoming),
                    Frozen { .. } => held.as_ref() == before.data().get(&0),
                };
                answered && group.states()[0] == after && data_ok
            }
            Rule::Repeat => {
                let answered = match step {
                    GroupOp::Freeze { .. } => {
                        matches!(&reply, GroupReply::Frozen { data, .. } if Some(data) == before.data().get(&0))
                    }
                    GroupOp::Install { .. } => {
                        reply == GroupReply::Installed { shard: 0, num: NUM }
                    }
                    _ => reply == GroupReply::Deleted { shard: 0, num: NUM },
                };
                answered && group == before
            }
            Rule::Stale => {
                reply
                    == GroupReply::Stale {
                        shard: 0,
                        num: NUM,
                        now: state,
                    }
                    && group == before
            }
            Rule::Refused => {
                reply
                    == GroupReply::Refused {
                        shard: 0,
                        num: NUM,
                        now: state,
                    }
                    && group == before
            }
        };
        if !ok {
            let name = match step {
                GroupOp::Freeze { .. } => "freeze",
                GroupOp::Install { .. } => "install",
                _ => "delete",
            };
            wrong.push(format!(
                "{name} for configuration {NUM} on {state:?}: the table says {rule:?}, but the \
                 reply was {reply:?} and the shard is now {:?} holding {:?}",
                group.states()[0],
                held.map(|d| d.kv)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "the fencing table (book: chapter 7, exercise 4) is broken in {} of {} cells: a step \
         acts only on the state its row names, answers a repeat as done without changing \
         anything, and is Stale if the shard's number is at or above its own, else \
         Refused:\n{}",
        wrong.len(),
        cells.len(),
        wrong.join("\n")
    );
}
