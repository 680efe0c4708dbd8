//! Recording what clients did: every call's invocation, return and outcome.
//!
//! A linearizability check needs, for every operation, when it was invoked, when it
//! returned (on one monotonic clock), and what it returned. The awkward case is the
//! call that never got an answer: a timeout or a dropped connection. The operation may
//! or may not have taken effect, so it is recorded as [`Outcome::Unknown`]: the checker
//! lets it take effect at any time after its invocation, or never.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// An operation on the key-value model, as the course's API has them: every write
/// gets a version that grows, a read returns the value *and* its version, and a
/// conditional write names the version it expects (`if_version`, `0`: absent).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KvOp {
    /// Read a key.
    Get { key: String },
    /// Write a key; with `if_version`, only if the key is at that version (0: absent).
    Put {
        key: String,
        value: String,
        if_version: Option<u64>,
    },
    /// Remove a key.
    Delete { key: String },
}

impl KvOp {
    /// The key the operation touches.
    pub fn key(&self) -> &str {
        match self {
            KvOp::Get { key } | KvOp::Put { key, .. } | KvOp::Delete { key } => key,
        }
    }
}

impl fmt::Display for KvOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvOp::Get { key } => write!(f, "get({key})"),
            KvOp::Put {
                key,
                value,
                if_version: None,
            } => write!(f, "put({key}, {value})"),
            KvOp::Put {
                key,
                value,
                if_version: Some(v),
            } => write!(f, "put({key}, {value}, if v{v})"),
            KvOp::Delete { key } => write!(f, "delete({key})"),
        }
    }
}

/// What a completed operation returned.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KvOutput {
    /// A get's answer: the value and its version (`None`: not found).
    Value(Option<(String, u64)>),
    /// A put took effect with this version.
    Written { version: u64 },
    /// A conditional put was refused: the key is at `current` (0: absent).
    Mismatch { current: u64 },
    /// A delete took effect with this version.
    Deleted { version: u64 },
    /// A delete found no key.
    NotFound,
}

impl KvOutput {
    /// The version the key is at just after this output (0: absent): what a client's
    /// next compare-and-set expects.
    pub fn version_after(&self) -> u64 {
        match self {
            KvOutput::Value(found) => found.as_ref().map_or(0, |(_, v)| *v),
            KvOutput::Written { version } => *version,
            KvOutput::Mismatch { current } => *current,
            KvOutput::Deleted { .. } | KvOutput::NotFound => 0,
        }
    }
}

impl fmt::Display for KvOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvOutput::Value(Some((value, version))) => write!(f, "{value}@v{version}"),
            KvOutput::Value(None) | KvOutput::NotFound => write!(f, "∅"),
            KvOutput::Written { version } | KvOutput::Deleted { version } => {
                write!(f, "ok@v{version}")
            }
            KvOutput::Mismatch { current } => write!(f, "mismatch (at v{current})"),
        }
    }
}

/// Something that happened to the system rather than a call of a client (a crash, a
/// partition, a configuration change), at `at` on the operations' clock. A violation's
/// timeline draws it across every lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When, on the clock of [`Operation::invoke`].
    pub at: u64,
    /// What, in a few words: `crash node 2`, `configuration 4`.
    pub what: String,
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// It returned this output.
    Ok(KvOutput),
    /// It definitely did not take effect (e.g. refused before anything was sent, or a
    /// `4xx`). Such calls are left out of the check.
    Failed,
    /// Nobody knows: a timeout, a dropped connection, a crash mid-call.
    Unknown,
}

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// Which client made it (clients are sequential: one call at a time each).
    pub client: usize,
    /// What it asked.
    pub op: KvOp,
    /// When it was invoked, in nanoseconds since the recorder started (a simulator
    /// converts its virtual milliseconds with [`from_virtual_ms`]).
    pub invoke: u64,
    /// When it returned; `None` for an unknown outcome.
    pub ret: Option<u64>,
    /// What it returned; `None` for an unknown outcome.
    pub output: Option<KvOutput>,
    /// It definitely did not take effect ([`Outcome::Failed`]): the checker skips it.
    pub failed: bool,
}

impl fmt::Display for Operation {
    /// `client  3  [12.000ms, 15.500ms]  put x=1 -> ok@v2`: times in milliseconds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |t: u64| format!("{:.3}ms", t as f64 / 1e6);
        let ret = self.ret.map_or("?".to_string(), ms);
        let output = self
            .output
            .as_ref()
            .map_or("unknown".to_string(), ToString::to_string);
        write!(
            f,
            "client {:>2}  [{}, {ret}]  {} -> {output}",
            self.client,
            ms(self.invoke),
            self.op
        )
    }
}

