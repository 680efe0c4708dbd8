//! The simulated system's actors: controllers that race to change the configuration, each
//! carrying out changes with a `Mover`, and clients that read and write through a `Client`
//! core and record what they saw.

use std::collections::HashMap;

use chapter7::command::Command;
use chapter7::machine::Applied;
use chapter7::service::next_config;
use chapter7::{
    Action, Answer, Change, Client, Configuration, GroupOp, GroupReply, KvCommand, Mover, NO_GROUP,
    Next, ServiceOp, ServiceReply,
};
use harness::history::{KvOp, KvOutput, Operation, from_virtual_ms};
use harness::sim::{Ctx, NodeId};

use crate::common::SHARDS;
use crate::sim_nodes::{GROUPS, Msg, log_of, propose};

const KEYS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
/// Virtual milliseconds between two sends of an unanswered request.
const RESEND_MS: u64 = 60;

fn to_service(ctx: &mut Ctx<Msg>, seq: u64, op: ServiceOp) {
    propose(ctx, 0, seq, &Command::Service { op });
}

#[derive(Debug)]
pub enum Phase {
    Query,
    Propose { from: Configuration },
    Move(Mover),
    Idle,
}

#[derive(Debug)]
pub struct Controller {
    pub script: Vec<Change>,
    next: usize,
    pub phase: Phase,
    seq: u64,
    resend_at: u64,
}

/// A controller's list of changes, chosen by the seed; the first is a join.
fn script(ctx: &mut Ctx<Msg>) -> Vec<Change> {
    let mut script = vec![];
    for i in 0..5 {
        let g = GROUPS[ctx.random(0..3) as usize];
        script.push(match ctx.random(0..3) {
            _ if i == 0 => crate::common::join(&[g]),
            0 => crate::common::join(&[g]),
            1 => Change::Leave(vec![g]),
            _ => Change::Move {
                shard: ctx.random(0..SHARDS as u64) as usize,
                group: g,
            },
        });
    }
    script
}

impl Controller {
    /// A controller that has had `next` changes accepted. The list is drawn again from
    /// the seed's stream, so a restarted controller gets another one: any list must be
    /// safe.
    pub fn start(next: usize, ctx: &mut Ctx<Msg>) -> Controller {
        Controller {
            script: script(ctx),
            next,
            phase: Phase::Query,
            seq: 0,
            resend_at: ctx.now(),
        }
    }

    /// How many of its changes were accepted (what survives its crash).
    pub fn next(&self) -> usize {
        self.next
    }

    pub fn tick(&mut self, ctx: &mut Ctx<Msg>) {
        if ctx.now() >= self.resend_at {
            self.send(ctx);
        }
    }

    fn send(&mut self, ctx: &mut Ctx<Msg>) {
        self.seq += 1;
        let seq = self.seq;
        self.resend_at = ctx.now() + RESEND_MS;
        match &self.phase {
            Phase::Query => to_service(ctx, seq, ServiceOp::Query { num: None }),
            Phase::Propose { from } => {
                let change = self.script[self.next].clone();
                to_service(
                    ctx,
                    seq,
                    ServiceOp::Propose {
                        base: from.num,
                        change,
                    },
                );
            }
            Phase::Move(mover) => {
                for action in mover.actions() {
                    match action {
                        Action::Group { group, op } => {
                            propose(ctx, group as usize, seq, &Command::Group { op });
                        }
                        Action::Service(op) => to_service(ctx, seq, op),
                    }
                }
            }
            Phase::Idle => {}
        }
    }

    pub fn on_reply(&mut self, from: NodeId, applied: Applied, ctx: &mut Ctx<Msg>) {
        match applied {
            Applied::Service(reply) => self.on_service(reply, ctx),
            // The next steps leave at the next resend.
            Applied::Group(reply) => {
                if let Phase::Move(mover) = &mut self.phase {
                    mover.on_reply(log_of(from) as u64, reply);
                }
            }
            Applied::Nothing => {}
        }
    }

    fn on_service(&mut self, reply: ServiceReply, ctx: &mut Ctx<Msg>) {
        match (&mut self.phase, reply) {
            (Phase::Query, ServiceReply::Config { config, pending }) => {
                if let Some(pending) = pending {
                    self.phase = Phase::Move(Mover::new(&config, &pending));
                } else {
                    while self.next < self.script.len()
                        // The other controller may have made the same change already.
                        && next_config(&config, &self.script[self.next]).is_err()
                    {
                        self.next += 1;
                    }
                    self.phase = if self.next < self.script.len() {
                        Phase::Propose { from: config }
                    } else {
                        Phase::Idle
                    };
                }
                self.send(ctx);
            }
            (Phase::Propose { from }, ServiceReply::Proposed(config))
                if config.num == from.num + 1 =>
            {
                self.next += 1;
                self.phase = Phase::Move(Mover::new(from, &config));
                self.send(ctx);
            }
            (Phase::Propose { .. }, ServiceReply::Refused(_)) => {
                self.phase = Phase::Query;
                self.send(ctx);
            }
            (Phase::Move(mover), ServiceReply::Finished { num }) => {
                mover.finished(num);
                if mover.is_finished() {
                    self.phase = Phase::Query;
                    self.send(ctx);
                }
            }
            _ => {}
        }
    }
}

#[derive(Debug)]
pub struct InFlight {
    op: KvOp,
    seq: u64,
    invoke: u64,
}

#[derive(Debug)]
pub struct SimClient {
    id: usize,
    core: Client,
    pub ops_left: u32,
    /// The keys it uses.
    pub keys: Vec<String>,
    seq: u64,
    pub in_flight: Option<InFlight>,
    resend_at: u64,
    seen: HashMap<String, u64>,
    pub history: Vec<Operation>,
    /// How often a `wrong_group` sent it on to a moving configuration's owner.
    pub tried_ahead: u64,
}

