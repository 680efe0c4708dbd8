//! The coordinator: a sans-IO state machine of tasks, attempts, workers and commits.
//!
//! Every input is a call that carries the time (`now`, in milliseconds): a worker asks
//! for work ([`Coordinator::request`]), says it is still busy
//! ([`Coordinator::heartbeat`]), reports an attempt's end ([`Coordinator::report`]), or
//! time passes ([`Coordinator::tick`]). The machine does no I/O and reads no clock, so
//! the same calls in the same order always leave it in the same state: it can be the
//! state machine of a replicated log, and a coordinator's failover loses nothing that
//! was answered.
//!
//! This file holds the data and the plumbing; the rules are the exercises:
//! [`tasks`](crate::tasks) (8.2: handing out tasks, a lost worker),
//! [`reports`](crate::reports) (8.3: fencing reports, 8.4: committing a result once) and
//! [`backups`](crate::backups) (8.5: backup attempts near a phase's end).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A worker, named by itself; a restarted worker process takes a new name.
pub type WorkerId = String;
/// One attempt at one task, numbered across the whole job: a number is never reused.
pub type AttemptId = u64;
/// Milliseconds, on the clock of whoever drives the machine.
pub type Millis = u64;

/// A task is a map or a reduce, and its number among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    Map,
    Reduce,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TaskId {
    pub kind: Kind,
    pub index: usize,
}

impl TaskId {
    pub fn map(index: usize) -> Self {
        Self {
            kind: Kind::Map,
            index,
        }
    }
    pub fn reduce(index: usize) -> Self {
        Self {
            kind: Kind::Reduce,
            index,
        }
    }
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            Kind::Map => write!(f, "map {}", self.index),
            Kind::Reduce => write!(f, "reduce {}", self.index),
        }
    }
}

/// How many of a phase's `tasks` may be left (not done) before backups start: a fifth,
/// rounded up (so at least the last task of a phase gets one).
pub fn backup_window(tasks: usize) -> usize {
    tasks.div_ceil(5)
}

/// A job's shape and the coordinator's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spec {
    /// M: how many map tasks (the input's splits).
    pub maps: usize,
    /// R: how many reduce tasks (and output files).
    pub reduces: usize,
    /// A worker not heard from for longer than this is lost.
    pub worker_timeout: Millis,
    /// Run backup attempts near the end of a phase (exercise 8.5).
    pub backups: bool,
}

/// One attempt that is running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub worker: WorkerId,
    pub started: Millis,
    /// A backup copy of an attempt already running (exercise 8.5).
    pub backup: bool,
}

/// The attempt whose result is the task's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub attempt: AttemptId,
    /// Where its output is: a map's lives on this worker's disk only.
    pub worker: WorkerId,
}

/// One task: idle (nothing running, not done), in progress (attempts running) or done.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub running: BTreeMap<AttemptId, Attempt>,
    pub done: Option<Done>,
}

impl Task {
    pub fn is_idle(&self) -> bool {
        self.running.is_empty() && self.done.is_none()
    }
}

/// What the coordinator knows of a worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worker {
    pub last_heard: Millis,
    /// False once the worker was declared lost; a lost worker that speaks again is
    /// taken back, with nothing of its own (its attempts and map outputs went with it).
    pub alive: bool,
}

/// The answer to a worker that asks for work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Assignment {
    /// Run map `task` on split `task` of the input.
    Map { task: usize, attempt: AttemptId },
    /// Run reduce `task`: map `m`'s output for it is on worker `sources[m]` (an empty
    /// name if map `m` is not done: its output was lost since the reduce was assigned, and
    /// the reduce can only report it missing).
    Reduce {
        task: usize,
        attempt: AttemptId,
        sources: Vec<WorkerId>,
    },
    /// Nothing to do yet: ask again a little later.
    Wait,
    /// The job is done: exit.
    Exit,
}

/// How an attempt ended, as its worker reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// It ran to the end; its output is written (a map's on the worker, a reduce's in the
    /// job's store under the attempt's name).
    Finished,
    /// A reduce could not fetch map `map`'s output from worker `at`.
    OutputMissing { map: usize, at: WorkerId },
}

/// A worker's report on one attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub task: TaskId,
    pub attempt: AttemptId,
    pub outcome: Outcome,
}

/// What the coordinator makes of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// This attempt's result is the task's: the one and only.
    Committed,
    /// Another attempt's result was committed first: throw this one away.
    Discarded,
    /// The attempt is no longer running (reassigned, superseded, never known): nothing
    /// changed.
    Stale,
    /// Taken into account (an attempt that could not fetch its input).
    Noted,
}

