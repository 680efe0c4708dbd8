//! The controller over HTTP: propose a configuration change to the service, carry it out
//! with the mover of exercise 7.5 ([`Mover`]), and publish it.
//!
//! A controller is short-lived and keeps nothing: every run starts by reading the
//! service. If a change is pending (an earlier controller crashed, or another is at work
//! right now), it carries that one out first, from the start: every step is fenced by the
//! configuration number, so steps done before are answered again and change nothing.
//! Then it proposes its own change on the latest configuration; the service takes it
//! only if that configuration is still the latest and nothing is moving (a
//! compare-and-set), so of two controllers only one wins; the other reads again.
//!
//! The steps go to the groups' internal route (`/internal/group`) and the proposal and
//! `Finish` to the service's (`/internal/service`), both with the cluster's key. A shard
//! too big for one log entry is installed in pieces (see [`crate::staging`]).
//!
//! Exercises 7.8 (the loop: [`Controller::change`] and `carry_out`) and 7.9 (a big
//! shard in pieces: `install_in_pieces`) live here. They belong to the systems track, which is
//! optional: until you run `cargo xtask track chapter7 systems`, this file holds them
//! finished.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use plumbing::cluster_key::ClusterKey;

use crate::call::{Answered, to_leader};
use crate::config::{Configuration, GroupId, NO_GROUP, ShardId};
use crate::group::GroupOp;
use crate::mover::{Action, Mover, Step};
use crate::responses::ConfigAnswer;
use crate::service::{Change, ServiceOp, ServiceReply, next_config};
use crate::shard::ShardData;

/// The size of the pieces a big shard moves in, as JSON: a piece is at most this plus one
/// key and value (at most 1 MiB, a client's body limit), 3 MiB, under one log entry's
/// limit ([`crate::command::MAX_ENTRY_BYTES`], 6 MiB), so that a piece is never refused.
/// Bigger pieces mean fewer steps, but each holds its group's log longer, and the other
/// shards of the groups involved wait behind it (the benchmark page has the runs that
/// chose 2 MiB over 1 and 4).
pub const PIECE_BYTES: usize = 2 * 1024 * 1024;

/// How long the controller waits for one step's answer.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// A controller of the store whose service is at `service`.
#[derive(Debug)]
pub struct Controller {
    service: Vec<String>,
    http: reqwest::Client,
    deadline: Duration,
    hints: BTreeMap<GroupId, AtomicUsize>,
    piece_bytes: usize,
}

impl Controller {
    /// A controller that signs its requests with `key` and gives up on a change after
    /// `deadline` (a later controller finishes it).
    pub fn new(service: &[String], key: &ClusterKey, deadline: Duration) -> anyhow::Result<Self> {
        Ok(Controller {
            service: service.to_vec(),
            // Long enough for a big piece to be committed on a loaded machine: a step
            // given up too early is sent again, and the group's log then carries it twice.
            http: plumbing::cluster_key::peer_client(STEP_TIMEOUT, key)?,
            deadline,
            hints: BTreeMap::new(),
            piece_bytes: PIECE_BYTES,
        })
    }

    /// The same controller, moving a shard bigger than `bytes` (as JSON) in pieces of
    /// about that size, instead of [`PIECE_BYTES`] (tests use small pieces to move small
    /// shards in pieces).
    pub fn with_piece_bytes(mut self, bytes: usize) -> Self {
        self.piece_bytes = bytes.max(1);
        self
    }

    /// The latest configuration and the pending one, as the service's leader has them.
    pub async fn query(&mut self) -> anyhow::Result<ConfigAnswer> {
        match self.service(ServiceOp::Query { num: None }).await? {
            ServiceReply::Config { config, pending } => Ok(ConfigAnswer { config, pending }),
            other => anyhow::bail!("the service answered a query with {other:?}"),
        }
    }

    /// Makes `change` (after finishing a pending one) and carries it out. Returns the
    /// configuration it made (or, if the answer to its proposal was lost and the change
    /// is in effect, the latest). A change that does not fit the latest configuration is
    /// an error.
    // ANCHOR: change
    pub async fn change(&mut self, change: &Change) -> anyhow::Result<Configuration> {
        // EXERCISE 7.8: finish a pending change first, then propose yours; refused: read again
        // HINT: Every run starts from the service's answer to a query: the latest configuration and the pending one. Which of the two must be finished before the service takes anything new?
        // HINT: Loop: query; a pending change is carried out (`carry_out`) and you query again; else (after the check of the next hint) check the change fits (`next_config`), propose it on the latest number and carry out what the service answers. A `Refused` proposal lost a race: query again. Give up only past `self.deadline`.
        // HINT: A proposal whose answer was lost may have been taken (and even carried out by another controller): remember that you sent one, and when the latest configuration already has what you asked (`in_effect`), that is your answer. Check that before `next_config`, which would refuse it. A change in effect that you never proposed is someone else's: `next_config`'s error.
        let started = Instant::now();
        // Whether a proposal of this change was sent and not answered: it may have been
        // taken, and carried out by another controller since.
        let mut sent = false;
        loop {
            anyhow::ensure!(
                started.elapsed() < self.deadline,
                "the change did not go through within {:?}; a later controller can finish it",
                self.deadline
            );
            let ConfigAnswer { config, pending } = self.query().await?;
            if let Some(pending) = pending {
                self.carry_out(&config, &pending).await?;
                continue;
            }
            if sent && in_effect(&config, change) {
                return Ok(config);
            }
            // The service's own rule: a change that cannot fit is an error, not a retry.
            next_config(&config, change).map_err(anyhow::Error::msg)?;
            let base = config.num;
            sent = true;
            let proposal = ServiceOp::Propose {
                base,
                change: change.clone(),
            };
            match self.service(proposal).await? {
                ServiceReply::Proposed(next) => {
                    self.carry_out(&config, &next).await?;
                    return Ok(next);
                }
                // Another controller moved first: read again.
                ServiceReply::Refused(why) => tracing::debug!(%why, "proposal refused"),
                other => anyhow::bail!("the service answered a proposal with {other:?}"),
            }
        }
        // END EXERCISE 7.8
    }
    // ANCHOR_END: change

