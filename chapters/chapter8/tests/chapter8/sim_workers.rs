//! The simulator's workers: a worker's states, and what it does on a message and on a
//! tick (ask for work, run a map, fetch and run a reduce, report until answered).

use std::collections::BTreeMap;

use chapter8::{Assignment, AttemptId, Outcome, Pair, Report, TaskId, run_map, run_reduce};

use super::{ASK_AGAIN, FETCH_AGAIN, FETCH_TRIES, HEARTBEAT, Happening, World};
use crate::replicas::FromWorker;

pub(super) enum ToWorker {
    Assigned(Assignment),
    Verdict(AttemptId),

    Fetch {
        reply_to: String,
        map: usize,
        reduce: usize,
    },
    Fetched {
        map: usize,
        pairs: Option<Vec<Pair>>,
    },
}

pub(super) enum State {
    Idle {
        ask_at: u64,
    },
    Mapping {
        task: usize,
        attempt: AttemptId,
        done_at: u64,
    },
    Fetching {
        task: usize,
        attempt: AttemptId,
        sources: Vec<String>,
        got: BTreeMap<usize, Vec<Pair>>,
        /// A map whose worker answered that it does not have the output.
        gone: Option<usize>,
        tries: u32,
        send_at: u64,
    },
    Reducing {
        task: usize,
        attempt: AttemptId,
        done_at: u64,
        input: Vec<Vec<Pair>>,
    },
    Reporting {
        report: Report,
        send_at: u64,
    },
    Exited,
}

impl State {
    pub(super) fn describe(&self) -> String {
        match self {
            State::Idle { .. } => "idle, asking for work".into(),
            State::Mapping { task, attempt, .. } => format!("running map {task} #{attempt}"),
            State::Fetching { task, attempt, .. } => {
                format!("fetching map outputs for reduce {task} #{attempt}")
            }
            State::Reducing { task, attempt, .. } => format!("running reduce {task} #{attempt}"),
            State::Reporting { report, .. } => format!(
                "reporting {} #{}: {:?}",
                report.task, report.attempt, report.outcome
            ),
            State::Exited => "exited".into(),
        }
    }
}

pub(super) struct WorkerSim {
    pub(super) node: usize,
    pub(super) incarnation: u32,
    pub(super) alive: bool,
    pub(super) state: State,
    /// Finished maps' outputs, on this worker's disk (gone with a crash).
    pub(super) outputs: BTreeMap<usize, Vec<Vec<Pair>>>,
    pub(super) heartbeat_at: u64,
}

impl WorkerSim {
    pub(super) fn id(&self) -> String {
        format!("w{}.{}", self.node, self.incarnation)
    }
}

pub(super) fn node_of(worker: &str) -> Option<(usize, u32)> {
    let (node, incarnation) = worker.strip_prefix('w')?.split_once('.')?;
    Some((node.parse().ok()?, incarnation.parse().ok()?))
}

