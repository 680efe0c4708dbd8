//! Calling a cluster over HTTP: a [`Command`] sent to its group's leader, on the route
//! that serves it, and the answer as the [`Applied`] the log produced.
//!
//! The same commands drive the simulator's replicas and the real ones, so a client
//! written once as a machine (what to send next, what to do with the answer) runs in
//! both. Every call is safe to send again (a producer numbers its batches; the other
//! calls are reads, or fenced by generation, or idempotent), so a call that finds no
//! leader waits a little and tries the group's replicas again, until its deadline.

use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::broker::BrokerError;
use crate::call::{Answered, to_leader};
use crate::clients::Semantics;
use crate::command::Command;
use crate::group::GroupError;
use crate::log::{Offset, PartitionId};
use crate::machine::Applied;
use crate::server::{
    CommitCall, ExpectedCall, GroupCall, JoinCall, MemberCall, ProduceCall, ReadCall,
};

/// A cluster's groups, each a list of its replicas' URLs.
#[derive(Debug)]
pub struct ClusterClient {
    http: reqwest::Client,
    groups: Vec<Vec<String>>,
    hints: Vec<AtomicUsize>,
    /// How long one call keeps trying.
    pub deadline: Duration,
}

#[derive(Deserialize)]
struct ExpectedAnswer {
    expected: u64,
}

#[derive(Deserialize)]
struct LeftAnswer {
    left: bool,
}

#[derive(Deserialize)]
struct OffsetsAnswer {
    offsets: std::collections::BTreeMap<u32, Offset>,
}

impl ClusterClient {
    pub fn new(http: reqwest::Client, groups: Vec<Vec<String>>) -> ClusterClient {
        ClusterClient {
            hints: groups.iter().map(|_| AtomicUsize::new(0)).collect(),
            http,
            groups,
            deadline: Duration::from_secs(10),
        }
    }

    /// Sends `command` to group `group` until its leader answers (or the deadline).
    pub async fn call(&self, group: usize, command: Command) -> Result<Applied, String> {
        let servers = self
            .groups
            .get(group)
            .ok_or_else(|| format!("no group {group}"))?;
        let hint = &self.hints[group];
        let started = Instant::now();
        loop {
            let answer = match &command {
                Command::Produce {
                    partition, batch, ..
                } => {
                    let body = ProduceCall {
                        partition: partition.clone(),
                        batch: batch.clone(),
                    };
                    self.post(servers, hint, "produce", &body)
                        .await
                        .map(Applied::Appended)
                }
                Command::Read {
                    partition,
                    from,
                    max,
                } => {
                    let body = ReadCall {
                        partition: partition.clone(),
                        from: *from,
                        max: Some(*max),
                    };
                    self.post(servers, hint, "read", &body)
                        .await
                        .map(Applied::Read)
                }
                Command::Expected {
                    partition,
                    producer,
                } => {
                    let body = ExpectedCall {
                        partition: partition.clone(),
                        producer: producer.clone(),
                    };
                    self.post(servers, hint, "expected", &body)
                        .await
                        .map(|a: ExpectedAnswer| Applied::Expected(a.expected))
                }
                Command::Join {
                    group,
                    topic,
                    member,
                    ..
                } => {
                    let body = JoinCall {
                        group: group.clone(),
                        topic: topic.clone(),
                        member: member.clone(),
                    };
                    self.post(servers, hint, "join", &body)
                        .await
                        .map(Applied::Membership)
                }
                Command::Heartbeat { group, member, .. } => {
                    let body = MemberCall {
                        group: group.clone(),
                        member: member.clone(),
                    };
                    self.post(servers, hint, "heartbeat", &body)
                        .await
                        .map(Applied::Membership)
                }
                Command::Leave { group, member } => {
                    let body = MemberCall {
                        group: group.clone(),
                        member: member.clone(),
                    };
                    self.post(servers, hint, "leave", &body)
                        .await
                        .map(|a: LeftAnswer| Applied::Left(a.left))
                }
                Command::Commit {
                    group,
                    member,
                    generation,
                    offsets,
                } => {
                    let body = CommitCall {
                        group: group.clone(),
                        member: member.clone(),
                        generation: *generation,
                        offsets: offsets.iter().copied().collect(),
                    };
                    self.post(servers, hint, "commit", &body)
                        .await
                        .map(|_: serde_json::Value| Applied::Committed)
                }
                Command::Committed { group } => {
                    let body = GroupCall {
                        group: group.clone(),
                    };
                    self.post(servers, hint, "committed", &body)
                        .await
                        .map(|a: OffsetsAnswer| Applied::Offsets(a.offsets))
                }
                Command::Noop | Command::Tick { .. } => {
                    return Err(format!("{command:?} is not a client's call"));
                }
            };
            match answer {
                Ok(applied) => return Ok(applied),
                Err(Failed::Refused(refused)) => return Ok(Applied::Refused(refused)),
                Err(Failed::Error(why)) => return Err(format!("{command:?}: {why}")),
                Err(Failed::NoLeader(_)) if started.elapsed() < self.deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(Failed::NoLeader(why)) => {
                    return Err(format!(
                        "group {group} had no leader to answer {command:?} for {:?}: {why}",
                        self.deadline
                    ));
                }
            }
        }
    }

