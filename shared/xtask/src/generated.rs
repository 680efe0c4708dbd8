//! Generated files: what the generators (`exercises`, `carried`) produce, formatted as
//! `cargo fmt` would, and written under the workspace or a copy of it.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

/// One generated file: where it goes (relative to the root) and what it holds.
#[derive(Clone, Debug)]
pub struct Generated {
    pub path: String,
    pub content: String,
}

/// Formats generated code as `cargo fmt` would (a long `todo!` is wrapped).
pub fn rustfmt(source: &str) -> anyhow::Result<String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running rustfmt (install it with `rustup component add rustfmt`)")?;
    child
        .stdin
        .take()
        .context("rustfmt's stdin")?
        .write_all(source.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "rustfmt failed on generated code:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// Writes every generated file under `root` (the workspace, or a copy of it).
pub fn write_to(root: &Path, files: &[Generated]) -> anyhow::Result<()> {
    for file in files {
        let path = root.join(&file.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, &file.content)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
