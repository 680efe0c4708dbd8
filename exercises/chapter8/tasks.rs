// This file is yours to edit: replace each `todo!()` with your code, then run the
// chapter's tests. It was generated from solutions/chapter8/tasks.rs by `cargo xtask exercises`;
// running that again overwrites your work, so do it only to start over.
//! Handing out tasks, and what a lost worker takes with it.
//!
//! Exercise 8.2 lives here. A task is idle (nothing running, not done), in progress (one
//! attempt running, or two with a backup) or done. The map phase comes first: a reduce
//! needs every map's output, so none starts before the last map is done.

// The stubs leave some parameters, imports and helpers unused until you write the code;
// delete this line once every exercise in the file is done.
#![allow(unused_variables, unused_imports, dead_code)]

use crate::coordinator::{Assignment, Coordinator, Kind, Millis, TaskId, Why};

impl Coordinator {
    // ANCHOR: assign
    /// Starts an attempt of an idle task of the current phase on `worker` (the lowest
    /// numbered idle task), or `None` if the phase has no idle task.
    pub fn assign(&mut self, worker: &str, now: Millis) -> Option<Assignment> {
        // EXERCISE 8.2: tasks phase by phase, and a lost worker: hand out the first idle task
        // HINT: The phase is the map phase until `maps_done` reaches the number of maps, even when every map is already running. `Task::is_idle` and `self.start(...)` do the rest.
        todo!(
            "exercise 8.2 is not implemented yet: edit exercises/chapter8/tasks.rs: tasks phase by phase, and a lost worker: hand out the first idle task (book: chapter 8, exercise 2)"
        )
    }
    // ANCHOR_END: assign

    // ANCHOR: worker_lost
    /// `worker` was lost: its running attempts end, and its finished maps' outputs,
    /// which lived on its disk only, are lost too, while a reduce still needs them.
    pub(crate) fn worker_lost(&mut self, worker: &str, now: Millis) {
        // EXERCISE 8.2: tasks phase by phase, and a lost worker: its attempts end, its finished maps' outputs are lost
        // HINT: Two kinds of task go back: those it was running (`self.end(..., Why::WorkerLost, ...)`), and the maps it had finished, whose output was on its disk (`self.lose_output`). A finished reduce's output is in the job's store: it stays done. Once every reduce is done, nothing needs the maps any more.
        todo!(
            "exercise 8.2 is not implemented yet: edit exercises/chapter8/tasks.rs: tasks phase by phase, and a lost worker: its attempts end, its finished maps' outputs are lost (book: chapter 8, exercise 2)"
        )
    }
    // ANCHOR_END: worker_lost
}
