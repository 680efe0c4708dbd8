//! Documentation checked like code: what a reader is told about the tree is true of it.
//!
//! - every crate root's `# Layout` names each of its modules;
//! - ARCHITECTURE.md names only paths that exist, and names every crate, every chapter's
//!   commands and every carried copy (its "Carried code" table);
//! - a node's code does not use the test harness (only the benchmark, the demo and the
//!   loopback system they and the tests start do);
//! - no two modules of a crate depend on each other, directly or around a circle
//!   (`#[path]` mounts included): a crate's modules form layers a reader can take in
//!   order.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::bail;

use super::modules;
use crate::carried::CARRIED;
use crate::workspace::Workspace;

/// The files of a chapter that may use the harness: they start nodes in a harness
/// cluster for the demo, the benchmark and the tests, and are never a node's own path.
const MAY_USE_HARNESS: &[&str] = &["bench.rs", "demo.rs", "system.rs"];

/// Every check of this module; all problems at once.
pub(super) fn documentation_is_true(ws: &Workspace) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    let roots = crate_roots(ws)?;
    for root in &roots {
        problems.extend(layout_names_every_module(ws, root)?);
        problems.extend(no_module_cycles(ws, root)?);
    }
    problems.extend(architecture_is_true(ws, &roots)?);
    problems.extend(node_code_needs_no_harness(ws)?);
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    println!(
        "{} crates: layouts complete, no module cycles; ARCHITECTURE.md true; no node code uses \
         the harness",
        roots.len()
    );
    Ok(())
}

/// Every crate's root file: the chapters' and the shared crates' `lib.rs`, xtask's `main.rs`.
fn crate_roots(ws: &Workspace) -> anyhow::Result<Vec<PathBuf>> {
    let mut roots: Vec<PathBuf> = ws
        .chapters()?
        .iter()
        .map(|c| ws.root.join(format!("chapters/{}/src/lib.rs", c.name())))
        .collect();
    roots.push(ws.root.join("shared/harness/src/lib.rs"));
    roots.push(ws.root.join("shared/plumbing/src/lib.rs"));
    roots.push(ws.root.join("shared/xtask/src/main.rs"));
    Ok(roots)
}

fn relative(ws: &Workspace, path: &Path) -> String {
    path.strip_prefix(&ws.root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The root's `# Layout` (its `//!` lines from that heading to the end of the docs)
/// names each module the root declares, as [`x`], `x` or `x.rs`.
fn layout_names_every_module(ws: &Workspace, root: &Path) -> anyhow::Result<Vec<String>> {
    let source = std::fs::read_to_string(root)?;
    let docs: Vec<&str> = source
        .lines()
        .take_while(|l| l.starts_with("//!"))
        .collect();
    let Some(start) = docs.iter().position(|l| l.trim() == "//! # Layout") else {
        return Ok(vec![format!(
            "{}: no `# Layout` in its docs: a reader should learn from it which file to open",
            relative(ws, root)
        )]);
    };
    let layout = docs[start..].join("\n");
    let (tops, _) = modules::crate_files(root)?;
    Ok(tops
        .iter()
        .filter(|m| {
            ![format!("`{m}`"), format!("`{m}.rs`")]
                .iter()
                .any(|named| layout.contains(named.as_str()))
        })
        .map(|m| {
            format!(
                "{}: its `# Layout` does not name module `{m}`: say what it is for",
                relative(ws, root)
            )
        })
        .collect())
}

fn no_module_cycles(ws: &Workspace, root: &Path) -> anyhow::Result<Vec<String>> {
    let (tops, files) = modules::crate_files(root)?;
    let edges = modules::references(&tops, &files)?;
    Ok(modules::cycles(&edges)
        .into_iter()
        .map(|group| {
            format!(
                "{}: modules {} depend on each other (each names another with `crate::`): \
                 move what they share into one of them, or a module of its own",
                relative(ws, root),
                group.join(", ")
            )
        })
        .collect())
}

/// The workspace's top-level folders: a token starting with one is a path.
const TOP_FOLDERS: &[&str] = &[
    "chapters/",
    "shared/",
    "solutions/",
    "exercises/",
    "book/",
    ".ci/",
    ".cargo/",
];

/// Backticked tokens of `text` that name a file or folder of the workspace: a path from
/// a top-level folder, or a source, page or figure by name (routes like `/kv` and the
/// files a node writes at run time, like `hard_state.json`, are not).
fn path_tokens(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| {
            !t.contains(' ')
                && !t.contains("::")
                && !t.starts_with('/')
                && (TOP_FOLDERS.iter().any(|top| t.starts_with(top))
                    || [".rs", ".md", ".toml", ".svg", ".png"]
                        .iter()
                        .any(|e| t.ends_with(e)))
        })
        .map(str::to_string)
        .collect()
}

fn architecture_is_true(ws: &Workspace, roots: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let text = ws.read("ARCHITECTURE.md")?;
    let mut problems = Vec::new();
    let files = all_files(&ws.root);
    for token in path_tokens(&text) {
        // Patterns stand for many paths: `chapterN`, `exK_`, `<chapter>`, `*.rs`.
        let pattern = token.contains("chapterN")
            || token.contains('<')
            || token.contains('*')
            || token.contains('{')
            || token.contains('…')
            || token.contains("exK")
            || token.starts_with("http")
            || token.starts_with("../shared")
            || token.starts_with("target/");
        if pattern {
            continue;
        }
        let trimmed = token.trim_end_matches('/');
        let exists = if TOP_FOLDERS.iter().any(|top| trimmed.starts_with(top)) {
            ws.root.join(trimmed).exists()
        } else {
            files
                .iter()
                .any(|f| f == trimmed || f.ends_with(&format!("/{trimmed}")))
        };
        if !exists {
            problems.push(format!(
                "ARCHITECTURE.md names `{token}`, which does not exist"
            ));
        }
    }
    for root in roots {
        let krate = relative(ws, root.parent().and_then(Path::parent).unwrap_or(root));
        if !text.contains(&format!("`{krate}")) {
            problems.push(format!("ARCHITECTURE.md does not name the crate `{krate}`"));
        }
    }
    for chapter in ws.chapters()? {
        let main = ws
            .root
            .join(format!("chapters/{}/src/main.rs", chapter.name()));
        for command in subcommands(&std::fs::read_to_string(&main).unwrap_or_default()) {
            if !text.contains(&format!("`{command}`")) && !text.contains(&format!(" {command}`")) {
                problems.push(format!(
                    "ARCHITECTURE.md does not name {}'s command `{command}`",
                    chapter.name()
                ));
            }
        }
    }
    problems.extend(carried_table(&text));
    Ok(problems)
}

/// The subcommands a chapter's binary declares (`enum Command`'s variants, kebab-case).
fn subcommands(main: &str) -> Vec<String> {
    let Some(start) = main.find("enum Command {") else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for line in main[start..].lines().skip(1) {
        if line.starts_with('}') {
            break;
        }
        let Some(rest) = line.strip_prefix("    ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if !name.is_empty() && name.starts_with(|c: char| c.is_ascii_uppercase()) {
            let mut kebab = String::new();
            for (i, c) in name.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    kebab.push('-');
                }
                kebab.push(c.to_ascii_lowercase());
            }
            names.push(kebab);
        }
    }
    names
}

