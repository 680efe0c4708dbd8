//! A crate's module tree as rustc finds it, read from the sources (`mod x;` declarations,
//! `#[path]` and the solution's `#[cfg_attr(feature = "solution", path = ...)]` mounts
//! included), and the references between its top-level modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// One source file of a crate and the top-level module it belongs to (`""` for the
/// crate root itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub top: String,
}

/// The top-level modules a crate root declares, in order, and every file of the crate.
pub fn crate_files(root: &Path) -> anyhow::Result<(Vec<String>, Vec<SourceFile>)> {
    let mut files = Vec::new();
    let source =
        std::fs::read_to_string(root).with_context(|| format!("reading {}", root.display()))?;
    let mut tops = Vec::new();
    for (name, path, mounted) in declared(&source, root, true) {
        tops.push(name.clone());
        walk(&path, mounted, &name, &mut files)?;
    }
    files.push(SourceFile {
        path: root.to_path_buf(),
        top: String::new(),
    });
    Ok((tops, files))
}

/// Reads the module file at `path` and its children; `mounted`: it was mounted by
/// `#[path]`, so (as rustc does) its children are found beside it.
fn walk(path: &Path, mounted: bool, top: &str, files: &mut Vec<SourceFile>) -> anyhow::Result<()> {
    let Ok(source) = std::fs::read_to_string(path) else {
        // A module inside a `cfg` the build does not take, or one the compiler would
        // report: not this check's business.
        return Ok(());
    };
    files.push(SourceFile {
        path: path.to_path_buf(),
        top: top.to_string(),
    });
    let beside = mounted || path.file_name() == Some("mod.rs".as_ref());
    for (_, child, mounted) in declared(&source, path, beside) {
        walk(&child, mounted, top, files)?;
    }
    Ok(())
}

/// The modules `source` (the file at `path`) declares from files of their own: each
/// with the file it is read from, and whether a `#[path]` mounted it. `beside`: the
/// file finds its children beside it (a crate root, a `mod.rs`, a mounted file) rather
/// than in a folder of its name.
fn declared(source: &str, path: &Path, beside: bool) -> Vec<(String, PathBuf, bool)> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let mut out = Vec::new();
    let mut attribute_path: Option<String> = None;
    let mut pending = String::new();
    for line in source.lines() {
        let trimmed = line.trim();
        // Attributes may span lines (rustfmt splits a long cfg_attr).
        if !pending.is_empty() || trimmed.starts_with("#[") {
            pending.push_str(trimmed);
            if pending.matches('[').count() > pending.matches(']').count() {
                continue;
            }
            let attribute = std::mem::take(&mut pending);
            if (attribute.starts_with("#[path") || attribute.contains("feature = \"solution\""))
                && let Some(p) = quoted_after(&attribute, "path")
            {
                attribute_path = Some(p);
            }
            continue;
        }
        if trimmed.starts_with("//") || trimmed.is_empty() {
            continue;
        }
        if let Some(name) = module_declaration(trimmed) {
            let mount = attribute_path.take();
            let mounted = mount.is_some();
            let file = match mount {
                Some(p) => dir.join(p),
                None if beside => dir.join(format!("{name}.rs")),
                None => dir.join(stem).join(format!("{name}.rs")),
            };
            let file = if file.exists() || mounted {
                file
            } else {
                file.with_extension("").join("mod.rs")
            };
            out.push((name.to_string(), file, mounted));
        } else {
            attribute_path = None;
        }
    }
    out
}

/// The quoted value after `key =` in an attribute.
fn quoted_after(attribute: &str, key: &str) -> Option<String> {
    let at = attribute.rfind(&format!("{key} ="))?;
    let rest = &attribute[at..];
    let open = rest.find('"')? + 1;
    let close = rest[open..].find('"')? + open;
    Some(rest[open..close].to_string())
}

