//! `cargo xtask`: the workspace's tooling, in Rust so it runs wherever cargo does.
//!
//! # Layout
//! - `workspace.rs`: where things are (chapters, their files) and how cargo is run.
//! - `markers.rs`: the exercise markers in `solutions/`, the generated exercise files,
//!   and a source as finished code (no markers, anchors or carried header).
//! - `generated.rs`: a generated file, formatted and written.
//! - `exercises.rs`: `exercises [--check]`; `carried.rs`: the later chapters' copies of
//!   finished lessons, written with the exercises.
//! - `check.rs` (and `check/`): `check`, every integrity check of the course: the docs
//!   against the tree, the stubs, the exercises in order, the known mutants.
//! - `variants.rs`: every stub and mutant of a chapter behind a run-time switch, so the
//!   checks build each chapter once.
//! - `mutants.rs`: the known mutants each chapter's tests must catch (`MUTANTS.md`);
//!   `mutation.rs`: `mutation`, the automatic pass (cargo-mutants).
//! - `progress.rs`: `progress`, the student's view of what passes.
//! - `tracks.rs`: `track`, the optional tracks (exercises shipped finished, handed to the
//!   student on request).
//! - `book.rs`: `book [--serve]`, the check that every `{{#include}}` resolves, and the
//!   built book's checks: `links.rs` (every link leads somewhere) and `diagrams.rs` (every
//!   diagram parses).
//! - `browser.rs`: `browser [--update-book]`, the live cluster's pages in headless
//!   Chromium.
//! - `figures.rs`: `figures`, benchmark results (JSON) to the book's SVG figures;
//!   `histories.rs`: `histories`, the book's example histories as timelines.
//! - `stress.rs`: `stress`, a chapter's tests run many times at once, failures kept.
//! - `timings.rs`: `timings`, each chapter's warm suite time and its slowest tests.

mod book;
mod browser;
mod carried;
mod check;
mod diagrams;
mod exercises;
mod figures;
mod generated;
mod histories;
mod links;
mod markers;
mod mutants;
mod mutation;
mod progress;
mod stress;
mod timings;
mod tracks;
mod variants;
mod workspace;

use clap::{Parser, Subcommand};

