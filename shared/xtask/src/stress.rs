//! `stress`: run a chapter's tests many times, several at once, and keep every failure.
//!
//! A flaky test fails once in hundreds of runs, usually when the machine is busy. This
//! builds the chapter's test binary once, runs it `runs` times, `jobs` at a time (each
//! run is a separate process, so a crash or a hang stays in its run), and keeps the whole
//! output of every failing run under `target/stress/<chapter>/run-<n>/`, with the
//! timeline pages its failure names. It ends with a summary: runs, failures, and each
//! distinct failure message with how often it occurred.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::workspace::{self, Workspace};

/// What to stress.
#[derive(Debug, Clone)]
pub struct Options {
    /// The chapter, e.g. `chapter5`.
    pub chapter: String,
    /// Only the tests whose names contain this.
    pub filter: Option<String>,
    /// How many runs.
    pub runs: usize,
    /// How many at once.
    pub jobs: usize,
    /// Run the reference solution instead of the student's code.
    pub solution: bool,
    /// A run that takes longer is killed and counted as a failure (a hang).
    pub timeout: Duration,
}

/// Runs the stress test and prints its summary; fails if any run failed.
pub fn run(ws: &Workspace, options: &Options) -> anyhow::Result<()> {
    ws.chapter(&options.chapter)?;
    let binary = test_binary(ws, &options.chapter, options.solution)?;
    let out = ws.root.join("target").join("stress").join(&options.chapter);
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    std::fs::create_dir_all(&out)?;
    println!(
        "{} runs of {}{}, {} at a time; failures kept in {}",
        options.runs,
        options.chapter,
        options
            .filter
            .as_deref()
            .map_or(String::new(), |f| format!(" (tests matching {f:?})")),
        options.jobs,
        out.display()
    );
    let crate_dir = ws.root.join("chapters").join(&options.chapter);
    let next = Arc::new(AtomicUsize::new(0));
    let failures: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let started = Instant::now();
    let bar = indicatif::ProgressBar::new(options.runs as u64).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs, {msg} [{elapsed}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message("0 failed");
    let workers: Vec<_> = (0..options.jobs.max(1))
        .map(|_| {
            let (next, failures, bar) = (Arc::clone(&next), Arc::clone(&failures), bar.clone());
            let (binary, out, crate_dir) = (binary.clone(), out.clone(), crate_dir.clone());
            let options = options.clone();
            std::thread::spawn(move || {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= options.runs {
                        return;
                    }
                    if let Some(reason) = one_run(&binary, &crate_dir, &out, &options, n) {
                        let mut failures = failures.lock().unwrap_or_else(PoisonError::into_inner);
                        failures.push((n, reason));
                        bar.set_message(format!("{} failed", failures.len()));
                    }
                    bar.inc(1);
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    bar.finish();
    let failures = failures
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    summarize(options.runs, &failures, &out, started.elapsed());
    if !failures.is_empty() {
        bail!("{} of {} runs failed", failures.len(), options.runs);
    }
    Ok(())
}

/// Builds `chapter`'s integration-test binary (with the reference solutions if
/// `solution`) and returns its path.
pub fn test_binary(ws: &Workspace, chapter: &str, solution: bool) -> anyhow::Result<PathBuf> {
    let mut command = ws.cargo();
    command.args(["test", "-p", chapter, "--no-run", "--message-format=json"]);
    if solution {
        command.args(["--features", "solution"]);
    }
    let output = workspace::output(&mut command)?;
    if !output.status.success() {
        bail!(
            "building {chapter}'s tests failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let wanted = chapter;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == wanted)
        .filter(|m| {
            m["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "test"))
        })
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .with_context(|| format!("no test binary named {wanted} was built"))
}

/// One run; `None` if it passed, else the first line of why it failed.
fn one_run(
    binary: &Path,
    crate_dir: &Path,
    out: &Path,
    options: &Options,
    n: usize,
) -> Option<String> {
    let mut command = std::process::Command::new(binary);
    if let Some(filter) = &options.filter {
        command.arg(filter);
    }
    // Tests find their files relative to the crate, as under `cargo test`.
    command.current_dir(crate_dir);
    let (passed, text) = match workspace::output_within(&mut command, options.timeout) {
        Ok(output) => (
            output.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        ),
        Err(e) => (false, format!("{e:#}\n")),
    };
    if passed {
        return None;
    }
    let dir = out.join(format!("run-{n}"));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("output.txt"), &text);
    // Keep the timeline pages the failure names (the originals may be overwritten).
    for line in text.lines() {
        if let Some(path) = line.trim().strip_prefix("timeline: ") {
            let path = Path::new(path.trim());
            if let Some(name) = path.file_name() {
                let _ = std::fs::copy(path, dir.join(name));
            }
        }
    }
    Some(reason(&text))
}

/// The first line of a failure that says what went wrong: a panic's message (the line
/// after `panicked at`), or the runner's own complaint.
fn reason(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    lines
        .iter()
        .position(|l| l.contains("panicked at"))
        .and_then(|i| lines.get(i + 1))
        .or_else(|| lines.iter().find(|l| l.contains("did not finish within")))
        .or_else(|| lines.last())
        .map_or_else(
            || "no output".to_string(),
            |l| l.trim().chars().take(300).collect(),
        )
}

fn summarize(runs: usize, failures: &[(usize, String)], out: &Path, took: Duration) {
    println!(
        "{runs} runs in {:.0} s: {} failed",
        took.as_secs_f64(),
        failures.len()
    );
    let mut distinct: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (n, reason) in failures {
        distinct.entry(reason).or_default().push(*n);
    }
    for (reason, runs) in &distinct {
        println!(
            "  {} x {reason}\n      e.g. {}",
            runs.len(),
            out.join(format!("run-{}", runs[0]))
                .join("output.txt")
                .display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_named_by_its_panic_message() {
        let output =
            "running 1 test\nthread 'x' panicked at a.rs:1:2:\nseed 7: two leaders\nnote: ...\n";
        assert_eq!(reason(output), "seed 7: two leaders");
        assert_eq!(
            reason("error: did not finish within 60s\n"),
            "error: did not finish within 60s"
        );
    }
}