/// Why an attempt stopped running without being committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Why {
    /// Its worker was lost.
    WorkerLost,
    /// It finished after another attempt was committed.
    Discarded,
    /// It could not fetch a map's output.
    InputMissing,
}

/// What happened, in order: the job's timeline, for tests, failures and `GET /job`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    Started {
        at: Millis,
        task: TaskId,
        attempt: AttemptId,
        worker: WorkerId,
        backup: bool,
    },
    Committed {
        at: Millis,
        task: TaskId,
        attempt: AttemptId,
    },
    Ended {
        at: Millis,
        task: TaskId,
        attempt: AttemptId,
        why: Why,
    },
    /// A finished map's output was lost with its worker: the map is idle again.
    OutputLost {
        at: Millis,
        map: usize,
        worker: WorkerId,
    },
    WorkerLost {
        at: Millis,
        worker: WorkerId,
    },
}

/// The coordinator's whole state. Everything in it is what a replicated log would hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coordinator {
    pub(crate) spec: Spec,
    pub(crate) maps: Vec<Task>,
    pub(crate) reduces: Vec<Task>,
    pub(crate) workers: BTreeMap<WorkerId, Worker>,
    pub(crate) next_attempt: AttemptId,
    /// Tasks done, by kind: the map phase ends when every map is done.
    pub(crate) maps_done: usize,
    pub(crate) reduces_done: usize,
    pub(crate) events: Vec<Event>,
}

// ANCHOR: driver
impl Coordinator {
    pub fn new(spec: Spec) -> Self {
        Self {
            spec,
            maps: vec![Task::default(); spec.maps],
            reduces: vec![Task::default(); spec.reduces],
            workers: BTreeMap::new(),
            next_attempt: 1,
            maps_done: 0,
            reduces_done: 0,
            events: Vec::new(),
        }
    }

    /// A worker asks for work.
    pub fn request(&mut self, worker: &str, now: Millis) -> Assignment {
        self.heard(worker, now);
        // It asks again for what it already has: the first answer was lost.
        if let Some((task, attempt)) = self.running_on(worker) {
            return self.assignment(task, attempt);
        }
        if self.is_done() {
            return Assignment::Exit;
        }
        if let Some(assignment) = self.assign(worker, now) {
            return assignment;
        }
        if self.spec.backups
            && let Some(assignment) = self.backup(worker, now)
        {
            return assignment;
        }
        Assignment::Wait
    }

    /// A worker says it is alive (it does so while it runs an attempt).
    pub fn heartbeat(&mut self, worker: &str, now: Millis) {
        self.heard(worker, now);
    }

    /// A worker reports how an attempt ended.
    pub fn report(&mut self, worker: &str, now: Millis, report: &Report) -> Verdict {
        self.heard(worker, now);
        // The winner saying it again (its first answer was lost): the same answer.
        if let Some(task) = self.task(report.task)
            && task
                .done
                .as_ref()
                .is_some_and(|d| d.attempt == report.attempt)
        {
            return Verdict::Committed;
        }
        if !self.is_live(worker, report) {
            return Verdict::Stale;
        }
        match &report.outcome {
            Outcome::Finished => self.commit(report.task, report.attempt, now),
            Outcome::OutputMissing { map, at } => {
                self.end(report.task, report.attempt, Why::InputMissing, now);
                // The map's output is gone with its worker, or the worker is: either
                // way, what it held must be made again.
                if self
                    .maps
                    .get(*map)
                    .and_then(|m| m.done.as_ref())
                    .is_some_and(|d| &d.worker == at)
                {
                    self.lose_worker(at, now);
                }
                Verdict::Noted
            }
        }
    }

    /// Time passed: every worker silent for longer than the timeout is lost.
    pub fn tick(&mut self, now: Millis) {
        let silent: Vec<WorkerId> = self
            .workers
            .iter()
            .filter(|(_, w)| w.alive && now.saturating_sub(w.last_heard) > self.spec.worker_timeout)
            .map(|(id, _)| id.clone())
            .collect();
        for worker in silent {
            self.lose_worker(&worker, now);
        }
    }

    /// A new leader drives the machine from now on: every worker gets a whole timeout
    /// from now, since nobody could hear from them while there was no leader.
    pub fn took_over(&mut self, now: Millis) {
        for worker in self.workers.values_mut() {
            worker.last_heard = worker.last_heard.max(now);
        }
    }
}
// ANCHOR_END: driver

