//! The machine a replica applies its committed entries to: a group's shards, or the
//! configuration service. Both are replicated the same way (chapter 6's group, with
//! snapshots); only what they apply differs.

use serde::{Deserialize, Serialize};

use crate::command::Command;
use crate::group::{Group, GroupReply};
use crate::protocol::Entry;
use crate::service::{Service, ServiceReply};

/// How many shards the running system has unless told otherwise (6.5840 uses 10).
pub const DEFAULT_SHARDS: usize = 12;

/// What applying one entry produced: the answer for whoever proposed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Applied {
    /// A no-op, or an operation for the other kind of machine (refused: nothing changed).
    Nothing,
    Group(GroupReply),
    Service(ServiceReply),
}

/// The state behind one replicated log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Group(Group),
    Service(Service),
}

/// A machine and the index of the last entry applied to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    applied: u64,
    kind: Kind,
}

impl Machine {
    /// A machine that has applied nothing.
    pub fn new(kind: Kind) -> Machine {
        Machine { applied: 0, kind }
    }

    /// The index of the last entry applied.
    pub fn applied_index(&self) -> u64 {
        self.applied
    }

    /// The state it holds.
    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    /// Applies the next committed entry.
    ///
    /// # Panics
    /// If `entry` is not the one after the last applied: applying out of order would make
    /// replicas differ, which no caller may do.
    pub fn apply(&mut self, entry: &Entry) -> Applied {
        assert_eq!(
            entry.index,
            self.applied + 1,
            "entries are applied in order, one at a time"
        );
        self.applied = entry.index;
        match (&mut self.kind, &entry.command) {
            (Kind::Group(group), Command::Group { op }) => Applied::Group(group.apply(op.clone())),
            (Kind::Service(service), Command::Service { op }) => {
                Applied::Service(service.apply(op))
            }
            _ => Applied::Nothing,
        }
    }

    /// The snapshot's data: the whole machine as JSON.
    pub fn snapshot(&self) -> String {
        serde_json::to_string(self).expect("a machine always serializes")
    }

    /// The machine a snapshot at `index` holds, to take this one's place, or why the data
    /// is not one: it must be as of `index`, and of this machine's kind (the service's, or
    /// the same group's, with as many shards). A peer's snapshot is input like any other:
    /// group 2's state installed in group 1 would serve shards group 1 never received.
    pub fn restore(&self, data: &str, index: u64) -> Result<Machine, String> {
        let machine: Machine =
            serde_json::from_str(data).map_err(|e| format!("not a machine's snapshot: {e}"))?;
        if machine.applied != index {
            return Err(format!(
                "the snapshot says index {index} but its machine has applied {}",
                machine.applied
            ));
        }
        let (ours, theirs) = (self.describe(), machine.describe());
        if ours != theirs {
            return Err(format!("a snapshot of {theirs} cannot replace {ours}"));
        }
        Ok(machine)
    }

    /// What kind of machine it is, for errors: the service's or a group's, and how many
    /// shards.
    fn describe(&self) -> String {
        match &self.kind {
            Kind::Group(group) => format!(
                "group {}'s machine over {} shards",
                group.id(),
                group.states().len()
            ),
            Kind::Service(service) => format!(
                "the configuration service's machine over {} shards",
                service.latest().shards.len()
            ),
        }
    }

    /// How many keys it holds (a group: over all its shards, frozen ones included; the
    /// service holds none). What `/status` shows as `keys`.
    pub fn len(&self) -> usize {
        match &self.kind {
            Kind::Group(group) => group.data().values().map(|shard| shard.kv.len()).sum(),
            Kind::Service(_) => 0,
        }
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The machine a node of the shell starts with when none is given: the configuration
/// service's, over [`DEFAULT_SHARDS`] shards. Group nodes are given theirs.
impl Default for Machine {
    fn default() -> Machine {
        Machine::new(Kind::Service(Service::new(DEFAULT_SHARDS)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Command;
    use crate::group::GroupOp;
    use crate::shard::{KvCommand, ShardData};

    /// A group's machine holding a shard comes back from its snapshot (JSON, with shard
    /// numbers as map keys) whole, and only in its own group's place.
    #[test]
    fn chapter_a_snapshot_restores_its_own_kind_only() {
        let mut group = Machine::new(Kind::Group(Group::new(1, 4)));
        let mut data = ShardData::default();
        data.apply(&KvCommand::Put {
            key: "k".into(),
            value: "v".into(),
            if_version: None,
            request: None,
        });
        let install = GroupOp::Install {
            shard: 2,
            num: 1,
            data,
        };
        let entry = Entry {
            index: 1,
            term: 1,
            command: Command::Group { op: install },
        };
        group.apply(&entry);
        assert_eq!(group.len(), 1);
        let snapshot = group.snapshot();
        let blank = Machine::new(Kind::Group(Group::new(1, 4)));
        assert_eq!(blank.restore(&snapshot, 1), Ok(group.clone()));
        assert!(blank.restore(&snapshot, 2).is_err(), "another index");
        let other = Machine::new(Kind::Group(Group::new(2, 4)));
        assert!(other.restore(&snapshot, 1).is_err(), "another group");
        let service = Machine::default();
        assert!(service.restore(&snapshot, 1).is_err(), "another kind");
    }
}
