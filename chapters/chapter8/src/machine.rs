//! The machine a coordinator replica applies its committed entries to: the
//! [`Coordinator`], and the index of the last entry applied.

use serde::{Deserialize, Serialize};

use crate::command::Command;
use crate::coordinator::{Assignment, AttemptId, Coordinator, Event, Spec, Verdict};
use crate::protocol::Entry;

/// What applying one entry produced: the answer for the worker that sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Applied {
    /// Nothing to answer (a no-op, a heartbeat, a tick, a takeover).
    Nothing,
    Assignment(Assignment),
    Verdict(Verdict),
    Job(JobState),
}

/// What a job has done so far, as `GET /job` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobState {
    pub spec: Spec,
    pub maps_done: usize,
    pub reduces_done: usize,
    pub done: bool,
    /// For each reduce task, the attempt whose output file is the task's, once committed.
    pub outputs: Vec<Option<AttemptId>>,
    /// The job's timeline so far.
    pub events: Vec<Event>,
}

impl JobState {
    pub fn of(coordinator: &Coordinator) -> JobState {
        let spec = coordinator.spec();
        JobState {
            spec,
            maps_done: coordinator.maps_done(),
            reduces_done: coordinator.reduces_done(),
            done: coordinator.is_done(),
            outputs: (0..spec.reduces)
                .map(|r| {
                    coordinator
                        .task(crate::coordinator::TaskId::reduce(r))
                        .and_then(|t| t.done.as_ref())
                        .map(|d| d.attempt)
                })
                .collect(),
            events: coordinator.events().to_vec(),
        }
    }
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
            Command::Query => Applied::Job(JobState::of(c)),
        }
    }

    /// How many tasks are done (what `/status` shows as `keys`).
    pub fn len(&self) -> usize {
        self.coordinator.maps_done() + self.coordinator.reduces_done()
    }

    /// Whether no task is done.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

/// The machine a node of the shell starts with when none is given: a job of one map
/// and one reduce. A coordinator's replicas are always given theirs.
impl Default for Machine {
    fn default() -> Machine {
        Machine::new(Spec {
            maps: 1,
            reduces: 1,
            worker_timeout: 3_000,
            backups: true,
        })
    }
}
