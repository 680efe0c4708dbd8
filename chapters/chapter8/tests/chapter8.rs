//! Chapter 8's tests, one module per exercise, plus the chapter-wide ones.
//!
//! `cargo test -p chapter8 ex4` runs the tests of exercise 8.4; `chapter_` tests need
//! every exercise.

#[path = "chapter8/common.rs"]
mod common;

#[path = "chapter8/replicas.rs"]
mod replicas;

#[path = "chapter8/sim.rs"]
mod sim;

#[path = "chapter8/timeline.rs"]
mod timeline;

#[path = "chapter8/ex1_split.rs"]
mod ex1_split;

#[path = "chapter8/ex2_tasks.rs"]
mod ex2_tasks;

#[path = "chapter8/ex3_fencing.rs"]
mod ex3_fencing;

#[path = "chapter8/ex4_commit.rs"]
mod ex4_commit;

#[path = "chapter8/ex5_backups.rs"]
mod ex5_backups;

#[path = "chapter8/ex6_join.rs"]
mod ex6_join;

#[path = "chapter8/simulation.rs"]
mod simulation;

#[path = "chapter8/loopback.rs"]
mod loopback;

#[path = "chapter8/wire.rs"]
mod wire;
