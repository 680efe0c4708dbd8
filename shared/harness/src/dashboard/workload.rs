//! The live cluster's workload: a few clients writing and reading, every call recorded,
//! checked for linearizability while the run goes on, and acknowledged writes counted
//! and looked for again.
//!
//! A history cannot be checked while calls on its keys are still running, and checking
//! one that grows for ever gets slower for ever. So time is cut into windows of
//! [`WINDOW`], and each window has keys of its own (`w7-k0`, `w7-k1`, ...): once a window
//! is over and its last call has returned, nothing can touch its keys again. Its history
//! is then complete. The checker reads each of its keys once more (through the leader, as
//! any client would) and checks the window with the harness's checker. The final read
//! also finds **lost writes**: versions only grow, so an acknowledged write whose version
//! is above what the final read sees was lost.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::{Exec, Shared};
use crate::history::{KvOp, KvOutput, Operation, Outcome, Recorder};
use crate::linearizability::{Verdict, check};

/// How long each window of keys is written.
pub const WINDOW: Duration = Duration::from_secs(4);

/// Keys per window.
const KEYS: usize = 3;

/// Each client's pause between two calls: a small workload, so the page stays legible.
const THINK: Duration = Duration::from_millis(25);

/// How long the checker may spend on one window.
const BUDGET: Duration = Duration::from_secs(2);

/// The workload on the page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkloadView {
    /// The clients are paused.
    pub paused: bool,
    /// Concurrent clients.
    pub clients: usize,
    /// The last 60 seconds, oldest first.
    pub seconds: Vec<SecondView>,
    /// Writes the cluster acknowledged.
    pub acknowledged_writes: u64,
    /// Acknowledged writes a later read did not find: must stay 0.
    pub lost_writes: u64,
    /// Windows checked so far.
    pub checked_windows: u64,
    /// Calls in them.
    pub checked_operations: u64,
    /// Windows over but not checked yet (calls still running, or no leader to read from).
    pub pending_windows: usize,
    /// Windows the checker could not decide within its budget.
    pub undecided_windows: u64,
    /// `waiting` (nothing checked yet), `linearizable` or `not linearizable`.
    pub verdict: String,
    /// The first violation, if any (its timeline is at `/timeline`).
    pub violation: Option<ViolationView>,
    /// Why the clients stopped, if they did (a client that panicked: an unfinished
    /// exercise, say).
    pub fault: Option<String>,
}

/// One second of the workload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecondView {
    /// Calls that returned an answer.
    pub ok: u64,
    /// Calls that failed or whose outcome is unknown.
    pub errors: u64,
    /// Median latency of the answered calls, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile, in milliseconds.
    pub p99_ms: f64,
}

/// A key whose history has no linearization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationView {
    /// Its window.
    pub window: u64,
    /// The key.
    pub key: String,
    /// Calls on it.
    pub operations: usize,
}

#[derive(Debug)]
struct Window {
    recorder: Recorder,
    in_flight: usize,
    checking: bool,
}

#[derive(Debug, Default)]
struct Second {
    index: u64,
    ok: u64,
    errors: u64,
    latencies_us: Vec<u64>,
}

#[derive(Debug, Default)]
struct Totals {
    acknowledged: u64,
    lost: u64,
    checked_windows: u64,
    checked_operations: u64,
    undecided: u64,
    violation: Option<ViolationView>,
    timeline: Option<String>,
}

/// The clients, the windows and the checker's results.
pub struct Workload {
    exec: Exec,
    clients: usize,
    seed: u64,
    started: Instant,
    paused: AtomicBool,
    resume: Notify,
    stopped: AtomicBool,
    windows: Mutex<BTreeMap<u64, Window>>,
    seconds: Mutex<VecDeque<Second>>,
    totals: Mutex<Totals>,
    history: Mutex<VecDeque<Operation>>,
    fault: Mutex<Option<String>>,
}

