//! The simulated sharded system's nodes: the configuration service and the groups (each
//! one machine, applying operations in order, keeping all it applied across a crash), the
//! controllers (racing to make their lists of changes, each running a `Mover`), and the
//! clients (a `Client` core each, recording the history). `simulation.rs` runs them.
use std::collections::HashMap;

use chapter7::{
    Action, Answer, Change, Client, Command, Config, Group, GroupOp, GroupReply, Mover, NO_GROUP,
    Next, Service, ServiceOp, ServiceReply,
};
use harness::history::{KvOp, KvOutput, Operation};
use harness::sim::{Ctx, NodeId, SimNode};

use crate::common::SHARDS;

pub const SERVICE: NodeId = 0;
pub const GROUPS: [NodeId; 3] = [1, 2, 3];
pub const CONTROLLERS: [NodeId; 2] = [4, 5];
pub const CLIENTS: [NodeId; 3] = [6, 7, 8];
pub const NODES: usize = 9;
const KEYS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
/// Virtual milliseconds between two sends of an unanswered message.
const RESEND_MS: u64 = 60;

#[derive(Debug, Clone)]
pub enum Msg {
    ToService { op: ServiceOp },
    FromService { reply: ServiceReply },
    ToGroup { seq: u64, op: GroupOp },
    FromGroup { seq: u64, reply: GroupReply },
}

#[derive(Debug, Clone)]
pub enum Durable {
    Service(Service),
    Group(Group),
    /// How many of its changes a controller has had accepted.
    Controller(usize),
    Client,
}

#[derive(Debug)]
pub enum Phase {
    Query,
    Propose { from: Config },
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
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // nine nodes: size does not matter
pub enum Node {
    Service(Service),
    Group(Group),
    Controller(Controller),
    Client(SimClient),
}

/// Whether `change` still makes sense on `config` (a controller skips the others: the
/// other controller may have made the same change already).
fn applies(change: &Change, config: &Config) -> bool {
    match change {
        Change::Join(groups) => groups.keys().all(|g| !config.groups.contains_key(g)),
        Change::Leave(groups) => {
            groups.iter().all(|g| config.groups.contains_key(g))
                && config.groups.len() > groups.len()
        }
        Change::Move { group, .. } => config.groups.contains_key(group),
    }
}

impl Controller {
    fn send(&mut self, ctx: &mut Ctx<Msg>) {
        self.seq += 1;
        let seq = self.seq;
        self.resend_at = ctx.now() + RESEND_MS;
        match &self.phase {
            Phase::Query => ctx.send(
                SERVICE,
                Msg::ToService {
                    op: ServiceOp::Query { num: None },
                },
            ),
            Phase::Propose { from } => {
                let op = ServiceOp::Propose {
                    base: from.num,
                    change: self.script[self.next].clone(),
                };
                ctx.send(SERVICE, Msg::ToService { op });
            }
            Phase::Move(mover) => {
                for action in mover.actions() {
                    match action {
                        Action::Group { group, op } => {
                            ctx.send(group as NodeId, Msg::ToGroup { seq, op });
                        }
                        Action::Service(op) => ctx.send(SERVICE, Msg::ToService { op }),
                    }
                }
            }
            Phase::Idle => {}
        }
    }

    fn on_service(&mut self, reply: ServiceReply, ctx: &mut Ctx<Msg>) {
        match (&mut self.phase, reply) {
            (Phase::Query, ServiceReply::Config { config, pending }) => {
                if let Some(pending) = pending {
                    self.phase = Phase::Move(Mover::new(&config, &pending));
                } else {
                    while self.next < self.script.len()
                        && !applies(&self.script[self.next], &config)
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
    fn tick(&mut self, ctx: &mut Ctx<Msg>) {
        let now = ctx.now();
        if self.in_flight.is_none() && self.ops_left > 0 && ctx.random(0..3) == 0 {
            self.ops_left -= 1;
            self.seq += 1;
            let key = self.keys[ctx.random(0..self.keys.len() as u64) as usize].clone();
            let (op, command) = match ctx.random(0..6) {
                0 | 1 => (KvOp::Get { key: key.clone() }, Command::Get { key }),
                2 => (
                    KvOp::Delete { key: key.clone() },
                    Command::Delete { key, request: None },
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
                    (
                        op,
                        Command::Put {
                            key,
                            value,
                            if_version,
                            request: None,
                        },
                    )
                }
            };
            self.core.start(command);
            self.in_flight = Some(InFlight {
                op,
                seq: self.seq,
                invoke: now,
            });
            self.resend_at = now;
        }
        if self.in_flight.is_some() && now >= self.resend_at {
            self.send(ctx);
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
            ctx.send(target as NodeId, Msg::ToGroup { seq, op });
        }
        ctx.send(
            SERVICE,
            Msg::ToService {
                op: ServiceOp::Query { num: None },
            },
        );
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
                    ret: Some(ctx.now()),
                    output: Some(output(answer)),
                    failed: false,
                });
                self.in_flight = None;
            }
            Next::Refresh => {
                ctx.send(
                    SERVICE,
                    Msg::ToService {
                        op: ServiceOp::Query { num: None },
                    },
                );
            }
            Next::Ignore => {}
        }
    }