/// Queries, and the helpers the exercises use (they keep the timeline).
impl Coordinator {
    pub fn spec(&self) -> Spec {
        self.spec
    }
    /// Every reduce task is done: the job's output is complete.
    pub fn is_done(&self) -> bool {
        self.reduces_done == self.spec.reduces
    }
    pub fn maps_done(&self) -> usize {
        self.maps_done
    }
    pub fn reduces_done(&self) -> usize {
        self.reduces_done
    }
    pub fn events(&self) -> &[Event] {
        &self.events
    }
    pub fn worker(&self, id: &str) -> Option<&Worker> {
        self.workers.get(id)
    }
    /// The task `id`, if the job has it.
    pub fn task(&self, id: TaskId) -> Option<&Task> {
        match id.kind {
            Kind::Map => self.maps.get(id.index),
            Kind::Reduce => self.reduces.get(id.index),
        }
    }
    pub(crate) fn task_mut(&mut self, id: TaskId) -> &mut Task {
        match id.kind {
            Kind::Map => &mut self.maps[id.index],
            Kind::Reduce => &mut self.reduces[id.index],
        }
    }
    /// The attempt running on `worker`, if any (a worker runs one at a time).
    pub fn running_on(&self, worker: &str) -> Option<(TaskId, AttemptId)> {
        let maps = self
            .maps
            .iter()
            .enumerate()
            .map(|(i, t)| (TaskId::map(i), t));
        let reduces = self
            .reduces
            .iter()
            .enumerate()
            .map(|(i, t)| (TaskId::reduce(i), t));
        maps.chain(reduces).find_map(|(id, task)| {
            task.running
                .iter()
                .find(|(_, a)| a.worker == worker)
                .map(|(&attempt, _)| (id, attempt))
        })
    }

    /// Records that `worker` spoke at `now`; a lost worker that speaks is taken back.
    fn heard(&mut self, worker: &str, now: Millis) {
        let entry = self.workers.entry(worker.to_string()).or_insert(Worker {
            last_heard: now,
            alive: true,
        });
        entry.last_heard = entry.last_heard.max(now);
        entry.alive = true;
    }

    /// Declares `worker` lost (once) and applies exercise 8.2's rule to what it held.
    fn lose_worker(&mut self, worker: &str, now: Millis) {
        if let Some(w) = self.workers.get_mut(worker)
            && w.alive
        {
            w.alive = false;
            self.events.push(Event::WorkerLost {
                at: now,
                worker: worker.to_string(),
            });
            self.worker_lost(worker, now);
        }
    }

    /// What a worker is told to run for `attempt` of `task`.
    pub fn assignment(&self, task: TaskId, attempt: AttemptId) -> Assignment {
        match task.kind {
            Kind::Map => Assignment::Map {
                task: task.index,
                attempt,
            },
            Kind::Reduce => Assignment::Reduce {
                task: task.index,
                attempt,
                sources: self
                    .maps
                    .iter()
                    .map(|m| {
                        m.done
                            .as_ref()
                            .map_or_else(String::new, |d| d.worker.clone())
                    })
                    .collect(),
            },
        }
    }

    /// Starts a new attempt of `task` on `worker` and says what to tell the worker.
    pub fn start(&mut self, task: TaskId, worker: &str, now: Millis, backup: bool) -> Assignment {
        let attempt = self.next_attempt;
        self.next_attempt += 1;
        self.task_mut(task).running.insert(
            attempt,
            Attempt {
                worker: worker.to_string(),
                started: now,
                backup,
            },
        );
        self.events.push(Event::Started {
            at: now,
            task,
            attempt,
            worker: worker.to_string(),
            backup,
        });
        self.assignment(task, attempt)
    }

    /// Stops a running attempt that will not be committed.
    pub fn end(&mut self, task: TaskId, attempt: AttemptId, why: Why, now: Millis) {
        if self.task_mut(task).running.remove(&attempt).is_some() {
            self.events.push(Event::Ended {
                at: now,
                task,
                attempt,
                why,
            });
        }
    }

    /// Makes `attempt` (running on `worker`) the task's result, and counts it done.
    pub fn mark_done(&mut self, task: TaskId, attempt: AttemptId, worker: &str, now: Millis) {
        let t = self.task_mut(task);
        t.running.remove(&attempt);
        t.done = Some(Done {
            attempt,
            worker: worker.to_string(),
        });
        match task.kind {
            Kind::Map => self.maps_done += 1,
            Kind::Reduce => self.reduces_done += 1,
        }
        self.events.push(Event::Committed {
            at: now,
            task,
            attempt,
        });
    }

    /// Forgets map `map`'s finished output (it was on a lost worker): the map is idle
    /// again, and the map phase is not over until it is done again.
    pub fn lose_output(&mut self, map: usize, now: Millis) {
        if let Some(done) = self.maps[map].done.take() {
            self.maps_done -= 1;
            self.events.push(Event::OutputLost {
                at: now,
                map,
                worker: done.worker,
            });
        }
    }
}
