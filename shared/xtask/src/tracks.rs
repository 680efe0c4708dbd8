//! Optional tracks: exercises that ship finished and are handed to the student only on
//! request (`cargo xtask track chapter7 systems`).
//!
//! A track's exercises are marked in `solutions/` like every other (`// EXERCISE 7.8`),
//! so `cargo xtask check` proves their stubs, order and mutants like any exercise's. The
//! one difference is what `cargo xtask exercises` writes: their regions stay finished,
//! so the scaffolded course is complete and green without them. Turning a track on
//! rewrites its files with the regions stubbed; turning it off writes them finished
//! again. A track's files hold only the track's regions, so neither touches the
//! student's work on other exercises.

use anyhow::{Context as _, bail};

use crate::generated::rustfmt;
use crate::markers::{self, ExerciseId};
use crate::workspace::Workspace;

/// An optional track of one chapter.
pub struct Track {
    pub chapter: u32,
    pub name: &'static str,
    /// Its exercises' numbers in the chapter.
    pub exercises: &'static [u32],
    /// What the student builds in it, for `progress` and `track`.
    pub about: &'static str,
}

pub const TRACKS: &[Track] = &[Track {
    chapter: 7,
    name: "systems",
    exercises: &[7, 8, 9],
    about: "the running system's parts: a replica's request path (7.7), the controller's \
            loop (7.8), a big shard moved in pieces (7.9)",
}];

/// The track `id` belongs to, if it is optional.
pub fn of(id: ExerciseId) -> Option<&'static Track> {
    TRACKS
        .iter()
        .find(|t| t.chapter == id.chapter && t.exercises.contains(&id.number))
}

/// What `cargo xtask exercises` stubs: every exercise but the optional ones.
pub fn scaffolded(id: ExerciseId) -> bool {
    of(id).is_none()
}

/// Whether a track is handed to the student, finished, or in neither state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Its files hold the finished code (the default).
    Given,
    /// Its files are the student's: stubbed or being written.
    Yours,
}

/// One file of a track: what it is on disk, finished and stubbed.
struct TrackFile {
    path: String,
    on_disk: Option<String>,
    finished: String,
    stubbed: String,
}

impl Track {
    fn has(&self, id: ExerciseId) -> bool {
        id.chapter == self.chapter && self.exercises.contains(&id.number)
    }

    fn files(&self, ws: &Workspace) -> anyhow::Result<Vec<TrackFile>> {
        let chapter = ws.chapter(&format!("chapter{}", self.chapter))?;
        let mut files = Vec::new();
        for file in &chapter.files {
            let solution = chapter.solution_path(file);
            let source = ws.read(&solution)?;
            let regions = markers::parse(file, &source)?;
            if !regions.iter().any(|r| self.has(r.id)) {
                continue;
            }
            if let Some(other) = regions.iter().find(|r| !self.has(r.id)) {
                bail!(
                    "{file} holds exercise {} beside the {} track's: a track's files must hold \
                     only its own exercises, so that turning it on or off touches nothing else",
                    other.id,
                    self.name
                );
            }
            let path = chapter.exercise_path(file);
            // What `cargo xtask exercises` writes (finished), and the same stubbed.
            let generate = |stub: &dyn Fn(ExerciseId) -> bool| -> anyhow::Result<String> {
                rustfmt(&markers::generate(&solution, &path, &source, stub)?)
                    .with_context(|| format!("generating {path}"))
            };
            files.push(TrackFile {
                on_disk: std::fs::read_to_string(ws.root.join(&path)).ok(),
                finished: generate(&scaffolded)?,
                stubbed: generate(&|id| scaffolded(id) || self.has(id))?,
                path,
            });
        }
        Ok(files)
    }

    /// `Given` while every file of the track holds the finished code.
    pub fn state(&self, ws: &Workspace) -> anyhow::Result<State> {
        let files = self.files(ws)?;
        Ok(
            if files
                .iter()
                .all(|f| f.on_disk.as_ref() == Some(&f.finished))
            {
                State::Given
            } else {
                State::Yours
            },
        )
    }
}

/// What `cargo xtask track` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Action {
    /// Hand the track's exercises to you: their regions become `todo!`s.
    On,
    /// Give them back finished (your work on them is replaced only with `--discard`).
    Off,
    /// Say where the track stands.
    Status,
}

/// `cargo xtask track chapterN name on|off|status [--discard]`.
pub fn run(
    ws: &Workspace,
    chapter: &str,
    name: &str,
    action: Action,
    discard: bool,
) -> anyhow::Result<()> {
    let number: u32 = chapter
        .strip_prefix("chapter")
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("{chapter:?} is not a chapter like chapter7"))?;
    let Some(track) = TRACKS
        .iter()
        .find(|t| t.chapter == number && t.name == name)
    else {
        let known: Vec<String> = TRACKS
            .iter()
            .map(|t| format!("chapter{} {}", t.chapter, t.name))
            .collect();
        bail!(
            "{chapter} has no track {name:?}; the tracks are: {}",
            known.join(", ")
        );
    };
    let exercises = track
        .exercises
        .iter()
        .map(|n| format!("{number}.{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "chapter {number}'s {} track (exercises {exercises}): {}",
        track.name, track.about
    );
    let mut kept = Vec::new();
    for file in track.files(ws)? {
        let on_disk = file.on_disk.as_deref();
        let (finished, stubbed) = (
            on_disk == Some(&file.finished),
            on_disk == Some(&file.stubbed),
        );
        let write = |content: &str| std::fs::write(ws.root.join(&file.path), content);
        match action {
            Action::Status if finished => println!("  {}: given (finished code)", file.path),
            Action::Status if stubbed => println!("  {}: yours, not started", file.path),
            Action::Status => println!("  {}: yours, edited", file.path),
            Action::On if finished || on_disk.is_none() => {
                write(&file.stubbed)?;
                println!("  {}: yours now (its regions are todo!s)", file.path);
            }
            Action::On => println!("  {}: already yours; left as it is", file.path),
            Action::Off if finished => println!("  {}: already given", file.path),
            Action::Off if stubbed || on_disk.is_none() => {
                write(&file.finished)?;
                println!("  {}: given again (finished code)", file.path);
            }
            Action::Off if discard => {
                let backup = backup(ws, &file.path, on_disk.unwrap_or_default())?;
                write(&file.finished)?;
                println!(
                    "  {}: given again (finished code); your work is saved in {backup}",
                    file.path
                );
            }
            Action::Off => {
                println!("  {}: holds your work; left as it is", file.path);
                kept.push(file.path);
            }
        }
    }
    match (action, track.state(ws)?) {
        (Action::On, _) => println!(
            "next: `cargo test -p {chapter} ex{}_`; `cargo xtask progress {chapter}` shows the track",
            track.exercises[0]
        ),
        (Action::Off, State::Given) => {
            println!("the track is off: the chapter runs on the finished code again")
        }
        _ => {}
    }
    if !kept.is_empty() {
        bail!(
            "the track is still yours in {}: `--discard` replaces your work with the finished \
             code (saving a copy under target/track-backup/)",
            kept.join(", ")
        );
    }
    Ok(())
}

/// Saves `content` (a student's file about to be replaced) under
/// `target/track-backup/`, named by its path and the time; returns where.
fn backup(ws: &Workspace, path: &str, content: &str) -> anyhow::Result<String> {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = format!("target/track-backup/{}.{seconds}", path.replace('/', "__"));
    let at = ws.root.join(&name);
    if let Some(dir) = at.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&at, content).with_context(|| format!("saving a copy of {path}"))?;
    Ok(name)
}
