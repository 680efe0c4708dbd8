//! The machine one group of replicas applies its log to: the partitions placed on the
//! group, and the consumer groups it coordinates.
//!
//! A cluster is `groups` groups of replicas (chapter 6's, carried). Partition `i` of every
//! topic lives on group [`group_of`]`(i)`; consumer group `g` is coordinated (members,
//! generations, committed offsets) by group [`coordinator_of`]`(g)`, as Kafka places a
//! group's offsets by the hash of its name. Every call is one entry of the group's log
//! and carries the leader's time, so every replica reaches the same state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::group::{ConsumerGroup, Generation, GroupError, MemberId, Membership};
use crate::log::{Appended, Batch, Millis, Offset, Partition, PartitionId, Read, Retention};
use crate::partitioning::{group_of, partition_for};

/// A topic: its name, its partitions, how long it keeps records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    pub name: String,
    pub partitions: u32,
    pub retention: Retention,
}

/// A cluster's shape: its groups, its topics, its consumers' session timeout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spec {
    pub groups: u32,
    pub topics: Vec<Topic>,
    pub session_timeout: Millis,
}

impl Spec {
    pub fn topic(&self, name: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.name == name)
    }

    /// Every partition of every topic, with the group that holds it.
    pub fn placement(&self) -> Vec<(PartitionId, u32)> {
        self.topics
            .iter()
            .flat_map(|t| {
                (0..t.partitions).map(|i| (PartitionId::new(&t.name, i), group_of(i, self.groups)))
            })
            .collect()
    }
}

/// The group that coordinates consumer group `group`: its name's partition among the
/// groups.
pub fn coordinator_of(group: &str, groups: u32) -> u32 {
    partition_for(group, groups)
}

/// Why a group's machine refused a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]

pub enum BrokerError {
    #[error("no partition {partition} in this cluster")]
    UnknownPartition { partition: PartitionId },
    #[error("partition {partition} is on group {holder}, not on this one")]
    NotHere { partition: PartitionId, holder: u32 },
    #[error("consumer group {group} is coordinated by group {coordinator}, not this one")]
    NotCoordinator { group: String, coordinator: u32 },
    #[error("no consumer group {group}: join it first")]
    UnknownGroup { group: String },
    #[error("no topic {topic} in this cluster")]
    UnknownTopic { topic: String },
    #[error("consumer group {group} reads topic {topic}")]
    OtherTopic { group: String, topic: String },
    #[error("{0}")]
    Group(#[from] GroupError),
}

/// One group's state: its partitions and the consumer groups it coordinates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Broker {
    spec: Spec,
    group: u32,
    /// By name (`in/2`): JSON's keys are strings.
    partitions: BTreeMap<String, Partition>,
    consumers: BTreeMap<String, ConsumerGroup>,
}

impl Broker {
    /// Group `group` of a cluster of shape `spec`, with its partitions empty.
    pub fn new(spec: Spec, group: u32) -> Broker {
        let partitions = spec
            .placement()
            .into_iter()
            .filter(|(_, g)| *g == group)
            .map(|(id, _)| (id.to_string(), Partition::new(id)))
            .collect();
        Broker {
            spec,
            group,
            partitions,
            consumers: BTreeMap::new(),
        }
    }

    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// Which group of the cluster this is.
    pub fn group(&self) -> u32 {
        self.group
    }

    pub fn partitions(&self) -> impl Iterator<Item = &Partition> {
        self.partitions.values()
    }

    pub fn consumer_groups(&self) -> impl Iterator<Item = &ConsumerGroup> {
        self.consumers.values()
    }

    /// Partition `id`, if this group holds it.
    pub fn partition(&self, id: &PartitionId) -> Result<&Partition, BrokerError> {
        if let Some(p) = self.partitions.get(&id.to_string()) {
            return Ok(p);
        }
        match self.spec.topic(&id.topic) {
            Some(t) if id.index < t.partitions => Err(BrokerError::NotHere {
                partition: id.clone(),
                holder: group_of(id.index, self.spec.groups),
            }),
            _ => Err(BrokerError::UnknownPartition {
                partition: id.clone(),
            }),
        }
    }

    fn partition_mut(&mut self, id: &PartitionId) -> Result<&mut Partition, BrokerError> {
        self.partition(id)?;
        Ok(self
            .partitions
            .get_mut(&id.to_string())
            .expect("checked above"))
    }

