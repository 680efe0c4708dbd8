//! Configurations: which group owns each shard, numbered in the order they take effect.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A replica group's id (`1, 2, ...`; [`NO_GROUP`] is none).
pub type GroupId = u64;

/// A shard's index, `0..shards`.
pub type ShardId = usize;

/// The owner of a shard that no group holds (before any group joins, or after the last
/// one leaves).
pub const NO_GROUP: GroupId = 0;

/// Configuration `num`: the owner of every shard, and the groups and their servers.
/// Configuration 0 has no group; each change makes the next number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Configuration {
    /// Its number: 0 first, one more with each change.
    pub num: u64,
    /// The owner of each shard ([`NO_GROUP`]: none).
    pub shards: Vec<GroupId>,
    /// The groups of this configuration, with their servers' addresses.
    pub groups: BTreeMap<GroupId, Vec<String>>,
}

/// One shard changing owner between two configurations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    pub shard: ShardId,
    /// The group that held it ([`NO_GROUP`]: none; it starts empty).
    pub from: GroupId,
    /// The group that holds it next ([`NO_GROUP`]: none; it is dropped).
    pub to: GroupId,
}

impl Configuration {
    /// Configuration 0: `shards` shards, no group.
    pub fn initial(shards: usize) -> Configuration {
        Configuration {
            num: 0,
            shards: vec![NO_GROUP; shards],
            groups: BTreeMap::new(),
        }
    }

    /// The group that owns `shard` here.
    pub fn owner(&self, shard: ShardId) -> GroupId {
        self.shards.get(shard).copied().unwrap_or(NO_GROUP)
    }

    /// The shards `group` owns here, in order.
    pub fn shards_of(&self, group: GroupId) -> Vec<ShardId> {
        (0..self.shards.len())
            .filter(|&s| self.shards[s] == group)
            .collect()
    }

    /// Every shard whose owner differs in `next`, in shard order.
    pub fn moves_to(&self, next: &Configuration) -> Vec<Move> {
        (0..self.shards.len())
            .filter(|&shard| self.owner(shard) != next.owner(shard))
            .map(|shard| Move {
                shard,
                from: self.owner(shard),
                to: next.owner(shard),
            })
            .collect()
    }
}
