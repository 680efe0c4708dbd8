//! A replica group's sharded state machine: which shards it serves, and the steps that
//! move a shard in or out, each fenced by configuration number.
//!
//! Exercises 7.3 and 7.4 live here. In the running system this machine sits where
//! chapter 6's map did: every operation below is an entry of the group's Raft log, so the
//! whole group applies it in the same order and it survives crashes. Nothing here does
//! I/O.
//!
//! Each shard is in one state, tagged with the configuration that put it there:
//! - `Serving { num }`: the group owns it since configuration `num` and answers clients;
//! - `Frozen { num }`: configuration `num` gives it to another group: the group keeps the
//!   data for the mover and answers no client;
//! - `Absent { num }`: the group holds nothing of it (since configuration `num`).
//!
//! A step for configuration `num` on a shard whose state has a number at or above `num`
//! has already happened, or been overtaken: it changes nothing (fencing). That is what
//! lets a mover repeat every step, and a stale or duplicated message arrive at any time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{GroupId, ShardId};
use crate::placement::shard_of;
pub use crate::shard::ShardState;
use crate::shard::{Answer, KvCommand, ShardData};
use crate::staging::{Staged, Staging};

/// An operation on a group's machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupOp {
    /// A client's command.
    Client(KvCommand),
    /// Stop serving `shard`, which configuration `num` gives away, and hand over its data.
    Freeze { shard: ShardId, num: u64 },
    /// Start serving `shard`, which configuration `num` gives this group, from `data`.
    Install {
        shard: ShardId,
        num: u64,
        data: ShardData,
    },
    /// Drop `shard`'s data, frozen for configuration `num` (its new owner has it).
    Delete { shard: ShardId, num: u64 },
    /// A piece of `shard`'s data for configuration `num`, sent ahead of its `Install`
    /// when the shard is too big for one log entry (given: see `staging.rs`).
    Stage {
        shard: ShardId,
        num: u64,
        piece: ShardData,
    },
}

/// A group's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupReply {
    /// The client's command ran.
    Answer(Answer),
    /// This group does not serve the key's shard now: ask the service where it is.
    WrongGroup { shard: ShardId },
    /// `shard` is frozen for configuration `num`; here is its data.
    Frozen {
        shard: ShardId,
        num: u64,
        data: ShardData,
    },
    /// `shard` is served here since configuration `num`.
    Installed { shard: ShardId, num: u64 },
    /// `shard`'s data is gone from here, since configuration `num` or later.
    Deleted { shard: ShardId, num: u64 },
    /// A piece of `shard` for configuration `num` is kept for its install.
    Staged { shard: ShardId, num: u64 },
    /// The step for configuration `num` is behind this shard's state (`now`): done already
    /// or overtaken; nothing changed.
    Stale {
        shard: ShardId,
        num: u64,
        now: ShardState,
    },
    /// The step does not fit the shard's state (`now`) and is not behind it either:
    /// nothing changed. A correct mover never sees this; it is here so that a wrong or
    /// forged message is refused instead of obeyed.
    Refused {
        shard: ShardId,
        num: u64,
        now: ShardState,
    },
}

/// One group's shards: their states and the data of those it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    id: GroupId,
    states: Vec<ShardState>,
    data: BTreeMap<ShardId, ShardData>,
    /// Pieces of big shards, waiting for their install.
    #[serde(default)]
    staging: Staging,
}

impl Group {
    /// Group `id` with `shards` shards, holding none.
    ///
    /// # Panics
    /// If `shards` is 0: every key must have a shard.
    pub fn new(id: GroupId, shards: usize) -> Group {
        assert!(shards > 0, "a sharded store needs at least one shard");
        Group {
            id,
            states: vec![ShardState::Absent { num: 0 }; shards],
            data: BTreeMap::new(),
            staging: Staging::default(),
        }
    }

    /// Its id.
    pub fn id(&self) -> GroupId {
        self.id
    }

    /// Every shard's state, by shard.
    pub fn states(&self) -> &[ShardState] {
        &self.states
    }

    /// The data it holds (shards serving or frozen).
    pub fn data(&self) -> &BTreeMap<ShardId, ShardData> {
        &self.data
    }

    /// Applies one operation (one committed entry of the group's log).
    pub fn apply(&mut self, op: GroupOp) -> GroupReply {
        match op {
            GroupOp::Client(command) => self.serve(&command),
            GroupOp::Freeze { shard, num } => self.freeze(shard, num),
            GroupOp::Install { shard, num, data } => {
                // With the pieces sent ahead of it, if the shard came in pieces.
                let data = if self.staging.holds(shard) {
                    self.staging.take(shard, num, data)
                } else {
                    data
                };
                self.install(shard, num, data)
            }
            GroupOp::Delete { shard, num } => self.delete(shard, num),
            GroupOp::Stage { shard, num, piece } => match self.state(shard, num) {
                Ok(now) => match self.staging.stage(shard, num, piece, now) {
                    Staged::Kept => GroupReply::Staged { shard, num },
                    Staged::Stale => GroupReply::Stale { shard, num, now },
                    Staged::Refused => GroupReply::Refused { shard, num, now },
                },
                Err(refused) => refused,
            },
        }
    }

