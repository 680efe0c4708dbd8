//! Chapter 3's tests: one binary, one module per exercise, plus the chapter-wide ones.
//!
//! `cargo test -p chapter3 ex3_` runs the tests of exercise 3.3 only.

#[path = "chapter3/common.rs"]
mod common;

#[path = "chapter3/ex1_append_check.rs"]
mod ex1_append_check;
#[path = "chapter3/ex2_progress.rs"]
mod ex2_progress;
#[path = "chapter3/ex3_commit.rs"]
mod ex3_commit;
#[path = "chapter3/ex4_catch_up.rs"]
mod ex4_catch_up;
#[path = "chapter3/ex5_client.rs"]
mod ex5_client;

#[path = "chapter3/bad_input.rs"]
mod bad_input;
#[path = "chapter3/chapter.rs"]
mod chapter;
#[path = "chapter3/consistency.rs"]
mod consistency;
#[path = "chapter3/simulation.rs"]
mod simulation;
#[path = "chapter3/storage.rs"]
mod storage;
