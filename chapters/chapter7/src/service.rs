//! The configuration service's state machine: the numbered configurations, and the one
//! change that may be moving.
//!
//! It is what a chapter-6 group replicates, so it survives crashes like any group (in the
//! tests' simulator, three replicas running chapter 6's core apply it through
//! [`crate::machine::Machine`]). A change goes through two steps:
//! 1. [`ServiceOp::Propose`] names the configuration it builds on (`base`). It is taken
//!    only if `base` is the latest configuration and no other change is moving: of two
//!    controllers that read the same configuration and propose at once, exactly one wins
//!    (a compare-and-set on the configuration number). The new configuration is
//!    *pending*: groups have not moved their shards yet, clients still route by the latest.
//! 2. [`ServiceOp::Finish`] makes the pending configuration the latest, once every shard
//!    it moves has moved. Anyone may send it (the controller that proposed, or another
//!    that found the change half done): it is idempotent.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::config::{Configuration, GroupId, NO_GROUP, ShardId};
use crate::placement::rebalance;

/// The most groups a configuration may hold (a configuration is in every answer of the
/// service: it must stay small).
pub const MAX_GROUPS: usize = 64;
/// The most servers a group may name.
pub const MAX_SERVERS: usize = 16;
/// The longest server address, in bytes.
pub const MAX_ADDRESS: usize = 256;

// ANCHOR: ops
/// A change to the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// New groups, with their servers; the shards are rebalanced.
    Join(#[serde(with = "pairs")] BTreeMap<GroupId, Vec<String>>),
    /// Groups leave; their shards go to the others, rebalanced.
    Leave(Vec<GroupId>),
    /// One shard to one group, by hand (no rebalancing).
    Move { shard: ShardId, group: GroupId },
}

/// A request to the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceOp {
    /// Configuration `num`, or the latest (`None`), and the pending one.
    Query { num: Option<u64> },
    /// Make `change` on top of configuration `base`.
    Propose { base: u64, change: Change },
    /// Configuration `num`'s shards have moved: it becomes the latest.
    Finish { num: u64 },
}
// ANCHOR_END: ops

/// The service's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceReply {
    /// The configuration asked for, and the pending one if a change is moving.
    Config {
        config: Configuration,
        pending: Option<Configuration>,
    },
    /// The proposal was taken: this configuration is now pending.
    Proposed(Configuration),
    /// Configuration `num` is the latest.
    Finished { num: u64 },
    /// Refused, with why (the configuration number moved on, a change is moving, or the
    /// change names groups or shards that do not fit).
    Refused(String),
}

/// Every configuration so far, and the pending one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    configs: Vec<Configuration>,
    pending: Option<Configuration>,
}

impl Service {
    /// A service whose configuration 0 has `shards` shards and no group.
    ///
    /// # Panics
    /// If `shards` is 0: every key must have a shard.
    pub fn new(shards: usize) -> Service {
        assert!(shards > 0, "a sharded store needs at least one shard");
        Service {
            configs: vec![Configuration::initial(shards)],
            pending: None,
        }
    }

    /// The latest configuration.
    pub fn latest(&self) -> &Configuration {
        self.configs
            .last()
            .expect("configuration 0 is never removed")
    }

    /// The configuration proposed and still moving, if any.
    pub fn pending(&self) -> Option<&Configuration> {
        self.pending.as_ref()
    }

    /// Configuration `num`, latest or pending.
    pub fn config(&self, num: u64) -> Option<&Configuration> {
        self.configs
            .get(num as usize)
            .or(self.pending.as_ref().filter(|p| p.num == num))
    }

