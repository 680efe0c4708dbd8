//! `cargo xtask check`: every integrity check of the course, in the order CI needs them.
//!
//! 1. the top level holds only what ARCHITECTURE.md lists;
//! 2. exercises/ is exactly what the generator makes from solutions/;
//! 3. every reference test passes (`--features solution`);
//! 4. the skeleton (the generated exercises) compiles without a warning;
//! 5. for every exercise id, stubbing only that id makes one of its `exN_` tests fail,
//!    and the skeleton as a whole fails;
//! 6. every known mutant (`solutions/chapterN/MUTANTS.md`) makes a test fail;
//! 7. every `{{#include}}` of the book resolves, the book builds, every link between its
//!    pages leads to a page and section that exist, and every diagram parses.
//!
//! Steps 4 to 6 run in a copy of the workspace under `target/xtask/skeleton`, so a
//! student's own exercise files are never touched. Steps 5 and 6 build each chapter once,
//! with every stub and mutant behind a run-time switch (see `variants`). The copy builds
//! into a target directory of its own: cargo hashes workspace members by their path
//! *relative to the workspace root*, so with a shared target directory the copy's builds
//! would look fresh to the real workspace, and a student would run stale code.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::exercises;
use crate::variants::{self, Switchable, Variant};
use crate::workspace::{self, Workspace, test_exercise, test_outcomes};

mod copy;
pub(crate) use copy::make_plain_copy;
use copy::{cargo_in, make_copy};

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

pub fn run(ws: &Workspace) -> anyhow::Result<()> {
    let started = Instant::now();
    step("the top level holds only the listed entries", || {
        top_level(ws)
    })?;
    step("exercises/ is in step with solutions/", || {
        exercises::check(ws)
    })?;
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
            built = build_variants(ws, &copy)?;
            Ok(())
        },
    )?;
    step("each exercise's stub is caught by its tests", || {
        stubs_are_caught(ws, &copy)
    })?;
    step("each known mutant is caught by the default suite", || {
        mutants_are_caught(ws, &copy, &built, None)
    })?;
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
    let built = build_variants(ws, &copy)?;
    mutants_are_caught(ws, &copy, &built, chapter)
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