    fn on_config(&mut self, config: Config, ctx: &mut Ctx<Msg>) {
        let before = self.core.target();
        self.core.on_config(config);
        if self.core.target() != before {
            self.send(ctx); // a new route: try it now
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

/// A controller's list of changes, chosen by the seed; the first is a join.
fn script(ctx: &mut Ctx<Msg>) -> Vec<Change> {
    let group = |ctx: &mut Ctx<Msg>| GROUPS[ctx.random(0..3) as usize] as u64;
    let mut script = vec![];
    for i in 0..5 {
        let g = group(ctx);
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

impl SimNode for Node {
    type Message = Msg;
    type Durable = Durable;

    fn start(id: NodeId, _: Vec<NodeId>, durable: Option<Durable>, ctx: &mut Ctx<Msg>) -> Self {
        match (id, durable) {
            (SERVICE, Some(Durable::Service(s))) => Node::Service(s),
            (SERVICE, _) => Node::Service(Service::new(SHARDS)),
            (_, Some(Durable::Group(g))) => Node::Group(g),
            (id, _) if GROUPS.contains(&id) => Node::Group(Group::new(id as u64, SHARDS)),
            (id, durable) if CONTROLLERS.contains(&id) => {
                // The script is drawn again from the seed's stream, so a restarted
                // controller gets another list: any list must be safe.
                let next = match durable {
                    Some(Durable::Controller(next)) => next,
                    _ => 0,
                };
                Node::Controller(Controller {
                    script: script(ctx),
                    next,
                    phase: Phase::Query,
                    seq: 0,
                    resend_at: ctx.now(),
                })
            }
            (id, _) => Node::Client(SimClient {
                id,
                core: Client::new(&format!("sim{id}"), Config::initial(SHARDS)),
                ops_left: 30,
                keys: KEYS.iter().map(|k| k.to_string()).collect(),
                seq: 0,
                in_flight: None,
                resend_at: 0,
                seen: HashMap::new(),
                history: Vec::new(),
            }),
        }
    }

    fn on_message(&mut self, from: NodeId, message: Msg, ctx: &mut Ctx<Msg>) {
        match (self, message) {
            (Node::Service(service), Msg::ToService { op, .. }) => {
                let reply = service.apply(&op);
                ctx.send(from, Msg::FromService { reply });
            }
            (Node::Group(group), Msg::ToGroup { seq, op }) => {
                let reply = group.apply(op);
                ctx.send(from, Msg::FromGroup { seq, reply });
            }
            (Node::Controller(c), Msg::FromService { reply, .. }) => c.on_service(reply, ctx),
            (Node::Controller(c), Msg::FromGroup { reply, .. }) => {
                if let Phase::Move(mover) = &mut c.phase {
                    // The next steps leave at the next resend.
                    mover.on_reply(from as u64, reply);
                }
            }
            (Node::Client(client), Msg::FromGroup { seq, reply }) => {
                client.on_group(seq, reply, ctx)
            }
            (Node::Client(client), Msg::FromService { reply, .. }) => {
                if let ServiceReply::Config { config, .. } = reply {
                    client.on_config(config, ctx);
                }
            }
            (node, message) => panic!("{node:?} cannot handle {message:?}"),
        }
    }

    fn on_tick(&mut self, ctx: &mut Ctx<Msg>) {
        match self {
            Node::Controller(c) if ctx.now() >= c.resend_at => c.send(ctx),
            Node::Client(client) => client.tick(ctx),
            _ => {}
        }
    }

    fn durable(&self) -> Durable {
        match self {
            Node::Service(s) => Durable::Service(s.clone()),
            Node::Group(g) => Durable::Group(g.clone()),
            Node::Controller(c) => Durable::Controller(c.next),
            Node::Client(_) => Durable::Client,
        }
    }
}