fn output(answer: Answer) -> KvOutput {
    match answer {
        Answer::Value(v) => KvOutput::Value(v),
        Answer::Written { version } => KvOutput::Written { version },
        Answer::Mismatch { current } => KvOutput::Mismatch { current },
        Answer::Deleted { version } => KvOutput::Deleted { version },
        Answer::NotFound => KvOutput::NotFound,
        Answer::Stale { latest } => panic!(
            "a client's request in flight was refused as older than its request {latest}: \
             the shard's table confused two requests"
        ),
    }
}

impl SimClient {
    pub fn start(id: NodeId) -> SimClient {
        SimClient {
            id,
            core: Client::new(&format!("sim{id}"), Configuration::initial(SHARDS)),
            ops_left: 30,
            keys: KEYS.iter().map(|k| k.to_string()).collect(),
            seq: 0,
            in_flight: None,
            resend_at: 0,
            seen: HashMap::new(),
            history: Vec::new(),
            tried_ahead: 0,
        }
    }

    pub fn tick(&mut self, ctx: &mut Ctx<Msg>) {
        let now = ctx.now();
        if self.in_flight.is_none() && self.ops_left > 0 && ctx.random(0..3) == 0 {
            self.ops_left -= 1;
            self.seq += 1;
            let (op, command) = self.next_op(ctx);
            self.core.start(command);
            self.in_flight = Some(InFlight {
                op,
                seq: self.seq,
                invoke: from_virtual_ms(now),
            });
            self.resend_at = now;
        }
        if self.in_flight.is_some() && now >= self.resend_at {
            self.send(ctx);
        }
    }

    /// A random read, delete or write (half the writes conditional, on a version this
    /// client saw or made up), as the history records it and as the client sends it.
    fn next_op(&mut self, ctx: &mut Ctx<Msg>) -> (KvOp, KvCommand) {
        let key = self.keys[ctx.random(0..self.keys.len() as u64) as usize].clone();
        match ctx.random(0..6) {
            0 | 1 => (KvOp::Get { key: key.clone() }, KvCommand::Get { key }),
            2 => (
                KvOp::Delete { key: key.clone() },
                KvCommand::Delete { key, request: None },
            ),
            kind => {
                let value = format!("c{}-{}", self.id, self.seq);
                let if_version = (kind == 5).then(|| {
                    self.seen
                        .get(&key)
                        .copied()
                        .unwrap_or_else(|| ctx.random(0..4))
                });
                let op = KvOp::Put {
                    key: key.clone(),
                    value: value.clone(),
                    if_version,
                };
                let command = KvCommand::Put {
                    key,
                    value,
                    if_version,
                    request: None,
                };
                (op, command)
            }
        }
    }

    /// Sends the command in flight to its group (if the cached configuration names one)
    /// and asks the service for the latest configuration.
    fn send(&mut self, ctx: &mut Ctx<Msg>) {
        let Some(in_flight) = &self.in_flight else {
            return;
        };
        let seq = in_flight.seq;
        self.resend_at = ctx.now() + RESEND_MS;
        let target = self.core.target();
        if target != NO_GROUP
            && let Some(command) = self.core.pending()
        {
            let op = GroupOp::Client(command.clone());
            propose(ctx, target as usize, seq, &Command::Group { op });
        }
        to_service(ctx, seq, ServiceOp::Query { num: None });
    }

    pub fn on_reply(&mut self, seq: u64, applied: Applied, ctx: &mut Ctx<Msg>) {
        match applied {
            Applied::Group(reply) => self.on_group(seq, reply, ctx),
            Applied::Service(ServiceReply::Config { config, pending }) => {
                let before = self.core.target();
                self.core.on_config(config, pending);
                if self.core.target() != before {
                    self.send(ctx); // a new route: try it now
                }
            }
            _ => {}
        }
    }

    fn on_group(&mut self, seq: u64, reply: GroupReply, ctx: &mut Ctx<Msg>) {
        let Some(in_flight) = &self.in_flight else {
            return;
        };
        if in_flight.seq != seq {
            return; // an answer to an earlier command
        }
        match self.core.on_reply(reply) {
            Next::Done(answer) => {
                let version = match &answer {
                    Answer::Value(v) => v.as_ref().map_or(0, |(_, version)| *version),
                    Answer::Written { version } => *version,
                    Answer::Mismatch { current } => *current,
                    Answer::Deleted { .. } | Answer::NotFound | Answer::Stale { .. } => 0,
                };
                self.seen.insert(in_flight.op.key().to_string(), version);
                self.history.push(Operation {
                    client: self.id,
                    op: in_flight.op.clone(),
                    invoke: in_flight.invoke,
                    ret: Some(from_virtual_ms(ctx.now())),
                    output: Some(output(answer)),
                    failed: false,
                });
                self.in_flight = None;
            }
            Next::Refresh => to_service(ctx, seq, ServiceOp::Query { num: None }),
            Next::Retry => {
                self.tried_ahead += 1;
                self.send(ctx);
            }
            Next::Ignore => {}
        }
    }

    /// The history, with the call still waiting recorded as unknown.
    pub fn finished_history(&self) -> Vec<Operation> {
        let mut history = self.history.clone();
        if let Some(in_flight) = &self.in_flight {
            history.push(Operation {
                client: self.id,
                op: in_flight.op.clone(),
                invoke: in_flight.invoke,
                ret: None,
                output: None,
                failed: false,
            });
        }
        history
    }
}
