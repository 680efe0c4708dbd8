//! Gossip Glomers' Kafka-style log (Fly.io's challenge 5), served by this chapter's
//! cluster, so its workload can be replayed against it.
//!
//! The challenge's messages, as JSON bodies of `POST /` (a `msg_id` is answered as
//! `in_reply_to`):
//!
//! ```text
//! {"type": "send", "key": "k1", "msg": 123}           {"type": "send_ok", "offset": 7}
//! {"type": "poll", "offsets": {"k1": 7}}              {"type": "poll_ok", "msgs": {"k1": [[7, 123], ...]}}
//! {"type": "commit_offsets", "offsets": {"k1": 7}}    {"type": "commit_offsets_ok"}
//! {"type": "list_committed_offsets", "keys": ["k1"]}  {"type": "list_committed_offsets_ok", "offsets": {"k1": 7}}
//! ```
//!
//! In the challenge every key is a log of its own. Here a key's messages go to its
//! partition of topic [`LOG`] (exercise 9.1), numbered by this gateway as an idempotent
//! producer (9.2), so a key's offsets grow (they are its partition's, with other keys'
//! between them, which the challenge allows). Committed offsets are records of a
//! compacted topic of their own, [`OFFSETS`], keyed by the challenge's key: the last one
//! is the committed offset, and compaction (9.6) keeps one per key, as Kafka keeps its
//! consumers' offsets.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use axum::{Json, Router};
use plumbing::json_body::Shape;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::client::ClusterClient;
use crate::command::Command;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::log::{Appended, Batch, PartitionId, Retention, Sequence};
use crate::machine::Applied;
use crate::{Spec, Topic, group_of, partition_for};

/// The topic the challenge's messages go to, and the one its committed offsets go to.
pub const LOG: &str = "gg";
pub const OFFSETS: &str = "gg-offsets";
/// Partitions of each, and groups of the cluster.
pub const PARTITIONS: u32 = 4;
pub const GROUPS: u32 = 2;
/// The most messages a poll returns per key.
pub const POLL_MAX: usize = 100;

/// The cluster the gateway needs: topics [`LOG`] and [`OFFSETS`] (compacted).
pub fn spec() -> Spec {
    Spec {
        groups: GROUPS,
        topics: vec![
            Topic {
                name: LOG.into(),
                partitions: PARTITIONS,
                retention: Retention::default(),
            },
            Topic {
                name: OFFSETS.into(),
                partitions: PARTITIONS,
                retention: Retention {
                    compact: true,
                    ..Retention::default()
                },
            },
        ],
        session_timeout: 3_000,
    }
}

/// A challenge message's body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Body {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offsets: Option<BTreeMap<String, u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msgs: Option<BTreeMap<String, Vec<(u64, serde_json::Value)>>>,
    /// An error's code and text (`"type": "error"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Body {
    fn reply(kind: &str, to: &Body) -> Body {
        Body {
            kind: kind.into(),
            msg_id: None,
            in_reply_to: to.msg_id,
            key: None,
            msg: None,
            offset: None,
            offsets: None,
            keys: None,
            msgs: None,
            code: None,
            text: None,
        }
    }

    /// Maelstrom's error body: code 10 is "not supported", 12 "malformed request", 13
    /// "crash" (indefinite), 11 "temporarily unavailable".
    fn error(to: &Body, code: u32, text: String) -> Body {
        Body {
            code: Some(code),
            text: Some(text),
            ..Body::reply("error", to)
        }
    }
}

/// The gateway: one idempotent producer, and the cluster's client.
#[derive(Debug)]
pub struct Gateway {
    client: ClusterClient,
    producer: String,
    /// Each partition's next number, behind its lock: one batch in flight per partition.
    next: BTreeMap<PartitionId, Mutex<u64>>,
}

impl Gateway {
    /// A gateway to a cluster of shape [`spec`] whose groups are at `groups`, producing
    /// as `producer` (a name no other producer uses).
    pub fn new(client: ClusterClient, producer: String) -> Gateway {
        let next = [LOG, OFFSETS]
            .iter()
            .flat_map(|t| (0..PARTITIONS).map(move |p| (PartitionId::new(t, p), Mutex::new(0))))
            .collect();
        Gateway {
            client,
            producer,
            next,
        }
    }

