//! The sharded store's client over HTTP: the router of exercise 7.6 ([`router::Client`])
//! with the I/O it leaves out.
//!
//! For each call the router names a group ([`router::Client::target`]); this client sends
//! the command to that group's servers (its leader answers, see [`crate::call`]) and
//! feeds the answer back: an answer ends the call, `wrong_group` makes the router try
//! the pending configuration's owner or ask for a refresh, which this client gets from
//! the configuration service (`GET /config`). A write keeps its request id through every
//! retry, so it is applied once wherever its shard has moved.
//!
//! One `ShardedClient` makes one call at a time (its router tracks one command in flight;
//! the group's table keeps one answer per client): run several for concurrency, each
//! with its own name.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use crate::api::{CLIENT_ID_HEADER, PutRequest, REQUEST_ID_HEADER};
use crate::call::{Answered, to_leader};
use crate::config::{Configuration, GroupId, NO_GROUP};
use crate::group::GroupReply;
use crate::responses::ConfigAnswer;
use crate::router::{self, Next};
use crate::shard::{Answer, KvCommand};

/// Why a call has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardedError {
    /// The deadline passed: a write may or may not have taken effect.
    #[error("no answer within {0:?}: {1}")]
    GaveUp(Duration, String),
    /// A group refused the request (a bad key, a stale request): do not retry it.
    #[error("refused ({0}): {1}")]
    Refused(String, String),
}

/// A client of the sharded store.
#[derive(Debug)]
pub struct ShardedClient {
    router: router::Client,
    service: Vec<String>,
    http: reqwest::Client,
    deadline: Duration,
    /// Per log (service: [`NO_GROUP`], or a group), the server that answered last.
    hints: BTreeMap<GroupId, AtomicUsize>,
}

impl ShardedClient {
    /// A client called `name` (unique among clients: it prefixes the request ids) of the
    /// store whose configuration service is at `service`; each call gives up after
    /// `deadline`.
    pub fn new(name: &str, service: &[String], deadline: Duration) -> anyhow::Result<Self> {
        Ok(ShardedClient {
            router: router::Client::new(name, Configuration::initial(1)),
            service: service.to_vec(),
            http: plumbing::http::client(Duration::from_secs(2))?,
            deadline,
            hints: BTreeMap::new(),
        })
    }

    /// The configuration it routes by.
    pub fn config(&self) -> &Configuration {
        self.router.config()
    }

    /// A key's value and version, if it exists.
    pub async fn get(&mut self, key: &str) -> Result<Option<(String, u64)>, ShardedError> {
        match self.call(KvCommand::Get { key: key.into() }).await? {
            Answer::Value(found) => Ok(found),
            other => Err(unexpected(other)),
        }
    }

    /// Writes `value`: `Written` with its version, or (with `if_version`) `Mismatch`.
    pub async fn put(
        &mut self,
        key: &str,
        value: &str,
        if_version: Option<u64>,
    ) -> Result<Answer, ShardedError> {
        let command = KvCommand::Put {
            key: key.into(),
            value: value.into(),
            if_version,
            request: None,
        };
        self.call(command).await
    }

    /// Deletes `key`: `Deleted` with its version, or `NotFound`.
    pub async fn delete(&mut self, key: &str) -> Result<Answer, ShardedError> {
        self.call(KvCommand::Delete {
            key: key.into(),
            request: None,
        })
        .await
    }

