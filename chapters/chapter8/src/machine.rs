//! The machine a coordinator replica applies its committed entries to: the
//! [`Coordinator`], and the index of the last entry applied.

use serde::{Deserialize, Serialize};

use crate::command::Command;
use crate::coordinator::{Assignment, Coordinator, Spec, Verdict};
use crate::protocol::Entry;

/// What applying one entry produced: the answer for the worker that sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Applied {
    /// Nothing to answer (a no-op, a heartbeat, a tick, a takeover).
    Nothing,
    Assignment(Assignment),
    Verdict(Verdict),
}

/// A coordinator and the index of the last entry applied to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    applied: u64,
    coordinator: Coordinator,
}

impl Machine {
    /// A machine that has applied nothing, for a job of shape `spec`.
    pub fn new(spec: Spec) -> Machine {
        Machine {
            applied: 0,
            coordinator: Coordinator::new(spec),
        }
    }

    /// The index of the last entry applied.
    pub fn applied_index(&self) -> u64 {
        self.applied
    }

    pub fn coordinator(&self) -> &Coordinator {
        &self.coordinator
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
        let c = &mut self.coordinator;
        match &entry.command {
            Command::Noop => Applied::Nothing,
            Command::Request { worker, now } => Applied::Assignment(c.request(worker, *now)),
            Command::Heartbeat { worker, now } => {
                c.heartbeat(worker, *now);
                Applied::Nothing
            }
            Command::Report {
                worker,
                now,
                report,
            } => Applied::Verdict(c.report(worker, *now, report)),
            Command::Tick { now } => {
                c.tick(*now);
                Applied::Nothing
            }
            Command::TookOver { now } => {
                c.took_over(*now);
                Applied::Nothing
            }
        }
    }

    /// The snapshot's data: the whole machine as JSON.
    pub fn snapshot(&self) -> String {
        serde_json::to_string(self).expect("a machine always serializes")
    }

    /// The machine a snapshot at `index` holds, or why the data is not one: it must be as
    /// of `index`, and of a job of the same shape. A peer's snapshot is input like any
    /// other.
    pub fn restore(&self, data: &str, index: u64) -> Result<Machine, String> {
        let machine: Machine =
            serde_json::from_str(data).map_err(|e| format!("not a coordinator's snapshot: {e}"))?;
        if machine.applied != index {
            return Err(format!(
                "the snapshot says index {index} but its machine has applied {}",
                machine.applied
            ));
        }
        if machine.coordinator.spec() != self.coordinator.spec() {
            return Err(format!(
                "a snapshot of a job of shape {:?} cannot replace one of {:?}",
                machine.coordinator.spec(),
                self.coordinator.spec()
            ));
        }
        Ok(machine)
    }
}