    /// The router: `POST /` with a challenge message (bounded, read strictly: anything
    /// else is chapter 6's JSON error, on a connection that stays open).
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/", post(handle))
            .layer(DefaultBodyLimit::max(crate::server::MAX_BODY_BYTES))
            .fallback(plumbing::api::no_route::<ApiError>)
            .method_not_allowed_fallback(plumbing::api::method_not_allowed::<ApiError>)
            .with_state(self)
            .layer(axum::middleware::from_fn(
                plumbing::keep_alive::drain_unread_body,
            ))
    }

    /// Answers one challenge message.
    pub async fn answer(&self, body: Body) -> Body {
        match self.dispatch(&body).await {
            Ok(reply) => reply,
            Err((code, text)) => Body::error(&body, code, text),
        }
    }

    async fn dispatch(&self, body: &Body) -> Result<Body, (u32, String)> {
        let malformed = |what: &str| (12, format!("a {} needs {what}", body.kind));
        match body.kind.as_str() {
            "send" => {
                let key = body.key.as_deref().ok_or_else(|| malformed("a key"))?;
                let msg = body.msg.as_ref().ok_or_else(|| malformed("a msg"))?;
                let offset = self.append(LOG, key, &msg.to_string()).await?;
                Ok(Body {
                    offset: Some(offset),
                    ..Body::reply("send_ok", body)
                })
            }
            "poll" => {
                let offsets = body.offsets.as_ref().ok_or_else(|| malformed("offsets"))?;
                let mut msgs = BTreeMap::new();
                for (key, &from) in offsets {
                    msgs.insert(key.clone(), self.poll(key, from).await?);
                }
                Ok(Body {
                    msgs: Some(msgs),
                    ..Body::reply("poll_ok", body)
                })
            }
            "commit_offsets" => {
                let offsets = body.offsets.as_ref().ok_or_else(|| malformed("offsets"))?;
                for (key, offset) in offsets {
                    self.append(OFFSETS, key, &offset.to_string()).await?;
                }
                Ok(Body::reply("commit_offsets_ok", body))
            }
            "list_committed_offsets" => {
                let keys = body.keys.as_ref().ok_or_else(|| malformed("keys"))?;
                let mut offsets = BTreeMap::new();
                for key in keys {
                    if let Some(offset) = self.committed(key).await? {
                        offsets.insert(key.clone(), offset);
                    }
                }
                Ok(Body {
                    offsets: Some(offsets),
                    ..Body::reply("list_committed_offsets_ok", body)
                })
            }
            other => Err((
                10,
                format!("{other:?} is not one of the challenge's messages"),
            )),
        }
    }

    /// Appends `key=value` to `key`'s partition of `topic`, once; its offset.
    async fn append(&self, topic: &str, key: &str, value: &str) -> Result<u64, (u32, String)> {
        let partition = PartitionId::new(topic, partition_for(key, PARTITIONS));
        let mut next = self.next[&partition].lock().await;
        loop {
            let batch = Batch {
                sequence: Some(Sequence {
                    producer: self.producer.clone(),
                    first: *next,
                    end: *next + 1,
                }),
                records: vec![(key.to_string(), value.to_string())],
            };
            let command = Command::Produce {
                partition: partition.clone(),
                batch,
                now: 0,
            };
            match self.call(&partition, command).await? {
                Applied::Appended(Appended::Appended { base, .. })
                | Applied::Appended(Appended::Duplicate { base, .. }) => {
                    *next += 1;
                    return Ok(base);
                }
                // The partition expects another number (a batch whose answer was lost
                // was appended, then the retry found it stale): take it and send again.
                Applied::Appended(Appended::OutOfSequence { expected }) => *next = expected,
                other => return Err((13, format!("appending to {partition}: {other:?}"))),
            }
        }
    }

    /// `key`'s messages from offset `from`.
    async fn poll(
        &self,
        key: &str,
        from: u64,
    ) -> Result<Vec<(u64, serde_json::Value)>, (u32, String)> {
        let partition = PartitionId::new(LOG, partition_for(key, PARTITIONS));
        let mut out = Vec::new();
        let mut at = from;
        while out.len() < POLL_MAX {
            let command = Command::Read {
                partition: partition.clone(),
                from: at,
                max: 1_000,
            };
            let Applied::Read(read) = self.call(&partition, command).await? else {
                return Err((13, format!("reading {partition}")));
            };
            for r in read.records.iter().filter(|r| r.key == key) {
                let msg = serde_json::from_str(&r.value).unwrap_or(serde_json::Value::Null);
                out.push((r.offset, msg));
            }
            match read.records.last() {
                Some(last) if last.offset + 1 < read.next => at = last.offset + 1,
                _ => break,
            }
        }
        out.truncate(POLL_MAX);
        Ok(out)
    }

    /// The last offset committed for `key`, if any.
    async fn committed(&self, key: &str) -> Result<Option<u64>, (u32, String)> {
        let partition = PartitionId::new(OFFSETS, partition_for(key, PARTITIONS));
        let (mut at, mut last) = (0, None);
        loop {
            let command = Command::Read {
                partition: partition.clone(),
                from: at,
                max: 1_000,
            };
            let Applied::Read(read) = self.call(&partition, command).await? else {
                return Err((13, format!("reading {partition}")));
            };
            for r in read.records.iter().filter(|r| r.key == key) {
                last = r.value.parse().ok();
            }
            match read.records.last() {
                Some(r) if r.offset + 1 < read.next => at = r.offset + 1,
                _ => return Ok(last),
            }
        }
    }

    async fn call(
        &self,
        partition: &PartitionId,
        command: Command,
    ) -> Result<Applied, (u32, String)> {
        let group = group_of(partition.index, GROUPS) as usize;
        self.client.call(group, command).await.map_err(|e| (11, e))
    }
}

async fn handle(State(gateway): State<Arc<Gateway>>, JsonBody(body): JsonBody<Body>) -> Json<Body> {
    Json(gateway.answer(body).await)
}

impl Shape for Body {
    const SHAPE: &'static str = r#"{"type": "send"|"poll"|"commit_offsets"|"list_committed_offsets", "key"?, "msg"?, "offsets"?, "keys"?, "msg_id"?}"#;
}
