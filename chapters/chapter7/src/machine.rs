//! The machine a replica applies its committed entries to: a group's shards, or the
//! configuration service. Both are replicated the same way (chapter 6's group, with
//! snapshots); only what they apply differs.

use serde::{Deserialize, Serialize};

use crate::command::Command;
use crate::group::{Group, GroupReply};
use crate::protocol::Entry;
use crate::service::{Service, ServiceReply};

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

    /// The machine a snapshot at `index` holds, or why the data is not one.
    pub fn restore(data: &str, index: u64) -> Result<Machine, String> {
        let machine: Machine =
            serde_json::from_str(data).map_err(|e| format!("not a machine's snapshot: {e}"))?;
        if machine.applied != index {
            return Err(format!(
                "the snapshot says index {index} but its machine has applied {}",
                machine.applied
            ));
        }
        Ok(machine)
    }
}