impl World<'_> {
    pub(super) fn at_worker(&mut self, node: usize, message: ToWorker) {
        let now = self.now;
        let slow = if self.setup.faults.straggler == Some(node) {
            10
        } else {
            1
        };
        let map_cost = self.setup.map_cost * slow;
        let w = &mut self.workers[node];
        match message {
            ToWorker::Assigned(assignment) => {
                if !matches!(w.state, State::Idle { .. }) {
                    return; // late or twice: it is busy, and will ask again when idle
                }
                w.heartbeat_at = now + HEARTBEAT;
                w.state = match assignment {
                    Assignment::Map { task, attempt } => State::Mapping {
                        task,
                        attempt,
                        done_at: now + map_cost,
                    },
                    Assignment::Reduce {
                        task,
                        attempt,
                        sources,
                    } => State::Fetching {
                        task,
                        attempt,
                        sources,
                        got: BTreeMap::new(),
                        gone: None,
                        tries: 0,
                        send_at: now,
                    },
                    Assignment::Wait => State::Idle {
                        ask_at: now + ASK_AGAIN,
                    },
                    Assignment::Exit => {
                        self.exited += 1;
                        State::Exited
                    }
                };
            }
            ToWorker::Verdict(attempt) => {
                if let State::Reporting { report, .. } = &w.state
                    && report.attempt == attempt
                {
                    w.state = State::Idle { ask_at: now };
                }
            }
            ToWorker::Fetch {
                reply_to,
                map,
                reduce,
            } => {
                let pairs = w.outputs.get(&map).and_then(|b| b.get(reduce).cloned());
                self.send_worker(&reply_to, || ToWorker::Fetched {
                    map,
                    pairs: pairs.clone(),
                });
            }
            ToWorker::Fetched { map, pairs } => {
                if let State::Fetching { got, gone, .. } = &mut w.state {
                    match pairs {
                        Some(pairs) => {
                            got.insert(map, pairs);
                        }
                        // It answered, without the output: it is not coming.
                        None => *gone = Some(map),
                    }
                }
            }
        }
    }

    pub(super) fn worker_tick(&mut self, node: usize) {
        let now = self.now;
        let slow = if self.setup.faults.straggler == Some(node) {
            10
        } else {
            1
        };
        let id = self.workers[node].id();
        if !matches!(self.workers[node].state, State::Idle { .. } | State::Exited)
            && now >= self.workers[node].heartbeat_at
        {
            self.workers[node].heartbeat_at = now + HEARTBEAT;
            let id = id.clone();
            self.send_coordinator(&id, FromWorker::Heartbeat);
        }
        let state = std::mem::replace(&mut self.workers[node].state, State::Exited);
        let next = match state {
            State::Idle { ask_at } if now >= ask_at => {
                let id = id.clone();
                self.send_coordinator(&id, FromWorker::Request);
                State::Idle {
                    ask_at: now + ASK_AGAIN,
                }
            }
            State::Mapping {
                task,
                attempt,
                done_at,
            } if now >= done_at => {
                let buckets = run_map(
                    self.setup.job.as_ref(),
                    &self.setup.inputs,
                    self.splits[task],
                    self.setup.reduces,
                );
                self.workers[node].outputs.insert(task, buckets);
                if let Some((n, count, down)) = self.setup.faults.crash_after_maps
                    && n == node
                    && self.workers[node].outputs.len() == count
                {
                    self.at(now + 1, Happening::Crash(node, down));
                }
                self.report(TaskId::map(task), attempt, Outcome::Finished)
            }
            State::Fetching {
                task,
                attempt,
                sources,
                got,
                gone,
                mut tries,
                mut send_at,
            } => {
                let missing: Vec<usize> = (0..sources.len())
                    .filter(|m| !got.contains_key(m))
                    .collect();
                // A map not done when the reduce was assigned has no source at all.
                let gone =
                    gone.or_else(|| missing.iter().copied().find(|&m| sources[m].is_empty()));
                if missing.is_empty() {
                    let input: Vec<Vec<Pair>> = got.into_values().collect();
                    State::Reducing {
                        task,
                        attempt,
                        done_at: now + self.setup.reduce_cost * slow,
                        input,
                    }
                } else if gone.is_some() || (tries >= FETCH_TRIES && now >= send_at) {
                    let map = gone.unwrap_or(missing[0]);
                    let at = sources[map].clone();
                    self.report(
                        TaskId::reduce(task),
                        attempt,
                        Outcome::OutputMissing { map, at },
                    )
                } else {
                    if now >= send_at {
                        for &map in &missing {
                            let reply_to = id.clone();
                            let source = sources[map].clone();
                            self.send_worker(&source, || ToWorker::Fetch {
                                reply_to: reply_to.clone(),
                                map,
                                reduce: task,
                            });
                        }
                        tries += 1;
                        send_at = now + FETCH_AGAIN;
                    }
                    State::Fetching {
                        task,
                        attempt,
                        sources,
                        got,
                        gone,
                        tries,
                        send_at,
                    }
                }
            }
            State::Reducing {
                task,
                attempt,
                done_at,
                input,
            } if now >= done_at => {
                // Written whole under the attempt's name before the report leaves.
                let output = run_reduce(self.setup.job.as_ref(), &input);
                self.store.insert((task, attempt), output);
                self.report(TaskId::reduce(task), attempt, Outcome::Finished)
            }
            State::Reporting { report, send_at } if now >= send_at => {
                self.send_coordinator(&id, FromWorker::Report(report.clone()));
                State::Reporting {
                    report,
                    send_at: now + ASK_AGAIN,
                }
            }
            other => other,
        };
        self.workers[node].state = next;
    }

    fn report(&mut self, task: TaskId, attempt: AttemptId, outcome: Outcome) -> State {
        State::Reporting {
            report: Report {
                task,
                attempt,
                outcome,
            },
            send_at: self.now,
        }
    }
}