    /// Where a consumer group stands in each partition: its committed offsets, or for a
    /// pipeline the input position its output records.
    pub async fn position(&self, semantics: Semantics, group: &str) -> Result<Vec<u64>, String> {
        let mut at = Vec::new();
        if semantics == Semantics::ExactlyOnce {
            for p in 0..crate::clients::PARTITIONS {
                let input = PartitionId::new(crate::clients::INPUT, p);
                let command = Command::Expected {
                    partition: PartitionId::new(crate::clients::OUTPUT, p),
                    producer: crate::pipeline_producer(group, &input),
                };
                match self
                    .call(crate::group_of(p, crate::clients::GROUPS) as usize, command)
                    .await?
                {
                    Applied::Expected(n) => at.push(n),
                    other => return Err(format!("expected answered {other:?}")),
                }
            }
            return Ok(at);
        }
        let coordinator = crate::coordinator_of(group, crate::clients::GROUPS) as usize;
        let command = Command::Committed {
            group: group.to_string(),
        };
        match self.call(coordinator, command).await? {
            Applied::Offsets(o) => Ok((0..crate::clients::PARTITIONS)
                .map(|p| o.get(&p).copied().unwrap_or(0))
                .collect()),
            other => Err(format!("committed answered {other:?}")),
        }
    }

    /// One pass over the group's replicas.
    async fn post<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        servers: &[String],
        hint: &AtomicUsize,
        route: &str,
        body: &B,
    ) -> Result<T, Failed> {
        let answered = to_leader(servers, hint, |url| {
            self.http.post(format!("{url}/{route}")).json(body)
        })
        .await;
        match answered {
            Answered::Ok(answer) => Ok(answer),
            Answered::Error(status, body) => Err(refusal(&body.error, &body.message).map_or_else(
                || Failed::Error(format!("{status} {}: {}", body.error, body.message)),
                Failed::Refused,
            )),
            Answered::NoLeader(why) => Err(Failed::NoLeader(why)),
        }
    }
}

/// Why one pass over a group's replicas has no answer.
enum Failed {
    /// The group refused the call (its machine said why).
    Refused(BrokerError),
    /// Any other error: the call itself is wrong.
    Error(String),
    /// No replica answered as the leader (the last one's reason): try again.
    NoLeader(String),
}

/// A route's refusal, as the machine's error (for a client that acts on its kind);
/// `None` for an error that is not a refusal of the machine.
fn refusal(code: &str, message: &str) -> Option<BrokerError> {
    let unknown = PartitionId::new("?", 0);
    Some(match code {
        "unknown_member" => BrokerError::Group(GroupError::UnknownMember {
            member: message.to_string(),
        }),
        "stale_generation" => BrokerError::Group(GroupError::StaleGeneration {
            sent: 0,
            current: 0,
        }),
        "not_assigned" => BrokerError::Group(GroupError::NotAssigned {
            member: message.to_string(),
            partition: 0,
            generation: 0,
        }),
        "unknown_partition" => BrokerError::UnknownPartition { partition: unknown },
        "unknown_group" => BrokerError::UnknownGroup {
            group: message.to_string(),
        },
        "unknown_topic" => BrokerError::UnknownTopic {
            topic: message.to_string(),
        },
        "wrong_group" => BrokerError::NotHere {
            partition: unknown,
            holder: 0,
        },
        _ => return None,
    })
}
