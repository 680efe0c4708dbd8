//! `cargo xtask check`: every integrity check of the course, in the order CI needs them.
//!
//! 1. the top level holds only what ARCHITECTURE.md lists;
//! 2. exercises/ is exactly what the generator makes from solutions/; the docs are true
//!    of the tree (layouts, ARCHITECTURE.md, no node code on the harness, no module
//!    cycles: see `docs`); every assertion in a test has a message (`assertions`);
//! 3. every reference test passes (`--features solution`; skipped when
//!    `XTASK_REFERENCE_TESTS_PASSED=1` says the caller has just run the same tests, as
//!    `.ci/run` does with the README's test command before it checks);
//! 4. the skeleton (the generated exercises) compiles without a warning;
//! 5. for every exercise id, stubbing only that id makes one of its `exN_` tests fail,
//!    and the skeleton as a whole fails;
//! 6. with exercises 1 to K of a chapter done and the rest stubbed, every `ex1_` to
//!    `exK_` test passes, and every `given::` test passes on the skeleton;
//! 7. every known mutant (`solutions/chapterN/MUTANTS.md`) makes a test of its own
//!    exercise fail, with a message that is more than a bare assertion;
//! 8. your own stack (`--features own`): chapter 6 on the finished chapter 5 files and
//!    chapter 7 on the finished chapter 6 files pass their suites, and a known mutant of
//!    the earlier chapter fails the later one with a message naming it (`own`);
//! 9. every `{{#include}}` of the book resolves, the book builds, every link between its
//!    pages leads to a page and section that exist, and every diagram parses.
//!
//! Steps 4 to 8 run in a copy of the workspace under `target/xtask/skeleton`, so a
//! student's own exercise files are never touched. Steps 5 to 7 build each chapter once,
//! with every stub and mutant behind a run-time switch (see `variants`). The copy builds
//! into a target directory of its own: cargo hashes workspace members by their path
//! *relative to the workspace root*, so with a shared target directory the copy's builds
//! would look fresh to the real workspace, and a student would run stale code.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::exercises;
use crate::variants::Switchable;
use crate::workspace::{self, Workspace};

mod assertions;
mod copy;
mod docs;
mod modules;
mod order;
mod own;
mod verdicts;
pub(crate) use copy::make_plain_copy;
use copy::{cargo_in, make_copy};
use verdicts::{build_variants, failing_tests, mutants_are_caught, stubs_are_caught};

/// What may stand at the top of the repository.
const TOP_LEVEL: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "README.md",
    "ARCHITECTURE.md",
    "LICENSE-MIT",
    "LICENSE-APACHE",
    "chapters",
    "shared",
    "exercises",
    "solutions",
    "book",
    ".cargo",
    ".ci",
    ".gitignore",
    ".git",
    "target",
];

pub fn run(ws: &Workspace, quick: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    step("the top level holds only the listed entries", || {
        top_level(ws)
    })?;
    step("exercises/ is in step with solutions/", || {
        exercises::check(ws)
    })?;
    step(
        "the layouts, ARCHITECTURE.md and the module graph tell the truth",
        || docs::documentation_is_true(ws),
    )?;
    step("every assertion in a test names its rule", || {
        assertions::tests_name_their_rules(ws)
    })?;
    if quick {
        println!("\nthe quick checks passed in {:.0?}", started.elapsed());
        return Ok(());
    }
    step("the reference solutions pass their tests", || {
        reference_tests(ws)
    })?;
    let copy = ws.root.join("target/xtask/skeleton");
    step(
        "a scratch copy of the workspace for the skeleton checks",
        || make_copy(ws, &copy),
    )?;
    step("the skeleton compiles without warnings", || {
        skeleton_warnings(ws, &copy)
    })?;
    let mut built = (Vec::new(), Switchable::new());
    step(
        "one build of each chapter with every variant behind a switch",
        || {
            built = build_variants(ws, &copy, None)?;
            Ok(())
        },
    )?;
    step("each exercise's stub is caught by its tests", || {
        stubs_are_caught(ws, &copy, None)
    })?;
    step(
        "each exercise's tests need only it and the ones before it; given tests need none",
        || order::exercises_stand_alone(ws, &copy, None),
    )?;
    step(
        "each known mutant is caught by its exercise's tests",
        || mutants_are_caught(ws, &copy, &built, None),
    )?;
    step(
        "your own stack: chapter 6 on chapter 5's rules, chapter 7 on chapter 6's core",
        || own::own_stacks(ws, &copy),
    )?;
    step("every {{#include}} of the book resolves", || {
        crate::book::check_includes(ws)
    })?;
    step(
        "the book builds, its links resolve, its diagrams parse",
        || crate::book::build(ws, false),
    )?;
    println!("\nall checks passed in {:.0?}", started.elapsed());
    Ok(())
}

