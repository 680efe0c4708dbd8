//! `cargo xtask book`: build (or serve) the book, installing its tools when missing, then
//! check its links (`links.rs`) and diagrams (`diagrams.rs`); and the check that every
//! `{{#include}}` points at a real file and anchor.

use std::process::Command;

use anyhow::{Context as _, bail};

use crate::workspace::{self, Workspace};

pub fn build(ws: &Workspace, serve: bool) -> anyhow::Result<()> {
    ensure_tool(
        ws,
        "mdbook",
        "0.5",
        &["install", "--locked", "mdbook", "--version", "^0.5"],
    )?;
    // Diagrams need no second preprocessor: mermaid's script is vendored in
    // book/vendor/ and `book/mermaid-init.js` draws the ```mermaid blocks in the page.
    let book = ws.root.join("book");
    if serve {
        workspace::run(Command::new("mdbook").args(["serve", "--open"]).arg(&book))
    } else {
        workspace::run(Command::new("mdbook").arg("build").arg(&book))?;
        crate::links::check(ws)?;
        crate::diagrams::check(ws)?;
        println!("the book is at {}", book.join("book/index.html").display());
        Ok(())
    }
}

/// Installs `tool` with `cargo install` unless a version starting with `version` is on PATH.
fn ensure_tool(ws: &Workspace, tool: &str, version: &str, install: &[&str]) -> anyhow::Result<()> {
    let found = Command::new(tool).arg("--version").output();
    if let Ok(out) = &found {
        let text = String::from_utf8_lossy(&out.stdout);
        if out.status.success()
            && text
                .split_whitespace()
                .any(|w| w.trim_start_matches('v').starts_with(version))
        {
            return Ok(());
        }
    }
    println!("installing {tool} (once; it takes a few minutes)...");
    workspace::run(ws.cargo().args(install))
}

/// Every `{{#include path:anchor}}` (and `rustdoc_include`) in `book/src` must name an
/// existing file and, if it names an anchor, a file with that anchor's start and end.
pub fn check_includes(ws: &Workspace) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    let mut count = 0;
    for page in workspace::files_ending(&ws.root.join("book/src"), "md")? {
        let text = std::fs::read_to_string(&page)?;
        let dir = page.parent().context("a page has a folder")?;
        for (line_no, line) in text.lines().enumerate() {
            for directive in includes(line) {
                count += 1;
                let at = format!(
                    "{}:{}",
                    page.strip_prefix(&ws.root).unwrap_or(&page).display(),
                    line_no + 1
                );
                let (file, anchor) = match directive.split_once(':') {
                    Some((file, anchor)) => (file, Some(anchor)),
                    None => (directive, None),
                };
                let target = dir.join(file);
                let Ok(source) = std::fs::read_to_string(&target) else {
                    problems.push(format!("{at}: {file} does not exist"));
                    continue;
                };
                if let Some(anchor) = anchor.filter(|a| {
                    !a.is_empty() && !a.chars().next().is_some_and(|c| c.is_ascii_digit())
                }) {
                    let has = |marker: &str| {
                        source.lines().any(|l| {
                            l.split_once(marker)
                                .is_some_and(|(_, rest)| rest.trim_start().trim_end() == anchor)
                        })
                    };
                    if !has("ANCHOR:") || !has("ANCHOR_END:") {
                        problems.push(format!(
                            "{at}: {file} has no anchor `{anchor}` (ANCHOR: / ANCHOR_END:)"
                        ));
                    }
                }
            }
        }
    }
    if !problems.is_empty() {
        bail!("broken includes:\n  {}", problems.join("\n  "));
    }
    println!("{count} includes resolve");
    Ok(())
}

/// The targets of the include directives on one line.
fn includes(line: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("{{#") {
        let after = &rest[start + 3..];
        let Some(end) = after.find("}}") else { break };
        let inner = after[..end].trim();
        for directive in ["include ", "rustdoc_include "] {
            if let Some(target) = inner.strip_prefix(directive) {
                found.push(target.trim());
            }
        }
        rest = &after[end..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::includes;

    #[test]
    fn include_directives_are_found() {
        assert_eq!(
            includes("{{#include ../../solutions/chapter1/store.rs:write}}"),
            vec!["../../solutions/chapter1/store.rs:write"]
        );
        assert_eq!(
            includes("a {{#include x.rs}} b {{#rustdoc_include y.rs:2:5}}"),
            vec!["x.rs", "y.rs:2:5"]
        );
        assert!(includes("{{#title x}}").is_empty());
    }
}
