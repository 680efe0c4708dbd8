//! Where things are in the workspace, and how cargo and other tools are run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context as _, bail};

use crate::markers::{self, Region};

/// The workspace root and its chapters.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
}

/// One chapter: its number and the student-owned files it has.
#[derive(Debug, Clone)]
pub struct Chapter {
    pub number: u32,
    /// File names (e.g. `store.rs`) present in `solutions/chapterN/`, sorted.
    pub files: Vec<String>,
}

impl Chapter {
    pub fn name(&self) -> String {
        format!("chapter{}", self.number)
    }
    pub fn solution_path(&self, file: &str) -> String {
        format!("solutions/{}/{file}", self.name())
    }
    pub fn exercise_path(&self, file: &str) -> String {
        format!("exercises/{}/{file}", self.name())
    }
}

/// One exercise, gathered from every region with its id.
#[derive(Debug, Clone)]
pub struct Exercise {
    pub id: markers::ExerciseId,
    pub title: String,
    /// The exercise files that hold a region of it.
    pub files: Vec<String>,
}

impl Workspace {
    /// The workspace of this xtask (two levels above its manifest).
    pub fn locate() -> anyhow::Result<Self> {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest
            .parent()
            .and_then(Path::parent)
            .context("xtask is not in shared/xtask")?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// Every chapter with a `solutions/chapterN/` folder, in order.
    pub fn chapters(&self) -> anyhow::Result<Vec<Chapter>> {
        let mut chapters = Vec::new();
        for entry in std::fs::read_dir(self.root.join("solutions")).context("reading solutions/")? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(number) = name.strip_prefix("chapter").and_then(|n| n.parse().ok()) else {
                bail!("solutions/{name} is not a chapter folder (chapterN)");
            };
            let mut files = Vec::new();
            for file in std::fs::read_dir(entry.path())? {
                let file = file?.file_name().to_string_lossy().into_owned();
                if file == "MUTANTS.md" {
                    continue; // the chapter's known mutants (see mutants.rs)
                }
                if !file.ends_with(".rs") {
                    bail!(
                        "solutions/{name}/{file} is not a Rust file: only .rs files (and \
                         MUTANTS.md) belong there"
                    );
                }
                files.push(file);
            }
            files.sort();
            chapters.push(Chapter { number, files });
        }
        chapters.sort_by_key(|c| c.number);
        Ok(chapters)
    }

    /// Every chapter, or only the one called `only`.
    pub fn chapters_named(&self, only: Option<&str>) -> anyhow::Result<Vec<Chapter>> {
        match only {
            Some(name) => Ok(vec![self.chapter(name)?]),
            None => self.chapters(),
        }
    }

    /// The chapter called `name` (`chapter1` or `1`).
    pub fn chapter(&self, name: &str) -> anyhow::Result<Chapter> {
        let number: u32 = name
            .trim_start_matches("chapter")
            .parse()
            .with_context(|| format!("{name:?} is not a chapter name like chapter1"))?;
        self.chapters()?
            .into_iter()
            .find(|c| c.number == number)
            .with_context(|| format!("there is no chapter{number}"))
    }

    pub fn read(&self, relative: &str) -> anyhow::Result<String> {
        std::fs::read_to_string(self.root.join(relative))
            .with_context(|| format!("reading {relative}"))
    }

    /// The regions of one solution file.
    pub fn regions(&self, chapter: &Chapter, file: &str) -> anyhow::Result<Vec<Region>> {
        let path = chapter.solution_path(file);
        markers::parse(&path, &self.read(&path)?)
    }

    /// A chapter's exercises, in id order, checked to belong to the chapter.
    pub fn exercises(&self, chapter: &Chapter) -> anyhow::Result<Vec<Exercise>> {
        let mut exercises: Vec<Exercise> = Vec::new();
        for file in &chapter.files {
            for region in self.regions(chapter, file)? {
                if region.id.chapter != chapter.number {
                    bail!(
                        "{}: exercise {} is marked in {}",
                        chapter.solution_path(file),
                        region.id,
                        chapter.name()
                    );
                }
                match exercises.iter_mut().find(|e| e.id == region.id) {
                    Some(e) if e.files.contains(file) => {}
                    Some(e) => e.files.push(file.clone()),
                    None => exercises.push(Exercise {
                        id: region.id,
                        title: region.title,
                        files: vec![file.clone()],
                    }),
                }
            }
        }
        exercises.sort_by_key(|e| e.id);
        Ok(exercises)
    }

    /// A `cargo` command (the one running this xtask) in the workspace root.
    pub fn cargo(&self) -> Command {
        let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        command.current_dir(&self.root);
        command
    }
}

/// Runs `command`, capturing its output; fails only if it could not be started.
pub fn output(command: &mut Command) -> anyhow::Result<Output> {
    command
        .output()
        .with_context(|| format!("running {command:?}"))
}

