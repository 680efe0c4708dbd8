//! Chapter 5's tests, one module per exercise, plus the chapter-wide ones.
//!
//! `cargo test -p chapter5 ex3` runs the tests of exercise 5.3; `chapter_` tests need
//! every exercise.

#[path = "chapter5/common.rs"]
mod common;

#[path = "chapter5/ex1_election_timer.rs"]
mod ex1_election_timer;

#[path = "chapter5/ex2_votes.rs"]
mod ex2_votes;

#[path = "chapter5/ex3_counting.rs"]
mod ex3_counting;

#[path = "chapter5/ex4_append.rs"]
mod ex4_append;

#[path = "chapter5/ex5_commit.rs"]
mod ex5_commit;

#[path = "chapter5/figure_8.rs"]
mod figure_8;

#[path = "chapter5/ex6_step_down.rs"]
mod ex6_step_down;

#[path = "chapter5/ex7_client.rs"]
mod ex7_client;

#[path = "chapter5/simulation.rs"]
mod simulation;

#[path = "chapter5/safety.rs"]
mod safety;

#[path = "chapter5/chapter.rs"]
mod chapter;

#[path = "chapter5/linearizable.rs"]
mod linearizable;

#[path = "chapter5/leader.rs"]
mod leader;

#[path = "chapter5/given.rs"]
mod given;

#[path = "chapter5/internal.rs"]
mod internal;

#[path = "chapter5/storage.rs"]
mod storage;

#[path = "chapter5/dashboard.rs"]
mod dashboard;
