//! Chapter 1's tests, one module per exercise plus the chapter-wide ones.
//!
//! Run one exercise's tests with `cargo test -p chapter1 ex3_`; the end-to-end ones
//! with `cargo test -p chapter1 chapter_`. All of them run against your code in
//! `exercises/chapter1/` unless `--features solution` is given.

#[path = "chapter1/common.rs"]
mod common;

#[path = "chapter1/ex1_store.rs"]
mod ex1_store;

#[path = "chapter1/ex2_compare_and_set.rs"]
mod ex2_compare_and_set;

#[path = "chapter1/ex3_validation.rs"]
mod ex3_validation;

#[path = "chapter1/ex4_status_codes.rs"]
mod ex4_status_codes;

#[path = "chapter1/ex5_client_errors.rs"]
mod ex5_client_errors;

#[path = "chapter1/chapter.rs"]
mod chapter;
