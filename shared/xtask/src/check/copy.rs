//! The scratch copy `cargo xtask check` builds in (see the parent module: a target
//! directory of its own, so the real workspace's builds are never mistaken for fresh).

use std::path::Path;

use anyhow::Context as _;

use crate::exercises;
use crate::workspace::Workspace;

/// Copies what a build needs (not target/, not .git) into `copy`, with fresh exercises.
pub(super) fn make_copy(ws: &Workspace, copy: &Path) -> anyhow::Result<()> {
    make_plain_copy(ws, copy)?;
    exercises::write_to(copy, &exercises::generate(ws, |_| true)?)
}

/// Copies what a build needs (not target/, not .git, not exercises/) into `copy`.
pub(crate) fn make_plain_copy(ws: &Workspace, copy: &Path) -> anyhow::Result<()> {
    if copy.exists() {
        std::fs::remove_dir_all(copy)?;
    }
    for entry in [
        "Cargo.toml",
        "Cargo.lock",
        ".cargo",
        "chapters",
        "shared",
        "solutions",
    ] {
        copy_tree(&ws.root.join(entry), &copy.join(entry))?;
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else if from.exists() {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(from, to)
            .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}

/// A cargo command run in the copy, building into the copy's own target directory
/// (`<copy>-target` beside it).
pub(super) fn cargo_in(ws: &Workspace, copy: &Path) -> std::process::Command {
    let mut command = ws.cargo();
    let mut target = copy.as_os_str().to_owned();
    target.push("-target");
    command.current_dir(copy).env("CARGO_TARGET_DIR", target);
    command
}
