//! A run, saved: frames four times a second, every event, and the workload's history,
//! as one JSON file the page can open again and replay with a time slider.

use serde::{Deserialize, Serialize};

use super::{Event, Frame};
use crate::history::Operation;

/// The recording's format, written into it so a page can refuse one it cannot read.
pub const FORMAT: u32 = 1;

/// How far apart recorded frames are, at least.
const EVERY_MS: u64 = 250;

/// At most this many frames are kept (20 minutes at four a second); older ones go first.
const MAX_FRAMES: usize = 4_800;

/// At most this many operations of the workload's history are kept, the latest.
pub const MAX_OPERATIONS: usize = 20_000;

/// A saved run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// The format, 1.
    pub format: u32,
    /// What the page calls the system.
    pub title: String,
    /// The frames, oldest first, without their `events` (see `events`).
    pub frames: Vec<Frame>,
    /// Every event, oldest first.
    pub events: Vec<Event>,
    /// The workload's calls (the latest 20,000), on the recorder's clock.
    pub history: Vec<Operation>,
}

impl Recording {
    /// Keeps `frame` if it is at least 250 ms after the last one kept.
    pub fn add_frame(&mut self, frame: &Frame) {
        if self
            .frames
            .last()
            .is_some_and(|last| frame.t_ms < last.t_ms + EVERY_MS)
        {
            return;
        }
        self.format = FORMAT;
        self.title.clone_from(&frame.title);
        self.frames.push(Frame {
            events: Vec::new(),
            ..frame.clone()
        });
        if self.frames.len() > MAX_FRAMES {
            self.frames.drain(..self.frames.len() - MAX_FRAMES);
        }
    }

    /// The file to save: these frames, with `events` and `history`.
    pub fn with(&self, events: Vec<Event>, mut history: Vec<Operation>) -> Recording {
        if history.len() > MAX_OPERATIONS {
            history.drain(..history.len() - MAX_OPERATIONS);
        }
        Recording {
            format: FORMAT,
            title: self.title.clone(),
            frames: self.frames.clone(),
            events,
            history,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::WorkloadView;

    fn frame(t_ms: u64) -> Frame {
        Frame {
            t_ms,
            wall_ms: 0,
            title: "t".into(),
            nodes: Vec::new(),
            links: Vec::new(),
            leader: None,
            workload: WorkloadView::default(),
            events: vec![Event {
                t_ms,
                kind: "crash".into(),
                text: "x".into(),
            }],
            groups: Vec::new(),
            shards: None,
            actions: Vec::new(),
        }
    }

    #[test]
    fn frames_are_kept_four_times_a_second_without_their_events() {
        let mut recording = Recording::default();
        for t in (0..1000).step_by(100) {
            recording.add_frame(&frame(t));
        }
        let kept: Vec<u64> = recording.frames.iter().map(|f| f.t_ms).collect();
        assert_eq!(kept, [0, 300, 600, 900]);
        assert!(recording.frames.iter().all(|f| f.events.is_empty()));
    }

    #[test]
    fn a_long_run_keeps_its_latest_frames() {
        let mut recording = Recording::default();
        for i in 0..(MAX_FRAMES as u64 + 10) {
            recording.add_frame(&frame(i * EVERY_MS));
        }
        assert_eq!(recording.frames.len(), MAX_FRAMES);
        assert_eq!(recording.frames[0].t_ms, 10 * EVERY_MS);
    }
}
