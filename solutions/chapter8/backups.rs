//! Backup attempts: near the end of a phase, a second copy of each remaining task.
//!
//! Exercise 8.5 lives here. A phase ends with its slowest task, and one slow machine (a
//! bad disk, a busy neighbour) can hold a whole job back. Dean and Ghemawat's answer
//! (MapReduce, OSDI 2004, section 3.6): when a phase is close to its end, start a backup
//! copy of each task still in progress on an idle worker; whichever copy finishes first
//! is the result (exercise 8.4 already makes sure only one is). The cost is a few more
//! attempts; the paper's sort took 44 % longer without them.

use crate::coordinator::{Assignment, Coordinator, Kind, Millis, TaskId, backup_window};

impl Coordinator {
    // ANCHOR: backup
    /// Called when the current phase has no idle task left for `worker`: starts a backup
    /// attempt on it, or returns `None`. Only once at most [`backup_window`] of the
    /// phase's tasks are left (not done); only for a task not done with exactly one
    /// attempt running, on another worker; the one that has run longest first (the
    /// lowest numbered of equals).
    pub fn backup(&mut self, worker: &str, now: Millis) -> Option<Assignment> {
        // EXERCISE 8.5: near a phase's end, back up the attempt that has run longest
        // HINT: The phase is the same one `assign` works on. Count the tasks left before anything else; then, among the tasks not done with one attempt running elsewhere, pick the smallest `(started, index)`. `self.start(task, worker, now, true)` marks it a backup.
        let (kind, tasks) = if self.maps_done < self.spec.maps {
            (Kind::Map, &self.maps)
        } else {
            (Kind::Reduce, &self.reduces)
        };
        let left = tasks.iter().filter(|t| t.done.is_none()).count();
        if left > backup_window(tasks.len()) {
            return None;
        }
        let (index, _) = tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.done.is_none() && t.running.len() == 1)
            .filter_map(|(i, t)| t.running.values().next().map(|a| (i, a)))
            .filter(|(_, a)| a.worker != worker)
            .min_by_key(|(i, a)| (a.started, *i))?;
        Some(self.start(TaskId { kind, index }, worker, now, true))
        // END EXERCISE 8.5
    }
    // ANCHOR_END: backup
}
