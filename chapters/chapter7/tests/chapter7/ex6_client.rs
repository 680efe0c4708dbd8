//! Exercise 7.6: the client routes by its cached configuration, refreshes it on
//! `wrong_group`, and retries the same request.

use chapter7::{Answer, Client, Configuration, GroupReply, KvCommand, Next, RequestId};

use crate::common::{World, get, join, key_in, put};

fn config_with_two_groups() -> (World, Configuration) {
    let mut world = World::new(&[1, 2]);
    world.change(join(&[1]));
    let config = world.change(join(&[2]));
    (world, config)
}

fn request(command: &KvCommand) -> Option<&RequestId> {
    match command {
        KvCommand::Get { .. } => None,
        KvCommand::Put { request, .. } | KvCommand::Delete { request, .. } => request.as_ref(),
    }
}

#[test]
fn ex6_writes_get_fresh_request_ids_reads_need_none() {
    let mut client = Client::new("alice", Configuration::initial(crate::common::SHARDS));
    let first = client.start(put("a", "1"));
    assert_eq!(
        request(&first),
        Some(&RequestId {
            client: "alice".into(),
            seq: 1
        }),
        "a write carries the client's name and a number, for the group's table"
    );
    assert_eq!(client.pending(), Some(&first), "the command is in flight");
    let answered = client.on_reply(GroupReply::Answer(Answer::Written { version: 1 }));
    assert_eq!(
        answered,
        Next::Done(Answer::Written { version: 1 }),
        "the group's answer to the command in flight is the command's result"
    );
    assert_eq!(client.pending(), None, "answered: nothing in flight");
    let second = client.start(put("a", "2"));
    assert_eq!(
        request(&second).map(|r| r.seq),
        Some(2),
        "the next write, the next id"
    );
    client.on_reply(GroupReply::Answer(Answer::Written { version: 2 }));
    let delete = client.start(KvCommand::Delete {
        key: "a".into(),
        request: None,
    });
    assert_eq!(
        request(&delete).map(|r| r.seq),
        Some(3),
        "a delete is a write too: it takes the next id, or the group's table would answer \
         it with the last put's answer and never delete"
    );
    client.on_reply(GroupReply::Answer(Answer::Deleted { version: 3 }));
    let read = client.start(get("a"));
    assert_eq!(read, get("a"), "a read is sent as it is");
}

#[test]
fn ex6_wrong_group_asks_for_a_refresh_and_the_retry_keeps_its_id() {
    let (world, config) = config_with_two_groups();
    let key = key_in(0);
    let mut client = Client::new(
        "bob",
        world
            .service
            .config(1)
            .expect("configuration 1 exists")
            .clone(),
    );
    let sent = client.start(put(&key, "x"));
    assert_eq!(
        client.target(),
        1,
        "configuration 1 gives every shard to group 1"
    );
    assert_eq!(
        client.on_reply(GroupReply::WrongGroup { shard: 0 }),
        Next::Refresh,
        "wrong_group: the cached configuration is old; ask the service"
    );
    assert_eq!(
        client.pending(),
        Some(&sent),
        "the command stays in flight, with the same request id, so a write that did \
         take effect is not applied twice"
    );
    client.on_config(config.clone(), None);
    assert_eq!(
        client.config().num,
        2,
        "a newer configuration from the service replaces the cached one"
    );
    assert_eq!(
        client.target(),
        config.owner(0),
        "routed by the new configuration"
    );
}

#[test]
fn ex6_an_older_configuration_arriving_late_is_ignored() {
    let (world, config) = config_with_two_groups();
    let mut client = Client::new("carol", config.clone());
    let first = world
        .service
        .config(1)
        .expect("configuration 1 exists")
        .clone();
    client.on_config(first.clone(), None);
    assert_eq!(
        client.config().num,
        2,
        "answers from the service can arrive out of order: never go back to an older \
         configuration"
    );
    // A late answer that was moving to the configuration the client now holds.
    client.on_config(first, Some(config.clone()));
    assert_eq!(
        client.moving(),
        None,
        "configuration 2 is the one the client holds: it is no longer moving (keep a moving \
         configuration only if it is newer than the one held)"
    );
}

#[test]
fn ex6_wrong_group_during_a_move_tries_the_moving_configurations_owner_first() {
    let mut world = World::new(&[1, 2]);
    let latest = world.change(join(&[1]));
    let moving = world.propose(join(&[2]));
    let shard = moving.shards_of(2)[0];
    let mut client = Client::new("dave", Configuration::initial(crate::common::SHARDS));
    client.on_config(latest, Some(moving.clone()));
    assert_eq!(
        client.moving(),
        Some(&moving),
        "the client keeps the moving configuration"
    );
    let sent = client.start(put(&key_in(shard), "x"));
    assert_eq!(
        client.target(),
        1,
        "first, the latest configuration's owner"
    );
    assert_eq!(
        client.on_reply(GroupReply::WrongGroup { shard }),
        Next::Retry,
        "group 1 froze the shard: try group 2, which serves it once installed"
    );
    assert_eq!(
        client.target(),
        2,
        "after the latest owner's wrong_group, the moving configuration's owner (group 2) is tried"
    );
    assert_eq!(
        client.pending(),
        Some(&sent),
        "the same request, the same id"
    );
    assert_eq!(
        client.on_reply(GroupReply::WrongGroup { shard }),
        Next::Refresh,
        "group 2 has not installed it yet: ask the service again"
    );
    assert_eq!(
        client.target(),
        1,
        "back to the latest configuration's owner"
    );
    // A shard the moving configuration leaves where it is: nobody else to try.
    let staying = moving.shards_of(1)[0];
    let mut client = Client::new("erin", Configuration::initial(crate::common::SHARDS));
    client.on_config(world.service.latest().clone(), Some(moving.clone()));
    client.start(put(&key_in(staying), "y"));
    assert_eq!(
        client.on_reply(GroupReply::WrongGroup { shard: staying }),
        Next::Refresh,
        "the moving configuration leaves shard {staying} with group 1: after group 1's \
         wrong_group there is no other owner to try, only the service to ask"
    );
}

#[test]
fn ex6_wrong_group_with_nothing_moving_refreshes() {
    let (world, config) = config_with_two_groups();
    let mut client = Client::new("erin", world.service.config(1).expect("exists").clone());
    client.start(put(&key_in(0), "x"));
    client.on_config(config, None);
    assert_eq!(
        client.on_reply(GroupReply::WrongGroup { shard: 0 }),
        Next::Refresh,
        "wrong_group with nothing moving: the cached configuration may be old, so ask the service"
    );
}