/// Tooling for the distributed-systems course: exercises, checks, progress, diffs, book.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Regenerate exercises/ from the markers in solutions/ (overwrites exercises/!).
    Exercises {
        /// Only check that exercises/ is what the generator makes; change nothing.
        #[arg(long)]
        check: bool,
    },
    /// Run every integrity check: exercises in step, docs true of the tree, reference
    /// tests pass, skeleton compiles warning-free, every exercise is caught by its tests,
    /// the book builds.
    Check {
        /// Only the checks that need no build: exercises in step and docs true.
        #[arg(long)]
        quick: bool,
    },
    /// Run each chapter's exercise tests on your code and show which exercises pass.
    Progress {
        /// Only this chapter, e.g. `chapter1`.
        chapter: Option<String>,
        /// Run the chapter-wide (end-to-end) tests too.
        #[arg(long)]
        all: bool,
    },
    /// An optional track: `track chapter7 systems on` hands you its exercises (their
    /// regions become todo!s), `off` gives them back finished, `status` says which.
    Track {
        /// The chapter, e.g. `chapter7`.
        chapter: String,
        /// The track, e.g. `systems`.
        name: String,
        /// What to do.
        #[arg(value_enum, default_value_t = tracks::Action::On)]
        action: tracks::Action,
        /// With `off`: replace your work on the track with the finished code.
        #[arg(long)]
        discard: bool,
    },
    /// `diff chapterN`: your exercise files against the solution. `diff chapterA
    /// chapterB`: what the later chapter adds (solutions and given code).
    Diff {
        /// The chapter (or the first of two).
        first: String,
        /// A second chapter to compare with.
        second: Option<String>,
    },
    /// Build the book (installs mdbook 0.5 if it is missing).
    Book {
        /// Serve it on http://localhost:3000 and rebuild on change.
        #[arg(long)]
        serve: bool,
    },
    /// Drive the live cluster's pages in headless Chromium and check what they show:
    /// `chapter5 demo` (crash the leader, isolate the next, heal) and `chapter7 demo` (a
    /// group joins, a group's leader crashes, a group leaves).
    Browser {
        /// Copy the screenshots into book/src/figures/ (live-cluster.png and
        /// live-cluster-chapter7.png).
        #[arg(long)]
        update_book: bool,
    },
    /// Redraw the book's figures from the benchmark results in book/src/figures/*.json
    /// and the kept histories in book/src/figures/histories/.
    Figures,
    /// Run the tests that keep the book's example histories, then draw them as
    /// timelines titled with the checker's verdict.
    Histories,
    /// Apply each known mutant (solutions/chapterN/MUTANTS.md) to a scratch copy and
    /// show which test catches it (part of `check`).
    Mutants {
        /// Only this chapter, e.g. `chapter5`.
        chapter: Option<String>,
    },
    /// The exercises' own verdicts: each stub caught by its tests, each prefix of the
    /// exercises passing its own tests, each known mutant caught by its exercise's tests
    /// (part of `check`; one chapter at a time while writing it).
    Verdicts {
        /// Only this chapter, e.g. `chapter6`.
        chapter: Option<String>,
        /// Only these checks (default: all three).
        #[arg(long, value_enum)]
        only: Vec<check::Verdict>,
    },
    /// Run a chapter's tests many times, several at once, to catch a flaky test; keep
    /// each failing run's output (and timelines) under target/stress/<chapter>/.
    Stress {
        /// The chapter, e.g. `chapter5`.
        chapter: String,
        /// Only the tests whose names contain this (as `cargo test -p chapterN <filter>`).
        filter: Option<String>,
        /// How many runs.
        #[arg(long, default_value_t = 100)]
        runs: usize,
        /// How many runs at once.
        #[arg(long, default_value_t = 2)]
        jobs: usize,
        /// Run the reference solutions instead of your code.
        #[arg(long)]
        solution: bool,
        /// Kill a run that takes longer than this many seconds, and count it as failed.
        #[arg(long, default_value_t = 600)]
        timeout_secs: u64,
    },
    /// An automatic mutation pass (cargo-mutants) over a chapter's solution files:
    /// mutants caught, missed and timed out (slow: minutes per chapter).
    Mutation {
        /// The chapter, e.g. `chapter2`.
        chapter: String,
        /// Kill a mutant's test run after this many seconds.
        #[arg(long, default_value_t = 120)]
        timeout_secs: u64,
        /// Only list the mutants.
        #[arg(long)]
        list: bool,
    },
    /// Time each chapter's reference suite, warm, and list its slowest tests (each run
    /// alone): a measurement to watch, not a check.
    Timings {
        /// Only these chapters (default: all).
        chapters: Vec<String>,
        /// How many of the slowest tests to list per chapter.
        #[arg(long, default_value_t = 5)]
        slowest: usize,
    },
}

fn main() -> anyhow::Result<()> {
    let ws = workspace::Workspace::locate()?;
    match Cli::parse().task {
        Task::Exercises { check: false } => exercises::write(&ws),
        Task::Exercises { check: true } => exercises::check(&ws),
        Task::Check { quick } => check::run(&ws, quick),
        Task::Progress { chapter, all } => progress::run(&ws, chapter.as_deref(), all),
        Task::Track {
            chapter,
            name,
            action,
            discard,
        } => tracks::run(&ws, &chapter, &name, action, discard),
        Task::Diff { first, second } => workspace::diff(&ws, &first, second.as_deref()),
        Task::Book { serve } => book::build(&ws, serve),
        Task::Browser { update_book } => browser::run(&ws, update_book),
        Task::Figures => figures::draw_all(&ws).and_then(|()| histories::draw_all(&ws)),
        Task::Histories => histories::record(&ws),
        Task::Mutants { chapter } => check::mutants(&ws, chapter.as_deref()),
        Task::Verdicts { chapter, only } => check::verdicts(&ws, chapter.as_deref(), &only),
        Task::Mutation {
            chapter,
            timeout_secs,
            list,
        } => mutation::run(
            &ws,
            &mutation::Options {
                chapter,
                timeout: std::time::Duration::from_secs(timeout_secs),
                list,
            },
        ),
        Task::Timings { chapters, slowest } => timings::run(&ws, &chapters, slowest),
        Task::Stress {
            chapter,
            filter,
            runs,
            jobs,
            solution,
            timeout_secs,
        } => stress::run(
            &ws,
            &stress::Options {
                chapter,
                filter,
                runs,
                jobs,
                solution,
                timeout: std::time::Duration::from_secs(timeout_secs),
            },
        ),
    }
}