fn reference_tests(ws: &Workspace) -> anyhow::Result<()> {
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

/// Writes every chapter's variants into the copy (see `variants`) and builds each
/// chapter's tests once. Returns the files written, and the mutants they switch as
/// (chapter, index).
fn build_variants(
    ws: &Workspace,
    copy: &Path,
) -> anyhow::Result<(Vec<exercises::Generated>, Switchable)> {
    let (files, switchable) = variants::generate(ws)?;
    exercises::write_to(copy, &files)?;
    let mut command = cargo_in(ws, copy);
    command.args(["test", "--no-run", "--quiet"]);
    for chapter in ws.chapters()? {
        command.args(["-p", &chapter.name()]);
    }
    workspace::run(&mut command).context("building the chapters with their variants")?;
    Ok((files, switchable))
}

fn stubs_are_caught(ws: &Workspace, copy: &Path) -> anyhow::Result<()> {
    for chapter in ws.chapters()? {
        let mut problems = Vec::new();
        for exercise in ws.exercises(&chapter)? {
            let only = exercise.id;
            // The exercise's own tests only: the chapter-wide ones would wait out their
            // deadlines on a stub, and the whole skeleton's run below covers them.
            let filter = format!("ex{}_", only.number);
            let (failing, output) = failing_tests(
                ws,
                copy,
                &chapter.name(),
                Some(&filter),
                Variant::Stub(only),
            )?;
            let teaching = format!(
                "exercise {only} {}: edit exercises/",
                crate::markers::UNFINISHED
            );
            if !output.contains(&teaching) {
                problems.push(format!(
                    "exercise {only}: no test output says {teaching:?}: a student would not know what to do"
                ));
            }
            let own: Vec<&String> = failing
                .iter()
                .filter(|t| test_exercise(t) == Some(only.number))
                .collect();
            if own.is_empty() {
                problems.push(format!(
                    "exercise {only} ({}): with only it stubbed, no ex{}_ test fails (failing: {failing:?})",
                    exercise.title, only.number
                ));
            } else {
                println!(
                    "exercise {only}: stub caught by {} test(s), e.g. {}",
                    own.len(),
                    own[0]
                );
            }
        }
        let (failing, output) = failing_tests(ws, copy, &chapter.name(), None, Variant::AllStubs)?;
        if failing.is_empty() {
            problems.push(format!(
                "the {} skeleton as a whole passes its tests",
                chapter.name()
            ));
        } else {
            println!(
                "{}: the whole skeleton fails {} test(s) in {} lines of output",
                chapter.name(),
                failing.len(),
                output.lines().count()
            );
        }
        problems.extend(repeated_messages(&output, failing.len()));
        if !problems.is_empty() {
            bail!("{}", problems.join("\n"));
        }
    }
    Ok(())
}

/// Runs each chapter's known mutants, one at a time, against its default suite: each
/// must make a test fail (which one is printed). Switched mutants run in the build
/// `build_variants` made; a mutant that changes lines outside every exercise region is
/// written into the copy and built on its own.
fn mutants_are_caught(
    ws: &Workspace,
    copy: &Path,
    (switched_files, switchable): &(Vec<exercises::Generated>, Switchable),
    only: Option<&str>,
) -> anyhow::Result<()> {
    let finished = exercises::generate(ws, |_| false)?;
    let has_nextest = cargo_in(ws, copy)
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut problems = Vec::new();
    for chapter in ws.chapters()? {
        let name = chapter.name();
        if only.is_some_and(|only| only != name) {
            continue;
        }
        let mutants = crate::mutants::of_chapter(&ws.root, &name)?;
        // Switched mutants first: each one built alone rebuilds the chapter.
        let mut order: Vec<usize> = (0..mutants.len()).collect();
        order.sort_by_key(|n| !switchable.contains(&(name.clone(), *n)));
        for (n, mutant) in order.into_iter().map(|n| (n, &mutants[n])) {
            let started = Instant::now();
            let target = format!("exercises/{name}/{}", mutant.file);
            let Some(file) = finished.iter().find(|f| f.path == target) else {
                problems.push(format!(
                    "{name}: mutant {:?} names {target}, which is no student file",
                    mutant.name
                ));
                continue;
            };
            let mutated = match mutant.apply(&file.content) {
                Ok(mutated) => mutated,
                Err(e) => {
                    problems.push(format!("{name}: {e:#}"));
                    continue;
                }
            };
            let how = if switchable.contains(&(name.clone(), n)) {
                "switched"
            } else {
                // Built on its own; the file goes back to its switched form afterwards.
                std::fs::write(copy.join(&target), mutated)?;
                "built alone"
            };
            let caught = first_failure(ws, copy, &name, Variant::Mutant(n), has_nextest);
            if let Some(switched) = switched_files.iter().find(|f| f.path == target) {
                std::fs::write(copy.join(&target), &switched.content)?;
            }
            match caught {
                Ok(None) => problems.push(format!(
                    "{name}: mutant {:?} ({}) survives: no test fails",
                    mutant.name, mutant.file
                )),
                Ok(Some(test)) => println!(
                    "{name}: mutant {:?} ({how}) caught in {:.1?} by {test}",
                    mutant.name,
                    started.elapsed()
                ),
                Err(e) => problems.push(format!("{name}: mutant {:?}: {e:#}", mutant.name)),
            }
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(())
}

/// The first test of `chapter` that fails in the copy with `variant` on, if any. With
/// cargo-nextest the exercises' own tests run first (they are fast and catch most
/// mutants), then the chapter-wide ones, each run stopping at its first failure;
/// without it, the whole suite runs.
fn first_failure(
    ws: &Workspace,
    copy: &Path,
    chapter: &str,
    variant: Variant,
    has_nextest: bool,
) -> anyhow::Result<Option<String>> {
    if !has_nextest {
        let (failing, _) = failing_tests(ws, copy, chapter, None, variant)?;
        return Ok(failing.into_iter().next());
    }
    let exercise_tests = "test(/^ex[0-9]+_/)";
    for filter in [exercise_tests.to_string(), format!("not {exercise_tests}")] {
        let limit = std::time::Duration::from_secs(10 * 60);
        let out = workspace::output_within(
            cargo_in(ws, copy)
                .args(["nextest", "run", "-p", chapter, "--max-fail", "1:immediate"])
                .args(["--no-tests", "pass", "-E", &filter])
                .env(variants::VARIABLE, variant.value()),
            limit,
        )?;
        if out.status.success() {
            continue;
        }
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let failed = text
            .lines()
            .map(str::trim)
            .find(|l| {
                ["FAIL ", "TIMEOUT ", "SIGSEGV ", "SIGABRT "]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .and_then(|l| l.split_whitespace().last())
            .map(str::to_string);
        return match failed {
            Some(test) => Ok(Some(test)),
            None => bail!("{chapter}'s tests did not run:\n{text}"),
        };
    }
    Ok(None)
}

/// A failing run teaches once: an unfinished exercise's message may appear once per
/// failing test at most, never once per request or per thread. Returns the lines that
/// repeat more often than that.
fn repeated_messages(output: &str, failing: usize) -> Vec<String> {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for line in output
        .lines()
        .filter(|l| l.contains(crate::markers::UNFINISHED))
    {
        *counts.entry(line.trim()).or_default() += 1;
    }
    counts
        .into_iter()
        .filter(|&(_, n)| n > failing)
        .map(|(line, n)| {
            format!("{n} copies of one message in a run with {failing} failing tests: {line}")
        })
        .collect()
}

/// Runs a chapter's tests in the copy (those whose names contain `filter`, if given);
/// returns the names of the failing ones and the whole output (stdout and stderr).
fn failing_tests(
    ws: &Workspace,
    copy: &Path,
    chapter: &str,
    filter: Option<&str>,
    variant: Variant,
) -> anyhow::Result<(Vec<String>, String)> {
    // A stub must make tests fail, never hang: ten minutes is far beyond any chapter.
    let limit = std::time::Duration::from_secs(10 * 60);
    let mut command = cargo_in(ws, copy);
    command
        .args(["test", "-p", chapter, "--no-fail-fast"])
        .env(variants::VARIABLE, variant.value());
    if let Some(filter) = filter {
        command.arg(filter);
    }
    let out = workspace::output_within(&mut command, limit)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let outcomes = test_outcomes(&stdout);
    // (With a filter, no test at all is the caller's finding: "no ex_ test fails".)
    if outcomes.is_empty() && filter.is_none() {
        bail!(
            "{chapter}'s tests did not run:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let failing = outcomes
        .into_iter()
        .filter(|(_, passed)| !passed)
        .map(|(name, _)| name)
        .collect();
    Ok((
        failing,
        format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_repeated_beyond_one_per_failing_test_is_a_problem() {
        let line = "exercise 1.5 is not implemented yet: edit exercises/chapter1/client.rs";
        let twice = format!("{line}\n---- b ----\n{line}\n");
        assert!(repeated_messages(&twice, 2).is_empty());
        let flood = format!("{line}\n").repeat(64);
        let problems = repeated_messages(&flood, 2);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("64 copies"), "{problems:?}");
    }
}
