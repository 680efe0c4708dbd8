// This file is yours to edit: replace each `todo!()` with your code, then run the
// chapter's tests. It was generated from solutions/chapter8/reports.rs by `cargo xtask exercises`;
// running that again overwrites your work, so do it only to start over.
//! A worker's report: is it about an attempt that still counts, and which result wins.
//!
//! Exercises 8.3 and 8.4 live here. Reports arrive late, twice, and from attempts the
//! coordinator has given up on; a task may finish twice (a backup, or a worker thought
//! lost that was only slow). The task's result must still be exactly one attempt's.

// The stubs leave some parameters, imports and helpers unused until you write the code;
// delete this line once every exercise in the file is done.
#![allow(unused_variables, unused_imports, dead_code)]

use crate::coordinator::{AttemptId, Coordinator, Millis, Report, TaskId, Verdict, Why};

impl Coordinator {
    // ANCHOR: is_live
    /// Whether `report` is about an attempt still running, of the task it names, on the
    /// worker that sends it.
    /// A report about anything else (an attempt that ended, another worker's, a task the
    /// job does not have) must change nothing.
    pub fn is_live(&self, worker: &str, report: &Report) -> bool {
        // EXERCISE 8.3: fence reports: only a running attempt's own worker may report it
        // HINT: Attempt numbers are never reused, so "is this attempt still in the task's `running`, on this worker?" says it all. The task number comes from the network: a task the job does not have is a `false`, not a panic (`self.task` returns an `Option`).
        todo!(
            "exercise 8.3 is not implemented yet: edit exercises/chapter8/reports.rs: fence reports: only a running attempt's own worker may report it (book: chapter 8, exercise 3)"
        )
    }
    // ANCHOR_END: is_live

    // ANCHOR: commit
    /// `attempt` of `task`, still running, finished. The first attempt to finish is the
    /// task's result ([`Verdict::Committed`]); one that finishes after it is thrown away
    /// ([`Verdict::Discarded`]) and changes nothing else.
    pub(crate) fn commit(&mut self, task: TaskId, attempt: AttemptId, now: Millis) -> Verdict {
        // EXERCISE 8.4: commit a task's result once: the first attempt to finish wins
        // HINT: Two attempts of one task can both finish (a backup, or a worker thought slow). Which one's output is the task's, and what happens to the count of tasks done if both are marked done? `self.mark_done` and `self.end(..., Why::Discarded, ...)` are the two ways out.
        todo!(
            "exercise 8.4 is not implemented yet: edit exercises/chapter8/reports.rs: commit a task's result once: the first attempt to finish wins (book: chapter 8, exercise 4)"
        )
    }
    // ANCHOR_END: commit
}