/// `cargo xtask mutants [chapter]`: only the known-mutant check.
pub fn mutants(ws: &Workspace, chapter: Option<&str>) -> anyhow::Result<()> {
    let copy = ws.root.join("target/xtask/skeleton");
    make_copy(ws, &copy)?;
    let built = build_variants(ws, &copy, chapter)?;
    mutants_are_caught(ws, &copy, &built, chapter)
}

/// One of the checks on the exercises' own tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Verdict {
    /// Each exercise's stub is caught by its own tests.
    Stubs,
    /// Each prefix of a chapter's exercises passes its own tests.
    Order,
    /// Each known mutant is caught by its exercise's tests.
    Mutants,
    /// Your own stack: chapters 6 and 7 on the earlier chapter's student files.
    Own,
}

/// `cargo xtask verdicts [chapter] [--only ...]`: the checks on the exercises' own tests
/// (steps 5 to 8), for one chapter while it is being written.
pub fn verdicts(ws: &Workspace, chapter: Option<&str>, only: &[Verdict]) -> anyhow::Result<()> {
    // One copy per chapter, so that two chapters can be checked at once.
    let copy = match chapter {
        Some(chapter) => ws.root.join(format!(
            "target/xtask/skeleton-{}",
            ws.chapter(chapter)?.name()
        )),
        None => ws.root.join("target/xtask/skeleton"),
    };
    make_copy(ws, &copy)?;
    let built = build_variants(ws, &copy, chapter)?;
    let wanted = |v| only.is_empty() || only.contains(&v);
    let mut problems = Vec::new();
    for (verdict, result) in [
        (
            Verdict::Stubs,
            wanted(Verdict::Stubs).then(|| stubs_are_caught(ws, &copy, chapter)),
        ),
        (
            Verdict::Order,
            wanted(Verdict::Order).then(|| order::exercises_stand_alone(ws, &copy, chapter)),
        ),
        (
            Verdict::Mutants,
            wanted(Verdict::Mutants).then(|| mutants_are_caught(ws, &copy, &built, chapter)),
        ),
        (
            Verdict::Own,
            wanted(Verdict::Own).then(|| own::own_stacks(ws, &copy)),
        ),
    ] {
        if let Some(Err(e)) = result {
            problems.push(format!("{verdict:?}: {e:#}"));
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n\n"));
    }
    Ok(())
}

fn step(what: &str, f: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
    println!("\n== {what}");
    let started = Instant::now();
    f().with_context(|| format!("check failed: {what}"))?;
    println!("ok ({:.1?})", started.elapsed());
    Ok(())
}

fn top_level(ws: &Workspace) -> anyhow::Result<()> {
    let mut strays = Vec::new();
    for entry in std::fs::read_dir(&ws.root)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if !TOP_LEVEL.contains(&name.as_str()) {
            strays.push(name);
        }
    }
    if !strays.is_empty() {
        bail!(
            "unexpected entries at the top level: {strays:?} (the layout is fixed: see ARCHITECTURE.md)"
        );
    }
    Ok(())
}

/// Set by a caller that has just run `cargo test --workspace --features solution` on
/// this same tree (CI's first step): the reference tests are not run twice.
const REFERENCE_TESTS_PASSED: &str = "XTASK_REFERENCE_TESTS_PASSED";

fn reference_tests(ws: &Workspace) -> anyhow::Result<()> {
    if std::env::var(REFERENCE_TESTS_PASSED).is_ok_and(|v| v == "1") {
        println!(
            "not run again: {REFERENCE_TESTS_PASSED}=1 says `cargo test --workspace \
             --features solution` just passed on this tree"
        );
        return Ok(());
    }
    workspace::run(
        ws.cargo()
            .args(["test", "--quiet", "-p", "harness", "-p", "xtask"]),
    )?;
    for chapter in ws.chapters()? {
        workspace::run(ws.cargo().args([
            "test",
            "--quiet",
            "-p",
            &chapter.name(),
            "--features",
            "solution",
        ]))?;
    }
    Ok(())
}

/// The skeleton (every exercise stubbed, as a student gets it) compiles without a
/// warning. `cargo check` runs every lint a build would, in a fraction of the time.
fn skeleton_warnings(ws: &Workspace, copy: &Path) -> anyhow::Result<()> {
    let mut command = cargo_in(ws, copy);
    command.args([
        "check",
        "--tests",
        "--message-format",
        "json-diagnostic-rendered-ansi",
    ]);
    for chapter in ws.chapters()? {
        command.args(["-p", &chapter.name()]);
    }
    let out = workspace::output(&mut command)?;
    let mut diagnostics = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] == "compiler-message" && message["message"]["level"] != "note" {
            diagnostics.push(
                message["message"]["rendered"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string(),
            );
        }
    }
    if !out.status.success() || !diagnostics.is_empty() {
        bail!(
            "the skeleton does not build cleanly:\n{}{}",
            diagnostics.join("\n"),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!("every chapter's skeleton: no warnings");
    Ok(())
}
