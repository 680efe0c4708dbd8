//! Chapter 2's tests, one module per exercise plus the chapter-wide ones.
//!
//! Run one exercise's tests with `cargo test -p chapter2 ex3_`; the end-to-end ones
//! with `cargo test -p chapter2 chapter_`. All of them run against your code in
//! `exercises/chapter2/` unless `--features solution` is given.

#[path = "chapter2/common.rs"]
mod common;

#[path = "chapter2/ex1_record.rs"]
mod ex1_record;

#[path = "chapter2/ex2_replay.rs"]
mod ex2_replay;

#[path = "chapter2/ex3_group_commit.rs"]
mod ex3_group_commit;

#[path = "chapter2/ex4_durable_writes.rs"]
mod ex4_durable_writes;

#[path = "chapter2/ex5_compaction.rs"]
mod ex5_compaction;

#[path = "chapter2/bounds.rs"]
mod bounds;
#[path = "chapter2/chapter.rs"]
mod chapter;