    /// Finishes the change the service has pending, if any; returns the latest
    /// configuration after it.
    pub async fn finish_pending(&mut self) -> anyhow::Result<Configuration> {
        let ConfigAnswer { config, pending } = self.query().await?;
        match pending {
            Some(pending) => {
                self.carry_out(&config, &pending).await?;
                Ok(pending)
            }
            None => Ok(config),
        }
    }

    /// Runs a [`Mover`] from `from` to `to` until the service says `to` is the latest.
    // ANCHOR: carry_out
    async fn carry_out(&mut self, from: &Configuration, to: &Configuration) -> anyhow::Result<()> {
        // EXERCISE 7.8: run the mover to the end: send, feed back answers, back off on silence
        // HINT: Exercise 7.5's `Mover` decides every step; this loop only sends its `actions()` and hands it what comes back (`on_reply`, `finished`). An unanswered step is normal (a leader is being elected): it is sent again next round.
        // HINT: A group's steps go by `self.step(group, servers, op)` to the servers of `to` (or of `from`, for a group that left); the service's `Finish` by `self.service(op)`. When a whole round got no answer, sleep, doubling the pause from 5 ms up to 500 ms; an answer resets it.
        // HINT: Stop with an error past `self.deadline` that says where each shard stands (`progress_of`): a later controller will finish the change, since every step is fenced by its configuration number.
        let started = Instant::now();
        let mut mover = Mover::new(from, to);
        let mut pause = Duration::from_millis(5);
        while !mover.is_finished() {
            anyhow::ensure!(
                started.elapsed() < self.deadline,
                "configuration {} did not finish moving within {:?}; where each shard stands: {}",
                to.num,
                self.deadline,
                progress_of(&mover)
            );
            let mut progress = false;
            for action in mover.actions() {
                match action {
                    Action::Group { group, op } => {
                        let servers = to
                            .groups
                            .get(&group)
                            .or_else(|| from.groups.get(&group))
                            .cloned()
                            .unwrap_or_default();
                        let (what, sent) = (op_name(&op), Instant::now());
                        if let Some(reply) = self.step(group, &servers, op).await {
                            // `RUST_LOG=chapter7::controller=debug` times every step.
                            tracing::debug!(
                                group,
                                what,
                                ms = sent.elapsed().as_millis(),
                                "step answered"
                            );
                            mover.on_reply(group, reply);
                            progress = true;
                        }
                    }
                    Action::Service(op) => match self.service(op).await {
                        Ok(ServiceReply::Finished { num }) => {
                            mover.finished(num);
                            progress = true;
                        }
                        Ok(other) => anyhow::bail!("the service answered Finish with {other:?}"),
                        Err(e) => tracing::debug!(error = %e, "finish not answered"),
                    },
                }
            }
            if progress {
                pause = Duration::from_millis(5);
            } else {
                // Nothing answered: a leader may be being elected, or a big step still
                // being committed (its `504` says so), which a resend would only add to.
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
        }
        Ok(())
        // END EXERCISE 7.8
    }
    // ANCHOR_END: carry_out

    /// Sends one of the mover's steps to `group`: an `Install` of a shard bigger than a
    /// piece ([`PIECE_BYTES`]) goes in pieces ([`Controller::install_in_pieces`]), any
    /// other step as it is. The reply to the step, or `None` if it was not answered.
    async fn step(
        &mut self,
        group: GroupId,
        servers: &[String],
        op: GroupOp,
    ) -> Option<crate::group::GroupReply> {
        match op {
            GroupOp::Install { shard, num, data }
                if crate::staging::json_size(&data) > self.piece_bytes =>
            {
                self.install_in_pieces(group, servers, shard, num, data)
                    .await
            }
            op => self.group(group, servers, &op).await,
        }
    }

    /// Installs `data` as shard `shard` of configuration `num` at `group`: `Stage` pieces,
    /// then the `Install` of the last one. The reply to the install (or a piece's `Stale`
    /// if the shard is already past this move), or `None` if some piece or the install
    /// was not answered (the next round sends them again: staging a piece twice is
    /// harmless).
    // ANCHOR: install_in_pieces
    async fn install_in_pieces(
        &mut self,
        group: GroupId,
        servers: &[String],
        shard: ShardId,
        num: u64,
        data: ShardData,
    ) -> Option<crate::group::GroupReply> {
        // EXERCISE 7.9: a big install: staged pieces, one after another, then the last
        // HINT: Only an install can be too big for one log entry, and `step` sends only those bigger than a piece here. Split the data (`crate::staging::split`) into pieces of `self.piece_bytes`: at least one piece.
        // HINT: Send every piece but the last as a `Stage` step for the same shard and configuration, one after another, each answered `Staged` before the next; then the last piece as the `Install`. Any other answer to a piece (say `Stale`) is the step's answer: stop there and return it.
        // HINT: A piece not answered (`None`) ends the step with `None`: the mover sends the install again next round, and staging a piece twice is harmless. Sending pieces at once makes one append of twice the size: measured slower.
        let split = Instant::now();
        let mut pieces = crate::staging::split(data, self.piece_bytes);
        let last = pieces.pop().unwrap_or_default();
        tracing::debug!(
            group,
            pieces = pieces.len() + 1,
            ms = split.elapsed().as_millis(),
            "shard split"
        );
        // One after another: sent at once, two pieces would make one append of twice the
        // size, which measured slower (a 10 MiB move's p99 went from 1.1 s to 2.9 s).
        for piece in pieces {
            let sent = Instant::now();
            match self
                .group(group, servers, &GroupOp::Stage { shard, num, piece })
                .await?
            {
                crate::group::GroupReply::Staged { .. } => {
                    tracing::debug!(group, ms = sent.elapsed().as_millis(), "piece staged");
                }
                other => return Some(other),
            }
        }
        let install = GroupOp::Install {
            shard,
            num,
            data: last,
        };
        self.group(group, servers, &install).await
        // END EXERCISE 7.9
    }
    // ANCHOR_END: install_in_pieces

    /// Sends a shard step to `group`; its reply, or `None` if no leader answered.
    async fn group(
        &mut self,
        group: GroupId,
        servers: &[String],
        op: &GroupOp,
    ) -> Option<crate::group::GroupReply> {
        let hint = self.hints.entry(group).or_default();
        send_step(&self.http, group, servers, hint, op).await
    }

    /// Sends `op` to the service: its reply, or why none came.
    async fn service(&mut self, op: ServiceOp) -> anyhow::Result<ServiceReply> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            let hint = self.hints.entry(NO_GROUP).or_default();
            let http = &self.http;
            match to_leader(&self.service, hint, |url| {
                http.post(format!("{url}/internal/service")).json(&op)
            })
            .await
            {
                Answered::Ok(reply) => return Ok(reply),
                Answered::Error(status, body) => {
                    anyhow::bail!("the service refused ({status}): {}", body.message)
                }
                Answered::NoLeader(why) if started.elapsed() > self.deadline => {
                    anyhow::bail!("the configuration service did not answer: {why}")
                }
                Answered::NoLeader(_) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
            }
        }
    }
}