impl std::fmt::Debug for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workload")
            .field("clients", &self.clients)
            .finish()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Workload {
    /// `clients` clients running through `exec` (client `clients` is the checker's).
    pub fn new(exec: Exec, clients: usize, seed: u64) -> Self {
        Self {
            exec,
            clients,
            seed,
            started: Instant::now(),
            paused: AtomicBool::new(false),
            resume: Notify::new(),
            stopped: AtomicBool::new(false),
            windows: Mutex::new(BTreeMap::new()),
            seconds: Mutex::new(VecDeque::new()),
            totals: Mutex::new(Totals::default()),
            history: Mutex::new(VecDeque::new()),
            fault: Mutex::new(None),
        }
    }

    /// Starts the clients and the checker.
    pub(super) fn spawn(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks: Vec<_> = (0..self.clients)
            .map(|c| tokio::spawn(Arc::clone(self).client(c)))
            .collect();
        tasks.push(tokio::spawn(Arc::clone(self).checker(Arc::clone(shared))));
        tasks
    }

    /// Pauses (`true`) or resumes the clients. Returns whether that changed anything.
    pub fn set_paused(&self, paused: bool) -> bool {
        let changed = self.paused.swap(paused, Ordering::SeqCst) != paused;
        if !paused {
            self.resume.notify_waiters();
        }
        changed
    }

    /// Stops the clients for good.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.resume.notify_waiters();
    }

    /// Runs one call on its own task, so that a client that panics (an unfinished
    /// exercise) stops the workload with its message instead of killing a task silently.
    async fn call(&self, c: usize, op: KvOp) -> Result<Outcome, String> {
        match tokio::spawn((self.exec)(c, op)).await {
            Ok(outcome) => Ok(outcome),
            Err(join) => {
                let message = if join.is_panic() {
                    let message = plumbing::unfinished::payload_message(join.into_panic().as_ref());
                    message
                        .trim_start_matches("not yet implemented: ")
                        .to_string()
                } else {
                    join.to_string()
                };
                lock(&self.fault).get_or_insert_with(|| format!("the clients stopped: {message}"));
                self.stop();
                Err(message)
            }
        }
    }

    fn window_now(&self) -> u64 {
        (self.started.elapsed().as_millis() / WINDOW.as_millis()) as u64
    }

    async fn client(self: Arc<Self>, c: usize) {
        let mut rng = fastrand::Rng::with_seed(self.seed ^ ((c as u64 + 1) << 20));
        for n in 0.. {
            if self.stopped.load(Ordering::SeqCst) {
                return;
            }
            let resumed = self.resume.notified();
            if self.paused.load(Ordering::SeqCst) {
                resumed.await;
                continue;
            }
            let (window, recorder) = {
                let mut windows = lock(&self.windows);
                let index = self.window_now();
                let window = windows.entry(index).or_insert_with(|| Window {
                    recorder: Recorder::starting_at(self.started),
                    in_flight: 0,
                    checking: false,
                });
                window.in_flight += 1;
                (index, window.recorder.clone())
            };
            let key = format!("w{window}-k{}", rng.usize(..KEYS));
            let op = if rng.f64() < 0.6 {
                KvOp::Put {
                    key,
                    value: format!("c{c}-{n}"),
                    if_version: None,
                }
            } else {
                KvOp::Get { key }
            };
            let call = recorder.invoke(c, op.clone());
            let began = Instant::now();
            let Ok(outcome) = self.call(c, op).await else {
                return; // the workload stopped; `fault` says why
            };
            call.finish(outcome.clone());
            self.count(began.elapsed(), &outcome);
            if let Some(w) = lock(&self.windows).get_mut(&window) {
                w.in_flight -= 1;
            }
            tokio::time::sleep(THINK).await;
        }
    }

    fn count(&self, latency: Duration, outcome: &Outcome) {
        let index = self.started.elapsed().as_secs();
        let mut seconds = lock(&self.seconds);
        if seconds.back().is_none_or(|s| s.index != index) {
            seconds.push_back(Second {
                index,
                ..Second::default()
            });
            while seconds.front().is_some_and(|s| s.index + 60 <= index) {
                seconds.pop_front();
            }
        }
        let Some(second) = seconds.back_mut() else {
            return;
        };
        match outcome {
            Outcome::Ok(output) => {
                second.ok += 1;
                second.latencies_us.push(latency.as_micros() as u64);
                if matches!(output, KvOutput::Written { .. }) {
                    lock(&self.totals).acknowledged += 1;
                }
            }
            Outcome::Failed | Outcome::Unknown => second.errors += 1,
        }
    }

    /// Every half second: checks each window that is over and quiet.
    async fn checker(self: Arc<Self>, shared: Arc<Shared>) {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if self.stopped.load(Ordering::SeqCst) {
                return; // a client failed: its exec would fail the final reads too
            }
            let ready: Vec<(u64, Recorder)> = {
                let mut windows = lock(&self.windows);
                let now = self.window_now();
                windows
                    .iter_mut()
                    .filter(|(index, w)| **index < now && w.in_flight == 0 && !w.checking)
                    .map(|(index, w)| {
                        w.checking = true;
                        (*index, w.recorder.clone())
                    })
                    .collect()
            };
            for (index, recorder) in ready {
                let done = self.check_window(&shared, index, &recorder).await;
                let mut windows = lock(&self.windows);
                if done {
                    windows.remove(&index);
                } else if let Some(w) = windows.get_mut(&index) {
                    w.checking = false; // no leader to read from yet: try again later
                }
            }
        }
    }

    /// Reads each key of the window once more, then checks its history. Returns `false`
    /// if a final read got no answer (the window is checked later).
    async fn check_window(&self, shared: &Shared, index: u64, recorder: &Recorder) -> bool {
        let keys: BTreeSet<String> = recorder
            .operations()
            .iter()
            .map(|o| o.op.key().to_string())
            .collect();
        let mut finals = BTreeMap::new();
        for key in keys {
            let op = KvOp::Get { key: key.clone() };
            let call = recorder.invoke(self.clients, op.clone());
            let Ok(outcome) = self.call(self.clients, op).await else {
                return false;
            };
            call.finish(outcome.clone());
            match outcome {
                Outcome::Ok(KvOutput::Value(found)) => {
                    finals.insert(key, found.map_or(0, |(_, version)| version));
                }
                _ => return false,
            }
        }
        let operations = recorder.operations();
        let lost = lost_writes(&operations, &finals);
        let history = operations.clone();
        let verdict = tokio::task::spawn_blocking(move || check(&history, BUDGET))
            .await
            .unwrap_or(Verdict::Inconclusive {
                key: String::new(),
                operations: 0,
                budget: BUDGET,
            });
        let mut totals = lock(&self.totals);
        totals.lost += lost;
        if lost > 0 {
            shared.event(
                "lost-write",
                format!("window {index}: {lost} acknowledged write(s) not found by a later read"),
            );
        }
        match verdict {
            Verdict::Linearizable => {
                totals.checked_windows += 1;
                totals.checked_operations += operations.len() as u64;
            }
            Verdict::Violation {
                key,
                operations: ops,
                ..
            } => {
                totals.checked_windows += 1;
                totals.checked_operations += operations.len() as u64;
                shared.event(
                    "violation",
                    format!("window {index}: the history of {key} is not linearizable"),
                );
                if totals.violation.is_none() {
                    totals.timeline = Some(crate::timeline::render(&key, &ops, &[]));
                    totals.violation = Some(ViolationView {
                        window: index,
                        key,
                        operations: ops.len(),
                    });
                }
            }
            Verdict::Inconclusive { .. } => totals.undecided += 1,
        }
        drop(totals);
        let mut history = lock(&self.history);
        history.extend(operations);
        let excess = history
            .len()
            .saturating_sub(super::recording::MAX_OPERATIONS);
        history.drain(..excess);
        true
    }

    /// The workload's numbers now.
    pub fn view(&self) -> WorkloadView {
        let seconds = lock(&self.seconds)
            .iter()
            .map(|s| {
                let mut latencies = s.latencies_us.clone();
                latencies.sort_unstable();
                let at = |q: f64| {
                    latencies
                        .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
                        .map_or(0.0, |&us| us as f64 / 1000.0)
                };
                SecondView {
                    ok: s.ok,
                    errors: s.errors,
                    p50_ms: at(0.5),
                    p99_ms: at(0.99),
                }
            })
            .collect();
        let pending = {
            let now = self.window_now();
            lock(&self.windows).keys().filter(|&&i| i < now).count()
        };
        let totals = lock(&self.totals);
        let verdict = if totals.violation.is_some() {
            "not linearizable"
        } else if totals.checked_windows > 0 {
            "linearizable"
        } else {
            "waiting"
        };
        WorkloadView {
            paused: self.paused.load(Ordering::SeqCst),
            clients: self.clients,
            seconds,
            acknowledged_writes: totals.acknowledged,
            lost_writes: totals.lost,
            checked_windows: totals.checked_windows,
            checked_operations: totals.checked_operations,
            pending_windows: pending,
            undecided_windows: totals.undecided,
            verdict: verdict.into(),
            violation: totals.violation.clone(),
            fault: lock(&self.fault).clone(),
        }
    }

    /// The timeline page of the first violation.
    pub fn timeline(&self) -> Option<String> {
        lock(&self.totals).timeline.clone()
    }

    /// The calls of the checked windows (the latest ones) and of the windows still open.
    pub fn history(&self) -> Vec<Operation> {
        let mut all: Vec<Operation> = lock(&self.history).iter().cloned().collect();
        for window in lock(&self.windows).values() {
            all.extend(window.recorder.operations());
        }
        all.sort_by_key(|o| o.invoke);
        all
    }
}

/// Acknowledged writes whose version is above the version the final read of their key
/// saw: versions only grow, so those writes were lost.
fn lost_writes(operations: &[Operation], finals: &BTreeMap<String, u64>) -> u64 {
    operations
        .iter()
        .filter(|o| match (&o.output, finals.get(o.op.key())) {
            (Some(KvOutput::Written { version }), Some(&seen)) => *version > seen,
            _ => false,
        })
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(key: &str, version: u64) -> Operation {
        Operation {
            client: 0,
            op: KvOp::Put {
                key: key.into(),
                value: "v".into(),
                if_version: None,
            },
            invoke: 0,
            ret: Some(1),
            output: Some(KvOutput::Written { version }),
            failed: false,
        }
    }

    #[test]
    fn a_write_above_the_final_read_is_lost() {
        let ops = [write("a", 1), write("a", 2), write("a", 3), write("b", 1)];
        let finals = BTreeMap::from([("a".to_string(), 2), ("b".to_string(), 1)]);
        assert_eq!(lost_writes(&ops, &finals), 1);
        let all_seen = BTreeMap::from([("a".to_string(), 3), ("b".to_string(), 1)]);
        assert_eq!(lost_writes(&ops, &all_seen), 0);
    }
}