    /// The state of `shard`, or a refusal for a shard that does not exist (a peer's
    /// bytes are input like any other).
    fn state(&self, shard: ShardId, num: u64) -> Result<ShardState, GroupReply> {
        self.states.get(shard).copied().ok_or(GroupReply::Refused {
            shard,
            num,
            now: ShardState::Absent { num: 0 },
        })
    }

    // ANCHOR: serve
    /// Runs a client's command if this group serves the key's shard now.
    fn serve(&mut self, command: &KvCommand) -> GroupReply {
        // EXERCISE 7.3: answer only for a shard this group serves; any other gets wrong_group
        // HINT: A frozen shard still has its data here, but its next owner may already be taking writes: it serves nobody.
        let shard = shard_of(command.key(), self.states.len());
        match self.states[shard] {
            ShardState::Serving { .. } => {
                GroupReply::Answer(self.data.entry(shard).or_default().apply(command))
            }
            ShardState::Frozen { .. } | ShardState::Absent { .. } => {
                GroupReply::WrongGroup { shard }
            }
        }
        // END EXERCISE 7.3
    }
    // ANCHOR_END: serve

    // ANCHOR: fencing
    /// Freezes `shard` for configuration `num` and hands over its data.
    fn freeze(&mut self, shard: ShardId, num: u64) -> GroupReply {
        let now = match self.state(shard, num) {
            Ok(now) => now,
            Err(refused) => return refused,
        };
        // EXERCISE 7.4: fence freeze, install and delete by configuration number
        // HINT: Configuration numbers only go forward. Set the shard state's number beside the step's `num`: state lower, the step is new and may act; equal, it may be a repeat (answer again, change nothing); state higher, the step is stale.
        match now {
            ShardState::Serving { num: since } if since < num => {
                self.states[shard] = ShardState::Frozen { num };
                self.frozen(shard, num)
            }
            ShardState::Frozen { num: since } if since == num => self.frozen(shard, num),
            _ if now.num() >= num => GroupReply::Stale { shard, num, now },
            _ => GroupReply::Refused { shard, num, now },
        }
        // END EXERCISE 7.4
    }

    fn frozen(&self, shard: ShardId, num: u64) -> GroupReply {
        GroupReply::Frozen {
            shard,
            num,
            data: self.data.get(&shard).cloned().unwrap_or_default(),
        }
    }

    /// Starts serving `shard` from `data`, for configuration `num`.
    fn install(&mut self, shard: ShardId, num: u64, data: ShardData) -> GroupReply {
        let now = match self.state(shard, num) {
            Ok(now) => now,
            Err(refused) => return refused,
        };
        // EXERCISE 7.4: install a shard absent since an older configuration; a repeated install keeps what the shard holds now
        // HINT: By the time a repeat arrives the shard may have taken writes: installing the old data again would lose them.
        match now {
            ShardState::Absent { num: since } if since < num => {
                self.states[shard] = ShardState::Serving { num };
                self.data.insert(shard, data);
                GroupReply::Installed { shard, num }
            }
            ShardState::Serving { num: since } if since == num => {
                GroupReply::Installed { shard, num }
            }
            _ if now.num() >= num => GroupReply::Stale { shard, num, now },
            _ => GroupReply::Refused { shard, num, now },
        }
        // END EXERCISE 7.4
    }

    /// Drops `shard`'s data, frozen for configuration `num`.
    fn delete(&mut self, shard: ShardId, num: u64) -> GroupReply {
        let now = match self.state(shard, num) {
            Ok(now) => now,
            Err(refused) => return refused,
        };
        // EXERCISE 7.4: delete only a shard frozen for this configuration; a repeat finds it absent
        // HINT: Never delete a shard the group serves, whatever the message says.
        match now {
            ShardState::Frozen { num: since } if since == num => {
                self.states[shard] = ShardState::Absent { num };
                self.data.remove(&shard);
                GroupReply::Deleted { shard, num }
            }
            ShardState::Absent { num: since } if since >= num => GroupReply::Deleted { shard, num },
            _ if now.num() >= num => GroupReply::Stale { shard, num, now },
            _ => GroupReply::Refused { shard, num, now },
        }
        // END EXERCISE 7.4
    }
    // ANCHOR_END: fencing
}
