//! Chapter 7's tests, one module per exercise, plus the chapter-wide ones.
//!
//! `cargo test -p chapter7 ex4` runs the tests of exercise 7.4; `chapter_` tests need
//! every exercise.

#[path = "chapter7/common.rs"]
mod common;

#[path = "chapter7/ex1_shard_of.rs"]
mod ex1_shard_of;

#[path = "chapter7/ex2_rebalance.rs"]
mod ex2_rebalance;

#[path = "chapter7/ex3_serve.rs"]
mod ex3_serve;

#[path = "chapter7/ex4_fencing.rs"]
mod ex4_fencing;

#[path = "chapter7/ex5_mover.rs"]
mod ex5_mover;

#[path = "chapter7/ex6_client.rs"]
mod ex6_client;

#[path = "chapter7/fake.rs"]
mod fake;

#[path = "chapter7/ex7_request.rs"]
mod ex7_request;

#[path = "chapter7/ex8_controller.rs"]
mod ex8_controller;

#[path = "chapter7/ex9_pieces.rs"]
mod ex9_pieces;

#[path = "chapter7/service.rs"]
mod service;

#[path = "chapter7/mover_crashes.rs"]
mod mover_crashes;

#[path = "chapter7/between_steps.rs"]
mod between_steps;

#[path = "chapter7/sim_nodes.rs"]
mod sim_nodes;

#[path = "chapter7/sim_actors.rs"]
mod sim_actors;

#[path = "chapter7/core_rules.rs"]
mod core_rules;

#[path = "chapter7/simulation.rs"]
mod simulation;

#[path = "chapter7/spread.rs"]
mod spread;

#[path = "chapter7/loopback.rs"]
mod loopback;

#[path = "chapter7/loopback_chaos.rs"]
mod loopback_chaos;

#[path = "chapter7/unaffected.rs"]
mod unaffected;

#[path = "chapter7/forged.rs"]
mod forged;

#[path = "chapter7/live.rs"]
mod live;

#[path = "chapter7/staging.rs"]
mod staging;

#[path = "chapter7/wire.rs"]
mod wire;
