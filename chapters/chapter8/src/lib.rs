//! Chapter 8, computation: a MapReduce whose coordinator is a state machine.
//!
//! A job (a map and a reduce, written by its user) runs on many workers: its input is
//! cut into M splits, each read by a map task; the pairs the maps emit are sorted into R
//! buckets by a stable hash, and reduce task `r` folds bucket `r` of every map into
//! output file `r`. Workers crash, stall and run slowly; the coordinator hands out
//! tasks, takes them back from lost workers, fences late reports, commits each task's
//! result exactly once and backs up the last tasks of a phase. It is a sans-IO machine
//! driven by calls that carry the time, so it can be replicated like any other state
//! machine: its failover loses nothing it answered.
//!
//! # Layout
//! Yours to finish (in `exercises/chapter8/`):
//! - [`split`]: cutting the input into splits of whole lines, and a key's reduce task
//!   (8.1).
//! - [`tasks`]: handing out tasks phase by phase, and what a lost worker takes with it
//!   (8.2).
//! - [`reports`]: fencing reports by attempt (8.3), committing a task's result once
//!   (8.4).
//! - [`backups`]: backup attempts near the end of a phase (8.5).
//! - [`join`]: a job of your own, the join of two inputs (8.6).
//!
//! Given:
//! - [`job`]: inputs, splits and the [`Job`] trait; [`jobs`]: a word count, an inverted
//!   index and a grep.
//! - [`run`]: running one map or reduce task, and the whole job on one thread (the
//!   oracle the tests compare every distributed run with).
//! - [`coordinator`]: the coordinator's state, its driver (requests, heartbeats,
//!   reports, ticks, a takeover) and the helpers the exercises use to keep its timeline.
//! - [`command`]: what the coordinator's replicated log holds (its inputs, each with the
//!   leader's time); [`machine`]: what a replica applies them to, and its snapshot. The
//!   log is chapter 6's Raft core, carried (below): the coordinator's state survives the
//!   loss of its leader.
//! - [`server`]: one coordinator replica's routes (a worker's task, heartbeat and report,
//!   the job's state), and the leader's clock proposed to the log; [`worker`]: a worker
//!   process that runs tasks, serves its map outputs and writes reduce outputs into the
//!   job's store; [`jobs::by_name`] picks a job.
//! - [`system`]: the coordinator's replicas as one loopback cluster, a job's files, the
//!   published output; [`demo`]: jobs on the live page, with buttons to break them;
//!   [`bench`]: job time against workers, a straggler with and
//!   without backups, a lost leader; `main.rs`: the `chapter8` binary (`coordinator`,
//!   `worker`, `run`, `demo`, `bench`).
//!
//! <!-- carried: written by `cargo xtask exercises` -->
//! Carried, finished, from earlier chapters (in `src/carried/`: edit the original, not the copy):
//! - [`api`]: chapter 6's JSON shapes.
//! - [`call`]: chapter 7's calls to a replicated log's leader.
//! - [`error`]: chapter 5's API errors.
//! - [`extract`]: chapter 1's request extractors.
//! - [`node`]: chapter 6's node shell.
//! - [`protocol`]: chapter 6's protocol.
//! - [`raft`]: chapter 6's Raft core, exercises 6.1 and 6.4 and chapter 5's rules.
//! - [`storage`]: chapter 6's storage.
//! - [`validate`]: chapter 1's key rules, exercise 1.3.
//! <!-- end carried -->

pub mod bench;
pub mod command;
pub mod coordinator;
pub mod demo;
pub mod job;
pub mod jobs;
pub mod machine;
pub mod run;
pub mod server;
pub mod system;
pub mod worker;

// CARRIED: written by `cargo xtask exercises` (see src/carried/)
#[path = "carried/api.rs"]
pub mod api;
#[path = "carried/call.rs"]
pub mod call;
#[path = "carried/error.rs"]
pub mod error;
#[path = "carried/extract.rs"]
pub mod extract;
#[path = "carried/node.rs"]
pub mod node;
#[path = "carried/protocol.rs"]
pub mod protocol;
#[path = "carried/raft.rs"]
pub mod raft;
#[path = "carried/storage.rs"]
pub mod storage;
#[path = "carried/validate.rs"]
pub mod validate;
// END CARRIED

// The student's files are mounted from exercises/, the reference from solutions/;
// `--features solution` switches. Tests are the same for both.
#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter8/split.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter8/split.rs")]
pub mod split;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter8/tasks.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter8/tasks.rs")]
pub mod tasks;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter8/reports.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter8/reports.rs")]
pub mod reports;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter8/backups.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter8/backups.rs")]
pub mod backups;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter8/join.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter8/join.rs")]
pub mod join;

pub use coordinator::{
    Assignment, AttemptId, Coordinator, Event, Kind, Millis, Outcome, Report, Spec, TaskId,
    Verdict, Why, WorkerId, backup_window,
};
pub use job::{Input, Job, Pair, Split};
pub use jobs::{Grep, InvertedIndex, WordCount};
pub use join::Join;
pub use run::{Buckets, run_map, run_reduce, sequential};
pub use split::{bucket, split};
