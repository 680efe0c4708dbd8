//! Exact verdicts: the checks that run each chapter's suite against variants of its
//! finished code (see `variants`), all from one build of each chapter in the copy.
//!
//! - every exercise's stub is caught by one of its own `exK_` tests, with a message that
//!   names the exercise and the file to edit, and the whole skeleton fails;
//! - every prefix of a chapter's exercises passes its own tests (`order`);
//! - every known mutant (`MUTANTS.md`) is caught by a test of its own exercise, whose
//!   message is more than a bare assertion.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, bail};

use super::copy::cargo_in;
use crate::exercises;
use crate::variants::{self, Switchable, Variant};
use crate::workspace::{self, Workspace, test_exercise, test_outcomes};

/// Writes every chapter's variants into the copy (see `variants`) and builds each
/// chapter's tests once. Returns the files written, and the mutants they switch as
/// (chapter, index).
pub(super) fn build_variants(
    ws: &Workspace,
    copy: &Path,
    only: Option<&str>,
) -> anyhow::Result<(Vec<exercises::Generated>, Switchable)> {
    let (files, switchable) = variants::generate(ws)?;
    exercises::write_to(copy, &files)?;
    let mut command = cargo_in(ws, copy);
    command.args(["test", "--no-run", "--quiet"]);
    for chapter in ws.chapters_named(only)? {
        command.args(["-p", &chapter.name()]);
    }
    workspace::run(&mut command).context("building the chapters with their variants")?;
    Ok((files, switchable))
}

