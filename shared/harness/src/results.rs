//! The benchmarks' results files, one module per chapter: written by each chapter's
//! `bench` (as `--out results.json`), read by `cargo xtask figures`. Defined once, here,
//! so the file a benchmark writes and the file a figure reads cannot drift apart.
//! A chapter's own types (chapter 3's `AckMode`, chapter 5's `Timing`) are recorded as
//! plain values, so this crate depends on no chapter.

pub mod chapter1;
pub mod chapter2;
pub mod chapter3;
pub mod chapter4;
pub mod chapter5;
pub mod chapter6;
pub mod chapter7;
pub mod chapter8;
pub mod chapter9;
