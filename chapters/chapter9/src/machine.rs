//! The machine a group's replica applies its committed entries to: the group's
//! [`Broker`], and the index of the last entry applied.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::broker::{Broker, BrokerError, Spec};
use crate::command::Command;
use crate::group::Membership;
use crate::log::{Appended, Offset, Read, Retention};
use crate::protocol::Entry;

/// What applying one entry produced: the answer for the client that sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Applied {
    /// Nothing to answer (a no-op, a tick).
    Nothing,
    Appended(Appended),
    Read(Read),
    Expected(u64),
    Membership(Membership),
    Left(bool),
    Committed,
    Offsets(BTreeMap<u32, Offset>),
    /// The call was refused; nothing changed.
    Refused(BrokerError),
}

impl<T: Into<Applied>> From<Result<T, BrokerError>> for Applied {
    fn from(result: Result<T, BrokerError>) -> Applied {
        result.map_or_else(Applied::Refused, Into::into)
    }
}

impl From<Appended> for Applied {
    fn from(a: Appended) -> Applied {
        Applied::Appended(a)
    }
}
impl From<Read> for Applied {
    fn from(r: Read) -> Applied {
        Applied::Read(r)
    }
}
impl From<Membership> for Applied {
    fn from(m: Membership) -> Applied {
        Applied::Membership(m)
    }
}

/// A group's broker and the index of the last entry applied to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    applied: u64,
    broker: Broker,
}

impl Machine {
    /// Group `group` of a cluster of shape `spec`, having applied nothing.
    pub fn new(spec: Spec, group: u32) -> Machine {
        Machine {
            applied: 0,
            broker: Broker::new(spec, group),
        }
    }

    /// The index of the last entry applied.
    pub fn applied_index(&self) -> u64 {
        self.applied
    }

    pub fn broker(&self) -> &Broker {
        &self.broker
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
        let b = &mut self.broker;
        match &entry.command {
            Command::Noop => Applied::Nothing,
            Command::Produce {
                partition,
                batch,
                now,
            } => b.produce(partition, batch, *now).into(),
            Command::Read {
                partition,
                from,
                max,
            } => b.read(partition, *from, *max).into(),
            Command::Expected {
                partition,
                producer,
            } => b
                .expected(partition, producer)
                .map_or_else(Applied::Refused, Applied::Expected),
            Command::Join {
                group,
                topic,
                member,
                now,
            } => b.join(group, topic, member, *now).into(),
            Command::Heartbeat { group, member, now } => b.heartbeat(group, member, *now).into(),
            Command::Leave { group, member } => b
                .leave(group, member)
                .map_or_else(Applied::Refused, Applied::Left),
            Command::Commit {
                group,
                member,
                generation,
                offsets,
            } => b
                .commit(
                    group,
                    member,
                    *generation,
                    &offsets.iter().copied().collect(),
                )
                .map_or_else(Applied::Refused, |()| Applied::Committed),
            Command::Committed { group } => b
                .committed(group)
                .map_or_else(Applied::Refused, Applied::Offsets),
            Command::Tick { now } => {
                b.tick(*now);
                Applied::Nothing
            }
        }
    }

    /// How many records the group's partitions hold (what `/status` shows as `keys`).
    pub fn len(&self) -> usize {
        self.broker.partitions().map(|p| p.records.len()).sum()
    }

    /// Whether the group's partitions hold no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The snapshot's data: the whole machine as JSON.
    pub fn snapshot(&self) -> String {
        serde_json::to_string(self).expect("a machine always serializes")
    }

    /// The machine a snapshot at `index` holds, or why the data is not one: it must be as
    /// of `index`, and of the same group of a cluster of the same shape. A peer's
    /// snapshot is input like any other.
    pub fn restore(&self, data: &str, index: u64) -> Result<Machine, String> {
        let machine: Machine =
            serde_json::from_str(data).map_err(|e| format!("not a group's snapshot: {e}"))?;
        if machine.applied != index {
            return Err(format!(
                "the snapshot says index {index} but its machine has applied {}",
                machine.applied
            ));
        }
        if machine.broker.spec() != self.broker.spec()
            || machine.broker.group() != self.broker.group()
        {
            return Err(format!(
                "a snapshot of group {} cannot replace group {} (or the clusters' shapes differ)",
                machine.broker.group(),
                self.broker.group()
            ));
        }
        Ok(machine)
    }
}

/// The machine a node of the shell starts with when none is given: group 0 of a
/// cluster of one group with one topic `events` of one partition. A cluster's nodes are
/// always given theirs.
impl Default for Machine {
    fn default() -> Machine {
        Machine::new(
            Spec {
                groups: 1,
                topics: vec![crate::broker::Topic {
                    name: "events".to_string(),
                    partitions: 1,
                    retention: Retention::default(),
                }],
                session_timeout: 3_000,
            },
            0,
        )
    }
}