/// An [`Operation`]'s (and an [`Event`]'s) time from a simulator's clock, which counts
/// virtual milliseconds: the history's clock counts nanoseconds, so that checks,
/// failures and timelines read the same unit whoever recorded them.
pub fn from_virtual_ms(ms: u64) -> u64 {
    ms.saturating_mul(1_000_000)
}

/// Records calls from many clients on one monotonic clock. Cheap to clone.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use harness::history::{KvOp, KvOutput, Outcome, Recorder};
///
/// let recorder = Recorder::new();
/// let put = KvOp::Put { key: "k".into(), value: "v1".into(), if_version: None };
/// let call = recorder.invoke(0, put);
/// // ... send the request, await the answer ...
/// call.finish(Outcome::Ok(KvOutput::Written { version: 1 }));
/// let lost = recorder.invoke(1, KvOp::Get { key: "k".into() });
/// drop(lost); // never finished: recorded as unknown
/// assert_eq!(recorder.operations().len(), 2);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct Recorder {
    start: Instant,
    operations: Arc<Mutex<Vec<Operation>>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

/// A call in progress; finish it with its outcome. Dropping it unfinished leaves an
/// unknown outcome (the task was cancelled or timed out).
#[derive(Debug)]
pub struct Call {
    recorder: Recorder,
    index: usize,
}

impl Recorder {
    /// A recorder whose clock starts now.
    pub fn new() -> Self {
        Self::starting_at(Instant::now())
    }

    /// A recorder whose clock started at `start`: recorders that share a start share a
    /// clock, so their histories can be put side by side (the live cluster keeps one
    /// recorder per window of keys).
    pub fn starting_at(start: Instant) -> Self {
        Self {
            start,
            operations: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Records the invocation of `op` by `client`.
    pub fn invoke(&self, client: usize, op: KvOp) -> Call {
        let mut ops = self
            .operations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        ops.push(Operation {
            client,
            op,
            invoke: self.now(),
            ret: None,
            output: None,
            failed: false,
        });
        Call {
            recorder: self.clone(),
            index: ops.len() - 1,
        }
    }

    /// Every call recorded so far, failed ones included.
    pub fn operations(&self) -> Vec<Operation> {
        self.operations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Keeps this history for the book: with `KEEP_HISTORIES=<dir>` set, writes every
    /// call so far to `<dir>/<name>.json`, which `cargo xtask figures` draws as a
    /// timeline with the checker's verdict. Without the variable it does nothing, so a
    /// test can call it on every run.
    pub fn keep(&self, name: &str) -> std::io::Result<()> {
        keep(name, &self.operations())
    }
}

/// [`Recorder::keep`] for part of a history (one client's calls, say), timings intact.
pub fn keep(name: &str, operations: &[Operation]) -> std::io::Result<()> {
    match std::env::var_os(KEEP_HISTORIES) {
        Some(dir) => keep_in(std::path::Path::new(&dir), name, operations),
        None => Ok(()),
    }
}

/// Writes `operations` to `<dir>/<name>.json`.
fn keep_in(dir: &std::path::Path, name: &str, operations: &[Operation]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(operations).map_err(std::io::Error::other)?;
    std::fs::write(dir.join(format!("{name}.json")), json + "\n")
}

/// The variable that makes [`Recorder::keep`] write histories: the folder to write to.
pub const KEEP_HISTORIES: &str = "KEEP_HISTORIES";

impl Call {
    /// Records how the call ended.
    pub fn finish(self, outcome: Outcome) {
        let now = self.recorder.now();
        let mut ops = self
            .recorder
            .operations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(op) = ops.get_mut(self.index) else {
            return;
        };
        match outcome {
            Outcome::Ok(output) => {
                op.ret = Some(now);
                op.output = Some(output);
            }
            Outcome::Failed => op.failed = true,
            Outcome::Unknown => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_history_reads_back_as_it_was_recorded() {
        let recorder = Recorder::new();
        let call = recorder.invoke(3, KvOp::Get { key: "k".into() });
        call.finish(Outcome::Ok(KvOutput::Value(Some(("v".into(), 7)))));
        drop(recorder.invoke(4, KvOp::Delete { key: "k".into() })); // never answered
        let dir = tempfile::tempdir().expect("a temporary folder");
        keep_in(dir.path(), "h", &recorder.operations()).expect("written");
        let text = std::fs::read_to_string(dir.path().join("h.json")).expect("readable");
        let back: Vec<Operation> = serde_json::from_str(&text).expect("a history");
        assert_eq!(back, recorder.operations(), "timings and outcomes intact");
    }
}