pub(super) fn stubs_are_caught(
    ws: &Workspace,
    copy: &Path,
    only: Option<&str>,
) -> anyhow::Result<()> {
    for chapter in ws.chapters_named(only)? {
        let mut problems = Vec::new();
        for exercise in ws.exercises(&chapter)? {
            let id = exercise.id;
            // The exercise's own tests only: the chapter-wide ones would wait out their
            // deadlines on a stub, and the whole skeleton's run below covers them.
            let filter = format!("ex{}_", id.number);
            let (failing, output) =
                failing_tests(ws, copy, &chapter.name(), &[&filter], Variant::Stub(id))?;
            let teaching = format!(
                "exercise {id} {}: edit exercises/",
                crate::markers::UNFINISHED
            );
            if !output.contains(&teaching) {
                problems.push(format!(
                    "exercise {id}: no test output says {teaching:?}: a student would not know what to do"
                ));
            }
            let own: Vec<&String> = failing
                .iter()
                .filter(|t| test_exercise(t) == Some(id.number))
                .collect();
            if own.is_empty() {
                problems.push(format!(
                    "exercise {id} ({}): with only it stubbed, no ex{}_ test fails (failing: {failing:?})",
                    exercise.title, id.number
                ));
            } else {
                println!(
                    "exercise {id}: stub caught by {} test(s), e.g. {}",
                    own.len(),
                    own[0]
                );
            }
        }
        let (failing, output) = failing_tests(ws, copy, &chapter.name(), &[], Variant::AllStubs)?;
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

/// Runs each chapter's known mutants, one at a time: each must make a test of its own
/// exercise fail (an `exK_` test, K the exercise whose region the mutant changes), and
/// that test's message must say more than a bare assertion. Switched mutants run in
/// the build `build_variants` made; a mutant that changes lines outside every exercise
/// region is written into the copy, built on its own, and may be caught by any test.
pub(super) fn mutants_are_caught(
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
    for chapter in ws.chapters_named(only)? {
        let name = chapter.name();
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
            let exercise = variants::mutant_exercise(
                &chapter.solution_path(&mutant.file),
                &ws.read(&chapter.solution_path(&mutant.file))?,
                mutant,
            )?;
            let how = if switchable.contains(&(name.clone(), n)) {
                "switched"
            } else {
                // Built on its own; the file goes back to its switched form afterwards.
                std::fs::write(copy.join(&target), mutated)?;
                "built alone"
            };
            let run = |own| {
                caught_by(
                    ws,
                    copy,
                    &name,
                    Variant::Mutant(chapter.number, n),
                    own,
                    has_nextest,
                )
            };
            let caught = run(exercise).and_then(|caught| match (caught, exercise) {
                // Not by its own exercise's tests: say which test does catch it, if any.
                (None, Some(_)) => Ok(run(None)?.map(|(test, _)| Err(test))),
                (caught, _) => Ok(caught.map(Ok)),
            });
            if let Some(switched) = switched_files.iter().find(|f| f.path == target) {
                std::fs::write(copy.join(&target), &switched.content)?;
            }
            let own = exercise.map_or("any".to_string(), |k| format!("an ex{k}_"));
            match caught {
                Ok(None) => problems.push(format!(
                    "{name}: mutant {:?} ({}) survives: no test fails",
                    mutant.name, mutant.file
                )),
                Ok(Some(Err(test))) => problems.push(format!(
                    "{name}: mutant {:?} ({}) is caught only by {test}, not by {own} test: \
                     the exercise's own tests must catch it",
                    mutant.name, mutant.file
                )),
                Ok(Some(Ok((test, output)))) => match bare_assertion(&output) {
                    Some(line) => problems.push(format!(
                        "{name}: mutant {:?} is caught by {test}, but with a bare assertion \
                         ({line:?}): the message must name the rule that broke",
                        mutant.name
                    )),
                    None => println!(
                        "{name}: mutant {:?} ({how}) caught in {:.1?} by {test}",
                        mutant.name,
                        started.elapsed()
                    ),
                },
                Err(e) => problems.push(format!("{name}: mutant {:?}: {e:#}", mutant.name)),
            }
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(())
}

/// The first test of `chapter` that fails in the copy with `variant` on, if any, and the
/// run's output: only exercise `own`'s tests if given, else every test. With
/// cargo-nextest a run stops at its first failure and, for the whole suite, the
/// exercises' tests run before the slower chapter-wide ones.
fn caught_by(
    ws: &Workspace,
    copy: &Path,
    chapter: &str,
    variant: Variant,
    own: Option<u32>,
    has_nextest: bool,
) -> anyhow::Result<Option<(String, String)>> {
    if !has_nextest {
        let filter = own.map(|k| format!("ex{k}_"));
        let filters: Vec<&str> = filter.iter().map(String::as_str).collect();
        let (failing, output) = failing_tests(ws, copy, chapter, &filters, variant)?;
        let failing = failing
            .into_iter()
            .find(|t| own.is_none() || test_exercise(t) == own);
        return Ok(failing.map(|test| (test, output)));
    }
    let filters = match own {
        Some(k) => vec![format!("test(/(^|::)ex{k}_[^:]*$/)")],
        None => {
            let exercise_tests = "test(/^ex[0-9]+_/)";
            vec![exercise_tests.to_string(), format!("not {exercise_tests}")]
        }
    };
    for filter in filters {
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
            Some(test) => Ok(Some((test, text))),
            None => bail!("{chapter}'s tests did not run:\n{text}"),
        };
    }
    Ok(None)
}

/// The line of a failing test's output that shows an assertion with no message of its
/// own (`assert!(x)`, `assert_eq!(a, b)`), if any: such a failure says what differed,
/// never which rule broke.
fn bare_assertion(output: &str) -> Option<&str> {
    output.lines().map(str::trim).find(|line| {
        line.contains("assertion failed: ")
            || line.ends_with("assertion `left == right` failed")
            || line.ends_with("assertion `left != right` failed")
    })
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

/// Runs a chapter's tests in the copy (those whose names contain one of `filters`, or
/// all); returns the names of the failing ones and the whole output (stdout and stderr).
pub(super) fn failing_tests(
    ws: &Workspace,
    copy: &Path,
    chapter: &str,
    filters: &[&str],
    variant: Variant,
) -> anyhow::Result<(Vec<String>, String)> {
    tests_in_copy(ws, copy, chapter, &[], filters, Some(variant))
}

/// [`failing_tests`] with `features` on, and `variant` (none: the finished code).
pub(super) fn tests_in_copy(
    ws: &Workspace,
    copy: &Path,
    chapter: &str,
    features: &[&str],
    filters: &[&str],
    variant: Option<Variant>,
) -> anyhow::Result<(Vec<String>, String)> {
    // A stub must make tests fail, never hang: ten minutes is far beyond any chapter.
    let limit = std::time::Duration::from_secs(10 * 60);
    let mut command = cargo_in(ws, copy);
    command.args(["test", "-p", chapter, "--no-fail-fast"]);
    if !features.is_empty() {
        command.args(["--features", &features.join(",")]);
    }
    match variant {
        Some(variant) => command.env(variants::VARIABLE, variant.value()),
        None => command.env_remove(variants::VARIABLE),
    };
    if !filters.is_empty() {
        command.arg("--").args(filters);
    }
    let out = workspace::output_within(&mut command, limit)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let outcomes = test_outcomes(&stdout);
    // (With a filter, no test at all is the caller's finding: "no ex_ test fails".)
    if outcomes.is_empty() && filters.is_empty() {
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
    fn a_bare_assertion_is_told_from_one_that_names_its_rule() {
        let bare = "thread 'x' panicked at tests/a.rs:3:5:\nassertion `left == right` failed\n  left: 1\n right: 2";
        assert!(bare_assertion(bare).is_some(), "assert_eq! with no message");
        let bare = "thread 'x' panicked at tests/a.rs:3:5:\nassertion failed: x > 2";
        assert!(bare_assertion(bare).is_some(), "assert! with no message");
        let named = "thread 'x' panicked at tests/a.rs:3:5:\nassertion `left == right` failed: a vote needs the up-to-date check\n  left: 1";
        assert_eq!(bare_assertion(named), None, "a message naming the rule");
    }

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
