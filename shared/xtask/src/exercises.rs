//! `cargo xtask exercises [--check]`: exercises/ is generated from solutions/, and so
//! are the later chapters' carried copies of finished lessons (see `carried`). An
//! optional track's exercises are written finished (see `tracks`).

use anyhow::bail;

pub use crate::generated::{Generated, rustfmt, write_to};
use crate::markers::{self, ExerciseId};
use crate::workspace::Workspace;

/// Every exercise file, with the regions chosen by `stub` replaced by `todo!`s.
pub fn generate(
    ws: &Workspace,
    stub: impl Fn(ExerciseId) -> bool + Copy,
) -> anyhow::Result<Vec<Generated>> {
    let mut files = Vec::new();
    for chapter in ws.chapters()? {
        if ws.exercises(&chapter)?.is_empty() {
            bail!(
                "{} marks no exercise: a chapter needs at least one",
                chapter.name()
            );
        }
        for file in &chapter.files {
            let (solution, student) = (chapter.solution_path(file), chapter.exercise_path(file));
            let content = markers::generate(&solution, &student, &ws.read(&solution)?, stub)?;
            files.push(Generated {
                path: student,
                content: rustfmt(&content)?,
            });
        }
    }
    Ok(files)
}

/// `cargo xtask exercises`: regenerate exercises/ in place (an optional track's
/// exercises finished: see `tracks`).
pub fn write(ws: &Workspace) -> anyhow::Result<()> {
    let files = generate(ws, crate::tracks::scaffolded)?;
    write_to(&ws.root, &files)?;
    println!("wrote {} exercise files", files.len());
    let carried = crate::carried::generate(ws)?;
    write_to(&ws.root, &carried)?;
    println!("wrote {} carried copies of finished lessons", carried.len());
    for stray in strays(ws, &files)? {
        println!("note: {stray} has no solution counterpart; delete it if it is not yours");
    }
    Ok(())
}

/// `cargo xtask exercises --check`: fail if exercises/ is not exactly what `write` makes.
pub fn check(ws: &Workspace) -> anyhow::Result<()> {
    let files = generate(ws, crate::tracks::scaffolded)?;
    let mut problems = Vec::new();
    for file in &files {
        match std::fs::read_to_string(ws.root.join(&file.path)) {
            Ok(on_disk) if on_disk == file.content => {}
            Ok(_) => problems.push(format!(
                "{} differs from what its solution generates",
                file.path
            )),
            Err(_) => problems.push(format!("{} is missing", file.path)),
        }
    }
    for stray in strays(ws, &files)? {
        problems.push(format!("{stray} has no counterpart in solutions/"));
    }
    let carried = crate::carried::generate(ws)?;
    for file in &carried {
        match std::fs::read_to_string(ws.root.join(&file.path)) {
            Ok(on_disk) if on_disk == file.content => {}
            _ => problems.push(format!(
                "{} is a carried copy out of step with its source (edit the source in solutions/, not the copy)",
                file.path
            )),
        }
    }
    for track in crate::tracks::TRACKS {
        // A track's files must hold only its exercises (`track` rewrites them whole).
        if let Err(e) = track.state(ws) {
            problems.push(format!("the {} track: {e:#}", track.name));
        }
    }
    if !problems.is_empty() {
        bail!(
            "exercises/ or a carried copy is out of step with solutions/:\n  {}\nrun `cargo xtask exercises` to regenerate them",
            problems.join("\n  ")
        );
    }
    println!(
        "exercises/ and the carried copies are in step with solutions/ ({} and {} files)",
        files.len(),
        carried.len()
    );
    Ok(())
}

/// Files under exercises/ that the generator does not make.
fn strays(ws: &Workspace, files: &[Generated]) -> anyhow::Result<Vec<String>> {
    let mut strays = Vec::new();
    let dir = ws.root.join("exercises");
    if !dir.exists() {
        return Ok(strays);
    }
    for chapter in std::fs::read_dir(&dir)? {
        let chapter = chapter?;
        for file in std::fs::read_dir(chapter.path())? {
            let path = format!(
                "exercises/{}/{}",
                chapter.file_name().to_string_lossy(),
                file?.file_name().to_string_lossy()
            );
            if !files.iter().any(|f| f.path == path) {
                strays.push(path);
            }
        }
    }
    Ok(strays)
}