/// Runs `command`, capturing its output, and kills it (with everything it started) if it
/// is not done after `limit`: a test that hangs must fail the check, not stall it.
pub fn output_within(command: &mut Command, limit: std::time::Duration) -> anyhow::Result<Output> {
    use std::os::unix::process::CommandExt as _;
    use std::process::Stdio;
    let started = std::time::Instant::now();
    let mut child = command
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {command:?}"))?;
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > limit {
            // The whole process group: cargo and the test binary it started.
            let _ = Command::new("kill")
                // `--`: without it procps' kill reads `-<pid>` as something other than a group.
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            bail!(
                "{command:?} did not finish within {limit:?}: something hangs instead of failing"
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// Runs `command` with inherited output; fails if it fails.
pub fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

/// `diff chapterN`: exercise vs solution. `diff chapterA chapterB`: what B adds to A.
///
/// Between chapters, each side is the chapter's *whole* system: its given code and its
/// solutions side by side (what was a solution in A is often given code in B), then its
/// tests.
pub fn diff(ws: &Workspace, first: &str, second: Option<&str>) -> anyhow::Result<()> {
    let a = ws.chapter(first)?;
    let pairs = match second {
        None => vec![(
            format!("exercises/{}", a.name()),
            format!("solutions/{}", a.name()),
        )],
        Some(second) => {
            let b = ws.chapter(second)?;
            let (left, right) = (whole_system(ws, &a)?, whole_system(ws, &b)?);
            vec![
                (left, right),
                (
                    format!("chapters/{}/tests", a.name()),
                    format!("chapters/{}/tests", b.name()),
                ),
            ]
        }
    };
    for (left, right) in pairs {
        // `git diff --no-index` works outside a repository too; exit code 1 means "differs".
        let status = Command::new("git")
            .args([
                "diff",
                "--no-index",
                "--stat",
                "--patch",
                "--",
                &left,
                &right,
            ])
            .current_dir(&ws.root)
            .status()
            .context("running git diff (is git installed?)")?;
        if status.code().is_none_or(|c| c > 1) {
            bail!("git diff {left} {right} failed ({status})");
        }
    }
    Ok(())
}

/// Copies a chapter's given sources and its solutions into one folder under
/// `target/xtask/diff/`, and returns that folder relative to the root.
fn whole_system(ws: &Workspace, chapter: &Chapter) -> anyhow::Result<String> {
    let relative = format!("target/xtask/diff/{}", chapter.name());
    let dir = ws.root.join(&relative);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    // Carried copies go where their module path says (`src/carried/node/peers.rs` is
    // `node/peers.rs`), so a file carried into a chapter compares with its original.
    for source in [
        format!("chapters/{}/src", chapter.name()),
        format!("chapters/{}/src/carried", chapter.name()),
        format!("solutions/{}", chapter.name()),
    ] {
        if ws.root.join(&source).exists() {
            copy_finished(&ws.root.join(&source), &dir)?;
        }
    }
    let carried = dir.join("carried");
    if carried.exists() {
        std::fs::remove_dir_all(carried)?;
    }
    Ok(relative)
}

/// Copies `from` into `to`, subfolders included, each Rust file as finished code
/// ([`crate::markers::finished_code`]): markers, anchors and carried headers are not
/// what a lesson adds.
fn copy_finished(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_finished(&entry.path(), &target)?;
        } else if entry.path().extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(entry.path())?;
            std::fs::write(target, crate::markers::finished_code(&text))?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Test outcomes from `cargo test` output: `(name, passed)` for every `test x ... ok|FAILED` line.
pub fn test_outcomes(output: &str) -> Vec<(String, bool)> {
    output
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("test ")?;
            let (name, result) = rest.rsplit_once(" ... ")?;
            match result.trim() {
                "ok" => Some((name.to_string(), true)),
                "FAILED" => Some((name.to_string(), false)),
                _ => None,
            }
        })
        .collect()
}

/// The exercise a test covers, from its name: `ex3_...` (in any module) is exercise 3.
pub fn test_exercise(name: &str) -> Option<u32> {
    let last = name.rsplit("::").next()?;
    let digits: String = last
        .strip_prefix("ex")?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    if last[2 + digits.len()..].starts_with('_') {
        digits.parse().ok()
    } else {
        None
    }
}

/// Every file below `dir` whose extension is `extension`.
pub fn files_ending(dir: &Path, extension: &str) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(files_ending(&path, extension)?);
        } else if path.extension().is_some_and(|e| e == extension) {
            files.push(path);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_lines_are_parsed() {
        let out = "running 3 tests\ntest ex1_store::ex1_put_then_get ... ok\ntest a::ex2_cas ... FAILED\ntest x ... ignored\n";
        assert_eq!(
            test_outcomes(out),
            vec![
                ("ex1_store::ex1_put_then_get".to_string(), true),
                ("a::ex2_cas".to_string(), false)
            ]
        );
    }

    #[test]
    fn test_names_map_to_exercises() {
        assert_eq!(test_exercise("ex1_store::ex1_put_then_get"), Some(1));
        assert_eq!(test_exercise("ex12_big"), Some(12));
        assert_eq!(test_exercise("chapter_concurrency"), None);
        assert_eq!(test_exercise("ex1store"), None);
        assert_eq!(test_exercise("exx_1"), None);
    }
}
