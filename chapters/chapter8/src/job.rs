//! What a job is: its input, the pieces it is cut into, and the two functions a user writes.
//!
//! A job's user writes only [`Job::map`] and [`Job::reduce`]; everything else (cutting the
//! input, running the tasks on workers, moving the intermediate pairs, surviving failures)
//! is the system's. Both functions must be deterministic: the same input gives the same
//! output on every run and machine, which is what lets the coordinator run a task again,
//! or twice at once, and keep either result.

use serde::{Deserialize, Serialize};

/// One input file: its name and its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub name: String,
    pub text: String,
}

impl Input {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// One map task's input: bytes `start..end` of input file `file`, whole lines only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Index of the file in the job's inputs.
    pub file: usize,
    /// First byte of the split (the start of a line).
    pub start: usize,
    /// One past its last byte (just after a `\n`, or the end of the file).
    pub end: usize,
}

/// An intermediate pair, as a map emits it.
pub type Pair = (String, String);

/// A MapReduce job: the two functions its user writes.
pub trait Job: Sync {
    /// The job's name (`wordcount`, `index`, `grep`, `join`).
    fn name(&self) -> &'static str;
    /// Emits the intermediate pairs of one split: `file` is the input's name, `text` the
    /// split's lines.
    fn map(&self, file: &str, text: &str, emit: &mut dyn FnMut(String, String));
    /// Combines every value emitted for `key` into the key's output, or `None` for no
    /// output line. The values come in map order here, but a reduce must not depend on
    /// any order: another system (or a combiner) may hand them over in another.
    fn reduce(&self, key: &str, values: &[String]) -> Option<String>;
}