/// The "Carried code" table of ARCHITECTURE.md (`| chapter | modules |` rows) lists
/// exactly the carried modules of each chapter.
fn carried_table(text: &str) -> Vec<String> {
    let mut listed: BTreeSet<(u32, String)> = BTreeSet::new();
    let Some(start) = text.find("## Carried code") else {
        return vec!["ARCHITECTURE.md has no `## Carried code` section".into()];
    };
    for line in text[start..].lines().skip(1) {
        if line.starts_with("## ") {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(chapter) = cells.get(1).and_then(|c| c.parse::<u32>().ok()) else {
            continue;
        };
        for module in cells.get(2).unwrap_or(&"").split('`').skip(1).step_by(2) {
            listed.insert((chapter, module.to_string()));
        }
    }
    let carried: BTreeSet<(u32, String)> = CARRIED
        .iter()
        .map(|c| (c.chapter, c.module.to_string()))
        .collect();
    let mut problems = Vec::new();
    for (chapter, module) in carried.difference(&listed) {
        problems.push(format!(
            "ARCHITECTURE.md's carried table misses chapter {chapter}'s `{module}`"
        ));
    }
    for (chapter, module) in listed.difference(&carried) {
        problems.push(format!(
            "ARCHITECTURE.md's carried table lists chapter {chapter}'s `{module}`, which is not \
             carried"
        ));
    }
    problems
}

/// Every file of the workspace (relative, `/`-separated), but `target/` and `.git/`.
fn all_files(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name == "target" || name == ".git" {
                continue;
            }
            if path.is_dir() {
                walk(&path, root, out);
            }
            if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out
}

/// No file of a chapter's `src/` uses `harness::` but those in [`MAY_USE_HARNESS`].
fn node_code_needs_no_harness(ws: &Workspace) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    for chapter in ws.chapters()? {
        let src = ws.root.join(format!("chapters/{}/src", chapter.name()));
        let mut files = Vec::new();
        collect_rs(&src, &mut files);
        for file in files {
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if MAY_USE_HARNESS.contains(&name) {
                continue;
            }
            let source = std::fs::read_to_string(&file)?;
            if source
                .lines()
                .any(|l| !l.trim_start().starts_with("//") && l.contains("harness::"))
            {
                problems.push(format!(
                    "{} uses the test harness: a node's code must run without it (record, \
                     start clusters and measure in bench.rs, demo.rs or the tests)",
                    relative(ws, &file)
                ));
            }
        }
    }
    Ok(problems)
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binarys_subcommands_are_read_in_kebab_case() {
        let main = "enum Command {\n    /// Run.\n    Serve {\n        addr: String,\n    },\n    Get {\n        key: String,\n    },\n    Demo,\n    WatchAll,\n}\n";
        assert_eq!(
            subcommands(main),
            ["serve", "get", "demo", "watch-all"],
            "each variant, as clap names it"
        );
    }

    #[test]
    fn the_carried_table_is_compared_with_the_carried_list() {
        let mut text = String::from("## Carried code\n| chapter | modules |\n|---|---|\n");
        let chapters: std::collections::BTreeSet<u32> = CARRIED.iter().map(|c| c.chapter).collect();
        for chapter in chapters {
            let modules: Vec<String> = CARRIED
                .iter()
                .filter(|c| c.chapter == chapter)
                .map(|c| format!("`{}`", c.module))
                .collect();
            text.push_str(&format!("| {chapter} | {} |\n", modules.join(", ")));
        }
        assert_eq!(carried_table(&text), Vec::<String>::new(), "a full table");
        let short = text.replace("`wal`", "");
        assert_eq!(
            carried_table(&short),
            ["ARCHITECTURE.md's carried table misses chapter 4's `wal`"],
            "a missing copy is named"
        );
    }

    #[test]
    fn only_path_like_tokens_are_checked() {
        assert_eq!(
            path_tokens("see `chapters/chapter1/src/lib.rs`, `server.rs`, `cargo test` and `a::b`"),
            ["chapters/chapter1/src/lib.rs", "server.rs"],
            "paths and file names, not commands or Rust paths"
        );
    }
}
