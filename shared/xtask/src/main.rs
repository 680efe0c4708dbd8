//! `cargo xtask`: the workspace's tooling, in Rust so it runs wherever cargo does.
//!
//! # Layout
//! - `markers.rs`: the exercise markers in `solutions/` and the generated exercise files.
//! - `workspace.rs`: where things are (chapters, their files) and how cargo is run.
//! - `exercises.rs`: `exercises [--check]`.
//! - `check.rs`: `check`, every integrity check of the course.
//! - `progress.rs`: `progress`, the student's view of what passes.
//! - `book.rs`: `book [--serve]` and the check that every `{{#include}}` resolves.
//! - `figures.rs`: `figures`, benchmark results (JSON) to the book's SVG figures.

mod book;
mod check;
mod exercises;
mod figures;
mod markers;
mod progress;
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
    /// Run every integrity check: exercises in step, reference tests pass, skeleton
    /// compiles warning-free, every exercise is caught by a test, the book builds.
    Check,
    /// Run each chapter's tests on your code and show which exercises pass.
    Progress {
        /// Only this chapter, e.g. `chapter1`.
        chapter: Option<String>,
    },
    /// `diff chapterN`: your exercise files against the solution. `diff chapterA
    /// chapterB`: what the later chapter adds (solutions and given code).
    Diff {
        /// The chapter (or the first of two).
        first: String,
        /// A second chapter to compare with.
        second: Option<String>,
    },
    /// Build the book (installs mdbook 0.5 and mdbook-mermaid if they are missing).
    Book {
        /// Serve it on http://localhost:3000 and rebuild on change.
        #[arg(long)]
        serve: bool,
    },
    /// Redraw the book's figures from the benchmark results in book/src/figures/*.json.
    Figures,
}

fn main() -> anyhow::Result<()> {
    let ws = workspace::Workspace::locate()?;
    match Cli::parse().task {
        Task::Exercises { check: false } => exercises::write(&ws),
        Task::Exercises { check: true } => exercises::check(&ws),
        Task::Check => check::run(&ws),
        Task::Progress { chapter } => progress::run(&ws, chapter.as_deref()),
        Task::Diff { first, second } => workspace::diff(&ws, &first, second.as_deref()),
        Task::Book { serve } => book::build(&ws, serve),
        Task::Figures => figures::draw_all(&ws),
    }
}
