//! `mutation`: an automatic mutation pass over a chapter's solution files.
//!
//! The known mutants (`solutions/chapterN/MUTANTS.md`, checked by `check`) are the bugs
//! a student is likely to write. This pass asks a tool instead: `cargo-mutants` replaces
//! every function body, operator and comparison it can in the student's files, one at a
//! time, and runs the chapter's default suite on each (with nextest, stopping at the
//! first failure without waiting for the tests still running). A mutant that no test
//! catches is either a gap in the tests or an equivalent program; each one is worth a
//! look.
//!
//! cargo-mutants reads a crate's modules from its source and does not follow the
//! `#[cfg_attr(feature = "solution", path = "...")]` that mounts `solutions/`, so the pass
//! runs in a scratch copy where the chapter's solution files sit in `src/` as ordinary
//! modules. Results go to `target/mutation/<chapter>/mutants.out/`.

use std::path::Path;

use anyhow::{Context, bail};

use crate::workspace::{self, Workspace};

/// What to run.
#[derive(Debug)]
pub struct Options {
    /// The chapter, e.g. `chapter2`.
    pub chapter: String,
    /// Kill a mutant's test run after this long (a hang counts as caught, and is listed).
    pub timeout: std::time::Duration,
    /// Only list the mutants.
    pub list: bool,
}

/// Runs the pass and prints the summary.
pub fn run(ws: &Workspace, options: &Options) -> anyhow::Result<()> {
    let chapter = &options.chapter;
    ws.chapter(chapter)?;
    let has_tool = ws
        .cargo()
        .args(["mutants", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_tool {
        bail!("cargo-mutants is not installed: cargo install cargo-mutants --locked");
    }
    let copy = ws.root.join("target/xtask/mutation");
    let files = mount_solutions(ws, &copy, chapter)?;
    let out = ws.root.join("target/mutation").join(chapter);
    std::fs::create_dir_all(&out)?;
    // Every cargo command in the copy builds into one target directory of its own.
    let in_copy = || {
        let mut command = ws.cargo();
        command.current_dir(&copy).env(
            "CARGO_TARGET_DIR",
            ws.root.join("target/xtask/mutation-target"),
        );
        command
    };
    let mut command = in_copy();
    command
        .args(["mutants", "--in-place", "--no-shuffle", "-p", chapter])
        .args(["--test-tool", "nextest", "--baseline", "skip"])
        // Stop a mutant's run at its first failing test, without waiting for the slow
        // end-to-end tests already running: most mutants are caught in a second.
        .arg("--cargo-test-arg=--max-fail=1:immediate")
        .arg("--timeout")
        .arg(options.timeout.as_secs().to_string())
        .arg("--output")
        .arg(&out);
    for file in &files {
        command
            .arg("--file")
            .arg(format!("chapters/{chapter}/src/{file}"));
    }
    if options.list {
        command.arg("--list");
        return workspace::run(&mut command);
    }
    // The reference must pass first: a mutant is only "caught" against a green suite.
    workspace::run(in_copy().args(["nextest", "run", "-p", chapter]))
        .context("the chapter's suite fails in the scratch copy before any mutation")?;
    // cargo-mutants exits 2 when a mutant is missed and 3 when one timed out: the
    // summary says so. Anything else but 0 means it did not run.
    let status = command.status()?;
    if !matches!(status.code(), Some(0 | 2 | 3)) {
        bail!("cargo mutants failed ({status}): see its output above");
    }
    summarize(&out.join("mutants.out"), chapter)
}

/// Copies the workspace to `copy` and moves the chapter's solution files into its `src/`
/// as plain modules. Returns their file names.
fn mount_solutions(ws: &Workspace, copy: &Path, chapter: &str) -> anyhow::Result<Vec<String>> {
    crate::check::make_plain_copy(ws, copy)?;
    let src = copy.join("chapters").join(chapter).join("src");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(ws.root.join("solutions").join(chapter))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            std::fs::copy(&path, src.join(&name))?;
            files.push(name);
        }
    }
    files.sort();
    let lib = src.join("lib.rs");
    let text = std::fs::read_to_string(&lib)?;
    std::fs::write(&lib, without_mount_attributes(&text))?;
    Ok(files)
}

/// `lib.rs` without the `#[cfg_attr(..., path = "...")]` attributes that mount
/// `exercises/` or `solutions/`: each module is then read from `src/`.
fn without_mount_attributes(lib: &str) -> String {
    let mut out = String::with_capacity(lib.len());
    let mut rest = lib;
    while let Some(start) = rest.find("#[cfg_attr(") {
        let Some(len) = rest[start..].find(")]") else {
            break;
        };
        let attribute = &rest[start..start + len + 2];
        out.push_str(&rest[..start]);
        if !attribute.contains("path =") {
            out.push_str(attribute);
        }
        rest = rest[start + len + 2..].trim_start_matches([' ', '\n']);
        if attribute.contains("path =") {
            continue;
        }
        out.push('\n');
    }
    out.push_str(rest);
    out
}

/// Prints the counts per outcome and every missed or timed-out mutant.
fn summarize(out: &Path, chapter: &str) -> anyhow::Result<()> {
    let read = |name: &str| -> Vec<String> {
        std::fs::read_to_string(out.join(name))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    };
    let (caught, missed, timeout, unviable) = (
        read("caught.txt"),
        read("missed.txt"),
        read("timeout.txt"),
        read("unviable.txt"),
    );
    println!(
        "\n{chapter}: {} mutants: {} caught, {} missed, {} timed out, {} unviable (do not build)",
        caught.len() + missed.len() + timeout.len() + unviable.len(),
        caught.len(),
        missed.len(),
        timeout.len(),
        unviable.len()
    );
    for line in &missed {
        println!("  missed:    {line}");
    }
    for line in &timeout {
        println!("  timed out: {line}");
    }
    println!("details: {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_attributes_go_and_others_stay() {
        let lib = "#[cfg_attr(\n    not(feature = \"solution\"),\n    path = \"../../../exercises/c/a.rs\"\n)]\n\
                   #[cfg_attr(feature = \"solution\", path = \"../../../solutions/c/a.rs\")]\n\
                   pub mod a;\n\n#[cfg_attr(test, allow(dead_code))]\npub mod b;\n";
        assert_eq!(
            without_mount_attributes(lib),
            "pub mod a;\n\n#[cfg_attr(test, allow(dead_code))]\npub mod b;\n"
        );
    }
}