    /// Appends a producer's batch to a partition of this group (exercise 9.2's rules).
    pub fn produce(
        &mut self,
        partition: &PartitionId,
        batch: &Batch,
        now: Millis,
    ) -> Result<Appended, BrokerError> {
        Ok(self.partition_mut(partition)?.append(batch, now))
    }

    /// At most `max` records of a partition from `from`.
    pub fn read(
        &self,
        partition: &PartitionId,
        from: Offset,
        max: usize,
    ) -> Result<Read, BrokerError> {
        Ok(self.partition(partition)?.read(from, max))
    }

    /// The next number a partition expects of `producer` (for a pipeline, the input
    /// offset it resumes from).
    pub fn expected(&self, partition: &PartitionId, producer: &str) -> Result<u64, BrokerError> {
        Ok(self.partition(partition)?.expected(producer))
    }

    fn coordinating(&self, group: &str) -> Result<(), BrokerError> {
        let coordinator = coordinator_of(group, self.spec.groups);
        if coordinator != self.group {
            return Err(BrokerError::NotCoordinator {
                group: group.to_string(),
                coordinator,
            });
        }
        Ok(())
    }

    fn consumer_group(&mut self, group: &str) -> Result<&mut ConsumerGroup, BrokerError> {
        self.coordinating(group)?;
        self.consumers
            .get_mut(group)
            .ok_or_else(|| BrokerError::UnknownGroup {
                group: group.to_string(),
            })
    }

    /// `member` joins consumer group `group` (made on its first join) to read `topic`.
    pub fn join(
        &mut self,
        group: &str,
        topic: &str,
        member: &str,
        now: Millis,
    ) -> Result<Membership, BrokerError> {
        self.coordinating(group)?;
        let Some(t) = self.spec.topic(topic) else {
            return Err(BrokerError::UnknownTopic {
                topic: topic.to_string(),
            });
        };
        let (partitions, timeout) = (t.partitions, self.spec.session_timeout);
        let cg = self
            .consumers
            .entry(group.to_string())
            .or_insert_with(|| ConsumerGroup::new(group, topic, partitions, timeout));
        if cg.topic != topic {
            return Err(BrokerError::OtherTopic {
                group: group.to_string(),
                topic: cg.topic.clone(),
            });
        }
        Ok(cg.join(member, now))
    }

    pub fn heartbeat(
        &mut self,
        group: &str,
        member: &str,
        now: Millis,
    ) -> Result<Membership, BrokerError> {
        Ok(self.consumer_group(group)?.heartbeat(member, now)?)
    }

    pub fn leave(&mut self, group: &str, member: &str) -> Result<bool, BrokerError> {
        Ok(self.consumer_group(group)?.leave(member))
    }

    pub fn commit(
        &mut self,
        group: &str,
        member: &str,
        generation: Generation,
        offsets: &BTreeMap<u32, Offset>,
    ) -> Result<(), BrokerError> {
        Ok(self
            .consumer_group(group)?
            .commit(member, generation, offsets)?)
    }

    /// A consumer group's committed offsets (none for a group never joined).
    pub fn committed(&self, group: &str) -> Result<BTreeMap<u32, Offset>, BrokerError> {
        self.coordinating(group)?;
        Ok(self
            .consumers
            .get(group)
            .map(|g| g.committed.clone())
            .unwrap_or_default())
    }

    /// Time passed: members not heard from in time leave their groups, and partitions
    /// forget what their topic's retention says to (compaction first, over the whole
    /// log, then retention). Returns the members that timed out.
    pub fn tick(&mut self, now: Millis) -> Vec<(String, MemberId)> {
        let mut gone = Vec::new();
        for (name, group) in &mut self.consumers {
            for member in group.expire(now) {
                gone.push((name.clone(), member));
            }
        }
        for partition in self.partitions.values_mut() {
            let Some(topic) = self.spec.topic(&partition.id.topic) else {
                continue;
            };
            if topic.retention.compact {
                partition.compact(partition.next);
            }
            if topic.retention.max_records.is_some() || topic.retention.max_age.is_some() {
                partition.retain(&topic.retention, now);
            }
        }
        gone
    }
}
