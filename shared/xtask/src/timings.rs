//! `timings`: how long each chapter's suite takes, warm, and which tests take longest.
//!
//! A measurement, not a check: it prints what it saw. For each chapter it builds the
//! reference tests, times `cargo test -p chapterN --features solution` as a student or
//! an instructor would run it (warm: nothing to compile), then runs each test of the
//! chapter's test binary alone and lists the slowest.

use std::time::{Duration, Instant};

use anyhow::bail;

use crate::workspace::{self, Workspace};

/// Measures `chapters` (every chapter if empty) and prints the figures.
pub fn run(ws: &Workspace, chapters: &[String], slowest: usize) -> anyhow::Result<()> {
    let all: Vec<String> = ws.chapters()?.iter().map(|c| c.name()).collect();
    let chosen: Vec<String> = if chapters.is_empty() {
        all
    } else {
        chapters.to_vec()
    };
    let mut rows = Vec::new();
    for chapter in &chosen {
        ws.chapter(chapter)?;
        let binary = crate::stress::test_binary(ws, chapter, true)?;
        let mut warm = ws.cargo();
        warm.args(["test", "-p", chapter, "--features", "solution"]);
        let started = Instant::now();
        let output = workspace::output(&mut warm)?;
        let suite = started.elapsed();
        if !output.status.success() {
            bail!(
                "{chapter}'s reference tests fail: run `cargo test -p {chapter} --features solution`"
            );
        }
        let list = workspace::output(
            std::process::Command::new(&binary).args(["--list", "--format", "terse"]),
        )?;
        let names: Vec<String> = String::from_utf8_lossy(&list.stdout)
            .lines()
            .filter_map(|l| l.strip_suffix(": test"))
            .map(str::to_string)
            .collect();
        let mut tests: Vec<(Duration, String)> = Vec::new();
        for name in names {
            let started = Instant::now();
            let _ = workspace::output(
                std::process::Command::new(&binary)
                    .current_dir(ws.root.join("chapters").join(chapter))
                    .args(["--exact", &name, "--test-threads", "1"]),
            )?;
            tests.push((started.elapsed(), name));
        }
        tests.sort_by_key(|t| std::cmp::Reverse(t.0));
        println!(
            "{chapter}: cargo test -p {chapter} --features solution took {:.1} s warm ({} tests)",
            suite.as_secs_f64(),
            tests.len()
        );
        for (took, name) in tests.iter().take(slowest) {
            println!("  {:>7.2} s  {name}", took.as_secs_f64());
        }
        rows.push((chapter.clone(), suite));
    }
    println!("\nwarm suite times:");
    for (chapter, suite) in rows {
        println!("  {chapter:<10} {:>6.1} s", suite.as_secs_f64());
    }
    Ok(())
}
