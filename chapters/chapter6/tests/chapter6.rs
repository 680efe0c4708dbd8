//! Chapter 6's tests, one module per exercise, plus the chapter-wide ones.
//!
//! `cargo test -p chapter6 ex3` runs the tests of exercise 6.3; `chapter_` tests need
//! every exercise.

#[path = "chapter6/common.rs"]
mod common;

#[path = "chapter6/ex1_boundary.rs"]
mod ex1_boundary;

#[path = "chapter6/ex1_carried.rs"]
mod ex1_carried;

#[path = "chapter6/ex2_when.rs"]
mod ex2_when;

#[path = "chapter6/ex3_compact.rs"]
mod ex3_compact;

#[path = "chapter6/ex4_appends.rs"]
mod ex4_appends;

#[path = "chapter6/ex5_send.rs"]
mod ex5_send;

#[path = "chapter6/ex6_install.rs"]
mod ex6_install;

#[path = "chapter6/simulation.rs"]
mod simulation;

#[path = "chapter6/safety.rs"]
mod safety;

#[path = "chapter6/catch_up.rs"]
mod catch_up;

#[path = "chapter6/bounded.rs"]
mod bounded;

#[path = "chapter6/linearizable.rs"]
mod linearizable;

#[path = "chapter6/given.rs"]
mod given;

#[path = "chapter6/internal.rs"]
mod internal;

#[path = "chapter6/storage.rs"]
mod storage;