    /// Runs `command` until it is answered or the deadline passes.
    pub async fn call(&mut self, command: KvCommand) -> Result<Answer, ShardedError> {
        let started = Instant::now();
        let command = self.router.start(command);
        let mut why = String::from("no configuration yet");
        let mut pause = Duration::from_millis(5);
        loop {
            if started.elapsed() > self.deadline {
                return Err(ShardedError::GaveUp(self.deadline, why));
            }
            let group = self.router.target();
            if group == NO_GROUP {
                self.refresh(&mut why).await;
            } else {
                match self.send(group, &command).await {
                    Ok(reply) => match self.router.on_reply(reply) {
                        Next::Done(answer) => return Ok(answer),
                        Next::Retry => continue,
                        // Refreshed, then a pause: the shard may be frozen, served by
                        // nobody until its new owner installs it.
                        Next::Refresh => {
                            why = format!("group {group} does not serve the key's shard");
                            self.refresh(&mut why).await;
                        }
                        Next::Ignore => {}
                    },
                    Err(Err(refused)) => return Err(refused),
                    Err(Ok(no_leader)) => {
                        why = format!("group {group}: {no_leader}");
                        // Perhaps the group left: the latest configuration says.
                        self.refresh(&mut why).await;
                    }
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// Asks the service for the latest configuration and the pending one.
    async fn refresh(&mut self, why: &mut String) {
        let hint = self.hints.entry(NO_GROUP).or_default();
        let http = &self.http;
        match to_leader::<ConfigAnswer, _>(&self.service, hint, |url| {
            http.get(format!("{url}/config"))
        })
        .await
        {
            Answered::Ok(answer) => self.router.on_config(answer.config, answer.pending),
            Answered::Error(status, body) => {
                *why = format!("the service answered {status}: {}", body.message)
            }
            Answered::NoLeader(last) => *why = format!("the service: {last}"),
        }
    }

    /// Sends `command` to `group`'s servers: the group's reply; `Err(Ok(why))` if no
    /// leader answered; `Err(Err(_))` if the group refused the request for good.
    async fn send(
        &mut self,
        group: GroupId,
        command: &KvCommand,
    ) -> Result<GroupReply, Result<String, ShardedError>> {
        let servers = self
            .router
            .moving()
            .and_then(|m| m.groups.get(&group))
            .or_else(|| self.router.config().groups.get(&group))
            .cloned()
            .unwrap_or_default();
        let hint = self.hints.entry(group).or_default();
        let http = &self.http;
        let answered = to_leader::<Written, _>(&servers, hint, |url| {
            let path = format!("{url}/kv/{}", encode(command.key()));
            let request = match command {
                KvCommand::Get { .. } => http.get(path),
                KvCommand::Put {
                    value, if_version, ..
                } => http.put(path).json(&PutRequest {
                    value: value.clone(),
                    if_version: *if_version,
                }),
                KvCommand::Delete { .. } => http.delete(path),
            };
            match command {
                KvCommand::Put {
                    request: Some(id), ..
                }
                | KvCommand::Delete {
                    request: Some(id), ..
                } => request
                    .header(CLIENT_ID_HEADER, &id.client)
                    .header(REQUEST_ID_HEADER, id.seq.to_string()),
                _ => request,
            }
        })
        .await;
        let answer = match answered {
            Answered::Ok(entry) => match command {
                KvCommand::Get { .. } => Answer::Value(Some((entry.value, entry.version))),
                KvCommand::Put { .. } => Answer::Written {
                    version: entry.version,
                },
                KvCommand::Delete { .. } => Answer::Deleted {
                    version: entry.version,
                },
            },
            Answered::Error(_, body) => match body.error.as_str() {
                // The router reads only that it was `wrong_group`, not the shard.
                "wrong_group" => return Ok(GroupReply::WrongGroup { shard: 0 }),
                "not_found" if matches!(command, KvCommand::Get { .. }) => Answer::Value(None),
                "not_found" => Answer::NotFound,
                "version_mismatch" => Answer::Mismatch {
                    current: body.current_version.unwrap_or_default(),
                },
                _ => return Err(Err(ShardedError::Refused(body.error, body.message))),
            },
            Answered::NoLeader(why) => return Err(Ok(why)),
        };
        Ok(GroupReply::Answer(answer))
    }
}

/// The body of a `2xx` answer to `/kv/{key}`: an `Entry`, or a `DeleteResponse` (no
/// value).
#[derive(Debug, serde::Deserialize)]
struct Written {
    #[serde(default)]
    value: String,
    version: u64,
}

/// Percent-encodes a key for a URL's path.
fn encode(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn unexpected(answer: Answer) -> ShardedError {
    ShardedError::Refused("unexpected".into(), format!("{answer:?}"))
}