    /// Applies one request.
    pub fn apply(&mut self, op: &ServiceOp) -> ServiceReply {
        match op {
            ServiceOp::Query { num } => {
                let config = match num {
                    Some(n) => match self.configs.get(*n as usize) {
                        Some(c) => c.clone(),
                        None => {
                            return ServiceReply::Refused(format!(
                                "no configuration {n} yet (the latest is {})",
                                self.latest().num
                            ));
                        }
                    },
                    None => self.latest().clone(),
                };
                ServiceReply::Config {
                    config,
                    pending: self.pending.clone(),
                }
            }
            ServiceOp::Propose { base, change } => self.propose(*base, change),
            ServiceOp::Finish { num } => match &self.pending {
                Some(p) if p.num == *num => {
                    self.configs
                        .push(self.pending.take().expect("matched above"));
                    ServiceReply::Finished { num: *num }
                }
                _ if *num <= self.latest().num => ServiceReply::Finished { num: *num },
                _ => ServiceReply::Refused(format!(
                    "configuration {num} was never proposed (the latest is {})",
                    self.latest().num
                )),
            },
        }
    }

    fn propose(&mut self, base: u64, change: &Change) -> ServiceReply {
        let latest = self.latest();
        if let Some(p) = &self.pending {
            return ServiceReply::Refused(format!(
                "configuration {} is still moving: finish it first",
                p.num
            ));
        }
        if base != latest.num {
            return ServiceReply::Refused(format!(
                "proposed on configuration {base}, but the latest is {}",
                latest.num
            ));
        }
        match next_config(latest, change) {
            Ok(next) => {
                self.pending = Some(next.clone());
                ServiceReply::Proposed(next)
            }
            Err(why) => ServiceReply::Refused(why),
        }
    }
}

/// The configuration `change` makes of `config` (numbered one more), or why the change
/// does not fit it (a group that joins twice, leaves without being in, the last groups
/// leaving, a move to no such shard or group). A controller can ask before it proposes.
pub fn next_config(config: &Configuration, change: &Change) -> Result<Configuration, String> {
    let mut next = config.clone();
    next.num += 1;
    match change {
        Change::Join(joining) => {
            if let Some(g) = joining
                .keys()
                .find(|g| **g == NO_GROUP || next.groups.contains_key(g))
            {
                return Err(format!("group {g} cannot join: taken or 0"));
            }
            if next.groups.len() + joining.len() > MAX_GROUPS {
                return Err(format!("more than {MAX_GROUPS} groups"));
            }
            if let Some((g, _)) = joining.iter().find(|(_, servers)| {
                servers.is_empty()
                    || servers.len() > MAX_SERVERS
                    || servers
                        .iter()
                        .any(|s| s.is_empty() || s.len() > MAX_ADDRESS)
            }) {
                return Err(format!(
                    "group {g} must name 1 to {MAX_SERVERS} servers, each address 1 to \
                     {MAX_ADDRESS} bytes"
                ));
            }
            next.groups.extend(joining.clone());
        }
        Change::Leave(leaving) => {
            if let Some(g) = leaving.iter().find(|g| !next.groups.contains_key(g)) {
                return Err(format!("group {g} is not in the configuration"));
            }
            next.groups.retain(|g, _| !leaving.contains(g));
            if next.groups.is_empty() {
                return Err(
                    "the last groups cannot leave: their shards would have nowhere to go"
                        .to_string(),
                );
            }
        }
        Change::Move { shard, group } => {
            if *shard >= next.shards.len() || !next.groups.contains_key(group) {
                return Err(format!(
                    "cannot move shard {shard} to group {group}: no such shard or group"
                ));
            }
            next.shards[*shard] = *group;
            return Ok(next);
        }
    }
    let groups: BTreeSet<GroupId> = next.groups.keys().copied().collect();
    rebalance(&mut next.shards, &groups);
    Ok(next)
}

/// A map with number keys, written as a list of `[key, value]` pairs: inside a message
/// (chapter 6's `Message` is a tagged enum), serde cannot read a JSON object's keys back
/// as numbers.
mod pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::config::GroupId;

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<GroupId, Vec<String>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        map.iter().collect::<Vec<_>>().serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<GroupId, Vec<String>>, D::Error> {
        Ok(Vec::<(GroupId, Vec<String>)>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}