/// Sends a shard step to `group`'s replicas, starting at `hint`; the reply, or `None` if
/// no leader answered or the step was refused (logged).
async fn send_step(
    http: &reqwest::Client,
    group: GroupId,
    servers: &[String],
    hint: &AtomicUsize,
    op: &GroupOp,
) -> Option<crate::group::GroupReply> {
    match to_leader(servers, hint, |url| {
        http.post(format!("{url}/internal/group")).json(op)
    })
    .await
    {
        Answered::Ok(reply) => Some(reply),
        Answered::Error(status, body) => {
            tracing::warn!(group, status, message = %body.message, "a step was refused");
            None
        }
        Answered::NoLeader(why) => {
            tracing::debug!(group, %why, "no leader answered a step");
            None
        }
    }
}

/// A step's name, for the logs.
fn op_name(op: &GroupOp) -> &'static str {
    match op {
        GroupOp::Freeze { .. } => "freeze",
        GroupOp::Stage { .. } => "stage",
        GroupOp::Install { .. } => "install",
        GroupOp::Delete { .. } => "delete",
        GroupOp::Client(_) => "client",
    }
}

/// Whether `config` already has what `change` asks (a retried change that went through
/// before its controller heard so).
fn in_effect(config: &Configuration, change: &Change) -> bool {
    match change {
        Change::Join(groups) => groups.keys().all(|g| config.groups.contains_key(g)),
        Change::Leave(groups) => groups.iter().all(|g| !config.groups.contains_key(g)),
        Change::Move { shard, group } => config.owner(*shard) == *group,
    }
}

/// Where each moving shard stands, in a line (a shard's data, which may be megabytes,
/// only by its size).
fn progress_of(mover: &Mover) -> String {
    mover
        .steps()
        .map(|(shard, step)| match step {
            Step::Freeze => format!("shard {shard}: freeze"),
            Step::Install(data) => format!("shard {shard}: install ({} bytes)", data.bytes()),
            Step::Delete => format!("shard {shard}: delete"),
            Step::Done => format!("shard {shard}: done"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
