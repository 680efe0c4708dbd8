//! `cargo xtask progress`: runs each chapter's exercise tests on the student's code and
//! shows, per exercise, whether its tests pass; "next:" is the first unfinished exercise
//! of the chapter the student is working on (the one whose edited exercise files changed
//! last).
//!
//! It is quick because it builds every chapter's tests in one cargo call and runs only
//! the exercises' tests (`exK_`, and the `given::` ones); the chapter-wide tests, which
//! start clusters and run schedules, run with `--all`.

use std::path::Path;
use std::time::SystemTime;

use anyhow::Context as _;

use crate::exercises;
use crate::tracks;
use crate::workspace::{self, Chapter, Workspace, test_exercise, test_outcomes};

/// One exercise's verdict.
struct Line {
    /// `6.2`, and its number in the chapter, `2`.
    id: String,
    number: u32,
    title: String,
    /// Its exercise files, comma-separated.
    files: String,
    passed: usize,
    tests: usize,
    /// The optional track it belongs to, and whether that track is handed to the student.
    track: Option<(&'static tracks::Track, tracks::State)>,
}

impl Line {
    fn done(&self) -> bool {
        self.passed == self.tests && self.tests > 0
    }
}

/// One chapter's verdict: every exercise's tests, then (with `--all`) the chapter's own.
struct Report {
    name: String,
    compiles: bool,
    /// Every exercise, in the book's order.
    exercises: Vec<Line>,
    /// `(passed, tests)` of the chapter-wide tests, when they were run.
    chapter_wide: Option<(usize, usize)>,
}

pub fn run(ws: &Workspace, only: Option<&str>, all: bool) -> anyhow::Result<()> {
    let chapters = match only {
        Some(name) => vec![ws.chapter(name)?],
        None => ws.chapters()?,
    };
    eprintln!("building the tests of {} chapter(s)...", chapters.len());
    let mut build = ws.cargo();
    build.args(["test", "--no-run", "--tests", "--quiet"]);
    for chapter in &chapters {
        build.args(["-p", &chapter.name()]);
    }
    // A chapter that does not compile is reported below, by its own run.
    let _ = workspace::output(&mut build)?;
    let mut reports = Vec::new();
    for chapter in &chapters {
        reports.push(report(ws, chapter, all)?);
    }
    for report in &reports {
        print(report);
    }
    let current = working_on(ws, &chapters)?;
    match next(&reports, current.as_deref()) {
        Some(next) => println!("\nnext: {next}"),
        None if all => println!("\neverything passes. Well done."),
        None => {
            // One chapter asked for: its own chapter-wide tests, not every chapter's.
            let which = match &chapters[..] {
                [one] => format!(" {}", one.name()),
                _ => String::new(),
            };
            println!(
                "\nevery exercise passes. The chapter-wide tests: `cargo xtask progress{which} --all`."
            )
        }
    }
    Ok(())
}

/// Runs `chapter`'s exercise tests (and with `all` its chapter-wide ones).
fn report(ws: &Workspace, chapter: &Chapter, all: bool) -> anyhow::Result<Report> {
    let name = chapter.name();
    eprintln!("running {name}'s tests on your code...");
    let mut test = ws.cargo();
    test.args(["test", "-p", &name, "--tests", "--no-fail-fast", "--"]);
    if !all {
        test.args(["--skip", "chapter_"]);
    }
    let out = workspace::output(&mut test)?;
    let outcomes = test_outcomes(&String::from_utf8_lossy(&out.stdout));
    let mut exercises = Vec::new();
    for exercise in ws.exercises(chapter)? {
        let tests: Vec<bool> = outcomes
            .iter()
            .filter(|(test, _)| test_exercise(test) == Some(exercise.id.number))
            .map(|(_, passed)| *passed)
            .collect();
        let files = exercise
            .files
            .iter()
            .map(|f| chapter.exercise_path(f))
            .collect::<Vec<_>>()
            .join(", ");
        let passed = tests.iter().filter(|p| **p).count();
        let track = match tracks::of(exercise.id) {
            Some(track) => Some((track, track.state(ws)?)),
            None => None,
        };
        exercises.push(Line {
            id: exercise.id.to_string(),
            number: exercise.id.number,
            title: exercise.title,
            files,
            passed,
            tests: tests.len(),
            track,
        });
    }
    let chapter_wide = all.then(|| {
        let wide: Vec<bool> = outcomes
            .iter()
            .filter(|(test, _)| test_exercise(test).is_none() && test.contains("chapter_"))
            .map(|(_, passed)| *passed)
            .collect();
        (wide.iter().filter(|p| **p).count(), wide.len())
    });
    Ok(Report {
        name,
        compiles: !outcomes.is_empty(),
        exercises,
        chapter_wide,
    })
}

fn print(report: &Report) {
    let name = &report.name;
    println!("\n{name} (exercises/{name}/)");
    if !report.compiles {
        println!(
            "  does not compile yet: run `cargo test -p {name}` to see the compiler's message"
        );
        return;
    }
    let mut track_shown = None;
    for line in &report.exercises {
        if let Some((track, state)) = line.track
            && track_shown != Some(track.name)
        {
            track_shown = Some(track.name);
            match state {
                tracks::State::Given => println!(
                    "  the {} track, optional: given finished; `cargo xtask track {name} {}` \
                     hands it to you",
                    track.name, track.name
                ),
                tracks::State::Yours => println!(
                    "  the {} track, optional, yours (`cargo xtask track {name} {} off` gives \
                     it back finished):",
                    track.name, track.name
                ),
            }
        }
        let mark = match line.track {
            Some((_, tracks::State::Given)) => "·",
            _ if line.done() => "✔",
            _ => "✘",
        };
        println!(
            "  {mark} {:<5} {:<72} {}/{} tests",
            line.id, line.title, line.passed, line.tests
        );
    }
    match report.chapter_wide {
        Some((passed, tests)) => println!(
            "  {} {:<78} {passed}/{tests} tests",
            if passed == tests { "✔" } else { "✘" },
            "whole chapter (end-to-end tests)"
        ),
        None => println!("    whole chapter (end-to-end tests): `cargo test -p {name} chapter_`"),
    }
}

/// What to do next: in the chapter being worked on, its first unfinished exercise (or its
/// chapter-wide tests); then the chapters after it; then any chapter before it.
fn next(reports: &[Report], current: Option<&str>) -> Option<String> {
    let start = current
        .and_then(|c| reports.iter().position(|r| r.name == c))
        .unwrap_or(0);
    let order = reports[start..].iter().chain(&reports[..start]);
    order.filter_map(first_unfinished).next()
}

fn first_unfinished(report: &Report) -> Option<String> {
    let name = &report.name;
    if !report.compiles {
        return Some(format!("make {name} compile: `cargo test -p {name}`"));
    }
    if let Some(line) = report.exercises.iter().find(|line| !line.done()) {
        return Some(format!(
            "exercise {} in {} — run `cargo test -p {name} ex{}_`",
            line.id, line.files, line.number
        ));
    }
    match report.chapter_wide {
        Some((passed, tests)) if passed < tests => Some(format!(
            "{name}'s end-to-end tests — run `cargo test -p {name} chapter_`"
        )),
        _ => None,
    }
}

/// The chapter the student is working on: of the exercise files that differ from what
/// `cargo xtask exercises` generates (the ones the student has edited), the one changed
/// last names it. `None` before any edit: a fresh clone starts at the first chapter,
/// whatever order its files were written in.
fn working_on(ws: &Workspace, chapters: &[Chapter]) -> anyhow::Result<Option<String>> {
    let names: Vec<String> = chapters.iter().map(Chapter::name).collect();
    let mut latest: Option<(SystemTime, String)> = None;
    for file in exercises::generate(ws, crate::tracks::scaffolded)? {
        // `exercises/chapterN/file.rs`
        let Some(chapter) = file.path.split('/').nth(1).map(str::to_string) else {
            continue;
        };
        if !names.contains(&chapter) {
            continue;
        }
        let path = ws.root.join(&file.path);
        let Ok(on_disk) = std::fs::read_to_string(&path) else {
            continue;
        };
        if on_disk == file.content {
            continue; // untouched
        }
        let Some(changed) = modified(&path)? else {
            continue;
        };
        if latest.as_ref().is_none_or(|(t, _)| changed > *t) {
            latest = Some((changed, chapter));
        }
    }
    Ok(latest.map(|(_, name)| name))
}

fn modified(path: &Path) -> anyhow::Result<Option<SystemTime>> {
    match std::fs::metadata(path) {
        Ok(meta) => {
            Ok(Some(meta.modified().with_context(|| {
                format!("reading when {} changed", path.display())
            })?))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}
