//! Handing out tasks, and what a lost worker takes with it.
//!
//! Exercise 8.2 lives here. A task is idle (nothing running, not done), in progress (one
//! attempt running, or two with a backup) or done. The map phase comes first: a reduce
//! needs every map's output, so none starts before the last map is done.

use crate::coordinator::{Assignment, Coordinator, Kind, Millis, TaskId, Why};

impl Coordinator {
    // ANCHOR: assign
    /// Starts an attempt of an idle task of the current phase on `worker` (the lowest
    /// numbered idle task), or `None` if the phase has no idle task.
    pub fn assign(&mut self, worker: &str, now: Millis) -> Option<Assignment> {
        // EXERCISE 8.2: tasks phase by phase, and a lost worker: hand out the first idle task
        // HINT: The phase is the map phase until `maps_done` reaches the number of maps, even when every map is already running. `Task::is_idle` and `self.start(...)` do the rest.
        let (kind, tasks) = if self.maps_done < self.spec.maps {
            (Kind::Map, &self.maps)
        } else {
            (Kind::Reduce, &self.reduces)
        };
        let index = tasks.iter().position(|t| t.is_idle())?;
        Some(self.start(TaskId { kind, index }, worker, now, false))
        // END EXERCISE 8.2
    }
    // ANCHOR_END: assign

    // ANCHOR: worker_lost
    /// `worker` was lost: its running attempts end, and its finished maps' outputs,
    /// which lived on its disk only, are lost too, while a reduce still needs them.
    pub(crate) fn worker_lost(&mut self, worker: &str, now: Millis) {
        // EXERCISE 8.2: tasks phase by phase, and a lost worker: its attempts end, its finished maps' outputs are lost
        // HINT: Two kinds of task go back: those it was running (`self.end(..., Why::WorkerLost, ...)`), and the maps it had finished, whose output was on its disk (`self.lose_output`). A finished reduce's output is in the job's store: it stays done. Once every reduce is done, nothing needs the maps any more.
        let running: Vec<(TaskId, u64)> = self
            .maps
            .iter()
            .enumerate()
            .map(|(i, t)| (TaskId::map(i), t))
            .chain(
                self.reduces
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (TaskId::reduce(i), t)),
            )
            .flat_map(|(id, t)| {
                t.running
                    .iter()
                    .filter(|(_, a)| a.worker == worker)
                    .map(move |(&attempt, _)| (id, attempt))
            })
            .collect();
        for (task, attempt) in running {
            self.end(task, attempt, Why::WorkerLost, now);
        }
        if self.is_done() {
            return;
        }
        for map in 0..self.maps.len() {
            if self.maps[map]
                .done
                .as_ref()
                .is_some_and(|d| d.worker == worker)
            {
                self.lose_output(map, now);
            }
        }
        // END EXERCISE 8.2
    }
    // ANCHOR_END: worker_lost
}
