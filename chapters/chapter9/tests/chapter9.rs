//! Chapter 9's tests, one module per exercise, plus the chapter-wide ones.
//!
//! `cargo test -p chapter9 ex4` runs the tests of exercise 9.4; `chapter_` tests need
//! every exercise.

#[path = "chapter9/common.rs"]
mod common;

#[path = "chapter9/ex1_partitioning.rs"]
mod ex1_partitioning;

#[path = "chapter9/ex2_append.rs"]
mod ex2_append;

#[path = "chapter9/ex3_membership.rs"]
mod ex3_membership;

#[path = "chapter9/ex4_offsets.rs"]
mod ex4_offsets;

#[path = "chapter9/ex5_pipeline.rs"]
mod ex5_pipeline;

#[path = "chapter9/ex6_compaction.rs"]
mod ex6_compaction;

#[path = "chapter9/groups.rs"]
mod groups;

#[path = "chapter9/sim.rs"]
mod sim;

#[path = "chapter9/history.rs"]
mod history;

#[path = "chapter9/simulation.rs"]
mod simulation;

#[path = "chapter9/loopback.rs"]
mod loopback;

#[path = "chapter9/gossip.rs"]
mod gossip;

#[path = "chapter9/wire.rs"]
mod wire;
