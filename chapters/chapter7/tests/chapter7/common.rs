//! Helpers shared by chapter 7's tests: commands, and a world of groups and a service
//! driven by hand (every message delivered at once, in the order the test chooses).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use chapter7::{
    Action, Change, Configuration, Group, GroupId, GroupOp, GroupReply, KvCommand, Mover,
    RequestId, Service, ServiceOp, ServiceReply, ShardId,
};

/// Shards in the tests' worlds.
pub const SHARDS: usize = 8;

pub fn get(key: &str) -> KvCommand {
    KvCommand::Get { key: key.into() }
}

pub fn put(key: &str, value: &str) -> KvCommand {
    KvCommand::Put {
        key: key.into(),
        value: value.into(),
        if_version: None,
        request: None,
    }
}

/// A write with request id (`client`, `seq`).
pub fn put_as(key: &str, value: &str, client: &str, seq: u64) -> KvCommand {
    KvCommand::Put {
        key: key.into(),
        value: value.into(),
        if_version: None,
        request: Some(RequestId {
            client: client.into(),
            seq,
        }),
    }
}

/// `Join` of groups `ids`, each with one made-up address.
pub fn join(ids: &[GroupId]) -> Change {
    Change::Join(ids.iter().map(|&g| (g, vec![format!("g{g}")])).collect())
}

/// A key of `shard` (the first of `k0, k1, ...` that hashes there).
pub fn key_in(shard: ShardId) -> String {
    (0..)
        .map(|i| format!("k{i}"))
        .find(|k| chapter7::placement::shard_of(k, SHARDS) == shard)
        .expect("some key hashes to every shard")
}

/// The service and every group, each an atomic machine (a group's Raft log is what makes
/// it one), with messages delivered by hand.
#[derive(Debug, Clone)]
pub struct World {
    pub service: Service,
    pub groups: BTreeMap<GroupId, Group>,
}

impl World {
    /// A service with [`SHARDS`] shards and groups `ids`, none joined yet.
    pub fn new(ids: &[GroupId]) -> World {
        World {
            service: Service::new(SHARDS),
            groups: ids.iter().map(|&g| (g, Group::new(g, SHARDS))).collect(),
        }
    }

    /// Proposes `change` on the latest configuration; panics if refused.
    pub fn propose(&mut self, change: Change) -> Configuration {
        let base = self.service.latest().num;
        match self.service.apply(&ServiceOp::Propose { base, change }) {
            ServiceReply::Proposed(config) => config,
            other => panic!("the service refused a valid change: {other:?}"),
        }
    }

    /// A mover for the pending configuration.
    pub fn mover(&self) -> Mover {
        let pending = self.service.pending().expect("a change is pending");
        Mover::new(self.service.latest(), pending)
    }

    /// Delivers one action and the answer to it.
    pub fn deliver(&mut self, mover: &mut Mover, action: Action) {
        match action {
            Action::Group { group, op } => {
                let reply = self.group(group, op);
                mover.on_reply(group, reply);
            }
            Action::Service(op) => {
                if let ServiceReply::Finished { num } = self.service.apply(&op) {
                    mover.finished(num);
                }
            }
        }
    }

    /// Runs `mover` to the end, every message delivered in order.
    pub fn run(&mut self, mover: &mut Mover) {
        for round in 0.. {
            assert!(
                round < 100,
                "the mover did not finish in 100 rounds: {mover:?}"
            );
            let actions = mover.actions();
            if actions.is_empty() {
                break;
            }
            for action in actions {
                self.deliver(mover, action);
            }
        }
    }

    /// Proposes `change` and runs it to the end.
    pub fn change(&mut self, change: Change) -> Configuration {
        let config = self.propose(change);
        let mut mover = self.mover();
        self.run(&mut mover);
        assert_eq!(self.service.latest(), &config, "the change took effect");
        config
    }

    /// Applies `op` at group `group`.
    pub fn group(&mut self, group: GroupId, op: GroupOp) -> GroupReply {
        self.groups
            .get_mut(&group)
            .unwrap_or_else(|| panic!("no group {group} in this world"))
            .apply(op)
    }

    /// Runs `command` at whichever group the latest configuration names; panics unless
    /// that group answers.
    pub fn client(&mut self, command: KvCommand) -> chapter7::Answer {
        let shard = chapter7::placement::shard_of(command.key(), SHARDS);
        let owner = self.service.latest().owner(shard);
        match self.group(owner, GroupOp::Client(command.clone())) {
            GroupReply::Answer(answer) => answer,
            other => panic!(
                "group {owner} owns shard {shard} in configuration {} but answered \
                 {command:?} with {other:?}",
                self.service.latest().num
            ),
        }
    }

    /// Checks what a settled world must hold: every shard served by exactly its owner in
    /// the latest configuration, which alone holds its data (garbage collected elsewhere).
    pub fn assert_settled(&self) {
        let latest = self.service.latest();
        assert!(
            self.service.pending().is_none(),
            "a change is still pending"
        );
        for (&id, group) in &self.groups {
            let owned: BTreeSet<ShardId> = latest.shards_of(id).into_iter().collect();
            let held: BTreeSet<ShardId> = group.data().keys().copied().collect();
            let stale: Vec<&ShardId> = held.difference(&owned).collect();
            assert!(
                stale.is_empty(),
                "group {id} still holds shards {stale:?} that configuration {} gives to \
                 others (garbage collection)",
                latest.num
            );
            for shard in owned {
                assert!(
                    matches!(group.states()[shard], chapter7::ShardState::Serving { .. }),
                    "group {id} owns shard {shard} in configuration {} but its state is {:?}",
                    latest.num,
                    group.states()[shard]
                );
            }
        }
    }
}
