//! Chapter 4's tests: one binary, one module per exercise, plus the chapter-wide ones.
//!
//! `cargo test -p chapter4 ex2_` runs the tests of exercise 4.2 only.

#[path = "chapter4/common.rs"]
mod common;
#[path = "chapter4/old_owner.rs"]
mod old_owner;

#[path = "chapter4/ex1_mod_n.rs"]
mod ex1_mod_n;
#[path = "chapter4/ex2_ring.rs"]
mod ex2_ring;
#[path = "chapter4/ex3_routing.rs"]
mod ex3_routing;
#[path = "chapter4/ex4_moves.rs"]
mod ex4_moves;
#[path = "chapter4/ex5_install.rs"]
mod ex5_install;
#[path = "chapter4/ex6_transfer.rs"]
mod ex6_transfer;

#[path = "chapter4/ex6_handoff_window.rs"]
mod ex6_handoff_window;
#[path = "chapter4/ex6_windows.rs"]
mod ex6_windows;

#[path = "chapter4/bad_input.rs"]
mod bad_input;
#[path = "chapter4/chapter.rs"]
mod chapter;
#[path = "chapter4/given.rs"]
mod given;
#[path = "chapter4/storage.rs"]
mod storage;