/// `pub(crate) mod x;` → `x`.
fn module_declaration(line: &str) -> Option<&str> {
    let rest = line
        .strip_prefix("pub ")
        .or_else(|| {
            line.strip_prefix("pub(")
                .and_then(|r| r.split_once(") "))
                .map(|(_, r)| r)
        })
        .unwrap_or(line);
    let name = rest.strip_prefix("mod ")?.strip_suffix(';')?;
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        .then_some(name)
}

/// For each top-level module, the other top-level modules its files name (`crate::x`).
pub fn references(
    tops: &[String],
    files: &[SourceFile],
) -> anyhow::Result<BTreeMap<String, BTreeSet<String>>> {
    let known: BTreeSet<&str> = tops.iter().map(String::as_str).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> =
        tops.iter().map(|t| (t.clone(), BTreeSet::new())).collect();
    for file in files.iter().filter(|f| !f.top.is_empty()) {
        let source = std::fs::read_to_string(&file.path)
            .with_context(|| format!("reading {}", file.path.display()))?;
        for line in source.lines() {
            let code = line.split("//").next().unwrap_or("");
            for (at, _) in code.match_indices("crate::") {
                let before = code[..at].chars().next_back();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
                    continue; // `harness::crate::`, `$crate::`: not this crate's path
                }
                let rest = &code[at + "crate::".len()..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                let module = &rest[..end];
                if module != file.top && known.contains(module) {
                    edges
                        .entry(file.top.clone())
                        .or_default()
                        .insert(module.to_string());
                }
            }
        }
    }
    Ok(edges)
}

/// The groups of modules that reach each other (strongly connected, two or more).
pub fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Kosaraju: order by finishing time, then walk the reversed graph.
    fn visit<'a>(
        node: &'a str,
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        seen: &mut BTreeSet<&'a str>,
        order: &mut Vec<&'a str>,
    ) {
        if !seen.insert(node) {
            return;
        }
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, seen, order);
        }
        order.push(node);
    }
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    for node in edges.keys() {
        visit(node, edges, &mut seen, &mut order);
    }
    let mut reversed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in edges {
        for to in tos {
            reversed.entry(to.clone()).or_default().insert(from.clone());
        }
    }
    let mut assigned = BTreeSet::new();
    let mut groups = Vec::new();
    for node in order.into_iter().rev() {
        let mut group = Vec::new();
        let mut stack = vec![node.to_string()];
        while let Some(n) = stack.pop() {
            if !assigned.insert(n.clone()) {
                continue;
            }
            for prev in reversed.get(&n).into_iter().flatten() {
                stack.push(prev.clone());
            }
            group.push(n);
        }
        if group.len() > 1 {
            group.sort();
            groups.push(group);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_modules_that_name_each_other_are_a_cycle_and_a_chain_is_not() {
        let edges: BTreeMap<String, BTreeSet<String>> = [
            ("a", vec!["b"]),
            ("b", vec!["c"]),
            ("c", vec!["b"]),
            ("d", vec!["a"]),
        ]
        .into_iter()
        .map(|(from, to)| {
            (
                from.to_string(),
                to.into_iter().map(str::to_string).collect(),
            )
        })
        .collect();
        assert_eq!(
            cycles(&edges),
            vec![vec!["b".to_string(), "c".to_string()]],
            "b and c reach each other; a and d only lead into them"
        );
    }

    #[test]
    fn a_declaration_is_read_with_its_mount() {
        let source = "#[cfg_attr(\n    feature = \"solution\",\n    path = \"../../../solutions/c/s.rs\"\n)]\npub mod s;\n#[path = \"carried/v.rs\"]\npub mod v;\nmod plain;\n";
        let found = declared(source, Path::new("x/src/lib.rs"), true);
        assert_eq!(
            found,
            vec![
                (
                    "s".into(),
                    PathBuf::from("x/src/../../../solutions/c/s.rs"),
                    true
                ),
                ("v".into(), PathBuf::from("x/src/carried/v.rs"), true),
                ("plain".into(), PathBuf::from("x/src/plain/mod.rs"), false),
            ],
            "a solution's mount, a #[path] and a plain module, each where rustc looks (a \
             plain module's file does not exist here, so its mod.rs form)"
        );
    }
}
