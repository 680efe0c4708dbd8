//! Carried lesson code: where a later chapter uses an earlier chapter's finished code
//! unchanged, its copy is generated from the original, never kept by hand; so is given
//! code every chapter shares that depends on the chapter's own types (the request
//! extractors, which return the chapter's `ApiError`).
//!
//! A student in chapter 4 must see the whole system, including chapter 2's log, so the
//! chapter carries it: `chapters/chapter4/src/carried/wal.rs` is `solutions/chapter2/wal.rs`
//! with the exercise markers and book anchors taken out and a header naming its source
//! and what it needs from its host chapter. Every copy sits under `src/carried/`, where a
//! reader sees at a glance that it is not this chapter's to edit; its module path is the
//! one it had (`src/carried/node/peers.rs` is `node::peers`), mounted with `#[path]`:
//! the generator writes the `carried` block of each `lib.rs` (the mounts, and the list in
//! its `# Layout`), and the `#[path]` of every child module a copy declares.
//! `cargo xtask exercises` writes the copies with `exercises/`; `cargo xtask exercises
//! --check` (part of `check`) fails when one is out of step, so a fix made in the lesson
//! reaches every chapter that carries it. Code a later lesson *changes* is not listed
//! here: it stays that chapter's own, and `cargo xtask diff` shows the change.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context as _, bail};

use crate::generated::{Generated, rustfmt};
use crate::markers::finished_code;
use crate::workspace::Workspace;

/// One carried module: its chapter, its module path there, its source, and what it holds
/// (for the header and the `# Layout`).
#[derive(Debug)]
pub struct Carried {
    pub chapter: u32,
    pub module: &'static str,
    pub from: &'static str,
    pub what: &'static str,
    /// The student's file a build with `--features own` mounts instead of the copy (the
    /// student's own stack), if the chapter offers it.
    pub own: Option<&'static str>,
}

const fn carried(
    chapter: u32,
    module: &'static str,
    from: &'static str,
    what: &'static str,
) -> Carried {
    Carried {
        chapter,
        module,
        from,
        what,
        own: None,
    }
}

/// A carried module a build with `--features own` replaces by the student's `own` file.
const fn ownable(
    chapter: u32,
    module: &'static str,
    from: &'static str,
    what: &'static str,
    own: &'static str,
) -> Carried {
    Carried {
        own: Some(own),
        ..carried(chapter, module, from, what)
    }
}

impl Carried {
    /// Where the copy goes: `chapters/chapterN/src/carried/<module path>.rs`.
    pub fn path(&self) -> String {
        format!(
            "chapters/chapter{}/src/carried/{}.rs",
            self.chapter,
            self.module.replace("::", "/")
        )
    }

    /// The module's last name (`peers` for `node::peers`).
    fn name(&self) -> &'static str {
        self.module.rsplit("::").next().unwrap_or(self.module)
    }
}

/// The start and end of the generated block in a `lib.rs`'s code and in its `# Layout`.
const CODE_START: &str = "// CARRIED: written by `cargo xtask exercises` (see src/carried/)";
const CODE_END: &str = "// END CARRIED";
const DOC_START: &str = "//! <!-- carried: written by `cargo xtask exercises` -->";
const DOC_END: &str = "//! <!-- end carried -->";

/// Every carried module, by chapter.
pub const CARRIED: &[Carried] = &[
    carried(
        2,
        "client",
        "solutions/chapter1/client.rs",
        "chapter 1's client, exercise 1.5",
    ),
    carried(
        2,
        "extract",
        "chapters/chapter1/src/extract.rs",
        "chapter 1's request extractors",
    ),
    carried(
        2,
        "validate",
        "solutions/chapter1/validate.rs",
        "chapter 1's key rules, exercise 1.3",
    ),
    carried(
        3,
        "extract",
        "chapters/chapter1/src/extract.rs",
        "chapter 1's request extractors",
    ),
    carried(
        3,
        "validate",
        "solutions/chapter1/validate.rs",
        "chapter 1's key rules, exercise 1.3",
    ),
    carried(
        4,
        "client",
        "solutions/chapter1/client.rs",
        "chapter 1's client, exercise 1.5",
    ),
    carried(
        4,
        "extract",
        "chapters/chapter1/src/extract.rs",
        "chapter 1's request extractors",
    ),
    carried(
        4,
        "validate",
        "solutions/chapter1/validate.rs",
        "chapter 1's key rules, exercise 1.3",
    ),
    carried(
        4,
        "wal",
        "solutions/chapter2/wal.rs",
        "chapter 2's log, exercises 2.2, 2.3 and 2.5",
    ),
    carried(
        5,
        "extract",
        "chapters/chapter1/src/extract.rs",
        "chapter 1's request extractors",
    ),
    carried(
        5,
        "validate",
        "solutions/chapter1/validate.rs",
        "chapter 1's key rules, exercise 1.3",
    ),
    carried(
        6,
        "client",
        "solutions/chapter5/client.rs",
        "chapter 5's client, exercise 5.7",
    ),
    carried(
        6,
        "error",
        "chapters/chapter5/src/error.rs",
        "chapter 5's API errors",
    ),
    carried(
        6,
        "extract",
        "chapters/chapter1/src/extract.rs",
        "chapter 1's request extractors",
    ),
    carried(
        6,
        "headers",
        "chapters/chapter5/src/headers.rs",
        "chapter 5's exactly-once headers",
    ),
    carried(
        6,
        "node::addresses",
        "chapters/chapter5/src/node/addresses.rs",
        "chapter 5's address book",
    ),
    carried(
        6,
        "node::peers",
        "chapters/chapter5/src/node/peers.rs",
        "chapter 5's peer senders",
    ),
    carried(
        6,
        "server",
        "chapters/chapter5/src/server.rs",
        "chapter 5's HTTP server",
    ),
    carried(
        6,
        "validate",
        "solutions/chapter1/validate.rs",
        "chapter 1's key rules, exercise 1.3",
    ),
    carried(
        7,
        "api",
        "chapters/chapter6/src/api.rs",
        "chapter 6's JSON shapes",
    ),
    carried(
        7,
        "error",
        "chapters/chapter5/src/error.rs",
        "chapter 5's API errors",
    ),
    carried(
        7,
        "extract",
        "chapters/chapter1/src/extract.rs",
        "chapter 1's request extractors",
    ),
    carried(
        7,
        "headers",
        "chapters/chapter5/src/headers.rs",
        "chapter 5's exactly-once headers",
    ),
    carried(
        7,
        "node",
        "chapters/chapter6/src/node.rs",
        "chapter 6's node shell",
    ),
    carried(
        7,
        "node::addresses",
        "chapters/chapter5/src/node/addresses.rs",
        "chapter 5's address book",
    ),
    carried(
        7,
        "node::checks",
        "chapters/chapter6/src/node/checks.rs",
        "chapter 6's checks of a peer's messages",
    ),
    carried(
        7,
        "node::config",
        "chapters/chapter6/src/node/config.rs",
        "chapter 6's node settings",
    ),
    carried(
        7,
        "node::driver",
        "chapters/chapter6/src/node/driver.rs",
        "chapter 6's driver",
    ),
    carried(
        7,
        "node::peers",
        "chapters/chapter5/src/node/peers.rs",
        "chapter 5's peer senders",
    ),
    carried(
        7,
        "protocol",
        "chapters/chapter6/src/protocol.rs",
        "chapter 6's protocol",
    ),
    ownable(
        7,
        "raft",
        "solutions/chapter6/raft.rs",
        "chapter 6's Raft core, exercises 6.1 and 6.4 and chapter 5's rules",
        "exercises/chapter6/raft.rs",
    ),
    carried(
        7,
        "raft::snapshots",
        "solutions/chapter6/snapshots.rs",
        "chapter 6's snapshot rules, exercises 6.2, 6.3, 6.5 and 6.6",
    ),
    carried(
        7,
        "storage",
        "chapters/chapter6/src/storage.rs",
        "chapter 6's storage",
    ),
    carried(
        7,
        "validate",
        "solutions/chapter1/validate.rs",
        "chapter 1's key rules, exercise 1.3",
    ),
    carried(
        8,
        "api",
        "chapters/chapter6/src/api.rs",
        "chapter 6's JSON shapes",
    ),
    carried(
        8,
        "call",
        "chapters/chapter7/src/call.rs",
        "chapter 7's calls to a replicated log's leader",
    ),
    carried(
        8,
        "error",
        "chapters/chapter5/src/error.rs",
        "chapter 5's API errors",
    ),
    carried(
        8,
        "extract",
        "chapters/chapter1/src/extract.rs",
        "chapter 1's request extractors",
    ),
    carried(
        8,
        "node",
        "chapters/chapter6/src/node.rs",
        "chapter 6's node shell",
    ),
    carried(
        8,
        "node::addresses",
        "chapters/chapter5/src/node/addresses.rs",
        "chapter 5's address book",
    ),
    carried(
        8,
        "node::checks",
        "chapters/chapter6/src/node/checks.rs",
        "chapter 6's checks of a peer's messages",
    ),
    carried(
        8,
        "node::config",
        "chapters/chapter6/src/node/config.rs",
        "chapter 6's node settings",
    ),
    carried(
        8,
        "node::driver",
        "chapters/chapter6/src/node/driver.rs",
        "chapter 6's driver",
    ),
    carried(
        8,
        "node::peers",
        "chapters/chapter5/src/node/peers.rs",
        "chapter 5's peer senders",
    ),
    carried(
        8,
        "protocol",
        "chapters/chapter6/src/protocol.rs",
        "chapter 6's protocol",
    ),
    carried(
        8,
        "raft",
        "solutions/chapter6/raft.rs",
        "chapter 6's Raft core, exercises 6.1 and 6.4 and chapter 5's rules",
    ),
    carried(
        8,
        "raft::snapshots",
        "solutions/chapter6/snapshots.rs",
        "chapter 6's snapshot rules, exercises 6.2, 6.3, 6.5 and 6.6",
    ),
    carried(
        8,
        "storage",
        "chapters/chapter6/src/storage.rs",
        "chapter 6's storage",
    ),
    carried(
        8,
        "validate",
        "solutions/chapter1/validate.rs",
        "chapter 1's key rules, exercise 1.3",
    ),
    carried(
        9,
        "api",
        "chapters/chapter6/src/api.rs",
        "chapter 6's JSON shapes",
    ),
    carried(
        9,
        "call",
        "chapters/chapter7/src/call.rs",
        "chapter 7's calls to a replicated log's leader",
    ),
    carried(
        9,
        "error",
        "chapters/chapter5/src/error.rs",
        "chapter 5's API errors",
    ),
    carried(
        9,
        "extract",
        "chapters/chapter1/src/extract.rs",
        "chapter 1's request extractors",
    ),
    carried(
        9,
        "node",
        "chapters/chapter6/src/node.rs",
        "chapter 6's node shell",
    ),
    carried(
        9,
        "node::addresses",
        "chapters/chapter5/src/node/addresses.rs",
        "chapter 5's address book",
    ),
    carried(
        9,
        "node::checks",
        "chapters/chapter6/src/node/checks.rs",
        "chapter 6's checks of a peer's messages",
    ),
    carried(
        9,
        "node::config",
        "chapters/chapter6/src/node/config.rs",
        "chapter 6's node settings",
    ),
    carried(
        9,
        "node::driver",
        "chapters/chapter6/src/node/driver.rs",
        "chapter 6's driver",
    ),
    carried(
        9,
        "node::peers",
        "chapters/chapter5/src/node/peers.rs",
        "chapter 5's peer senders",
    ),
    carried(
        9,
        "protocol",
        "chapters/chapter6/src/protocol.rs",
        "chapter 6's protocol",
    ),
    carried(
        9,
        "raft",
        "solutions/chapter6/raft.rs",
        "chapter 6's Raft core, exercises 6.1 and 6.4 and chapter 5's rules",
    ),
    carried(
        9,
        "raft::snapshots",
        "solutions/chapter6/snapshots.rs",
        "chapter 6's snapshot rules, exercises 6.2, 6.3, 6.5 and 6.6",
    ),
    carried(
        9,
        "storage",
        "chapters/chapter6/src/storage.rs",
        "chapter 6's storage",
    ),
    carried(
        9,
        "validate",
        "solutions/chapter1/validate.rs",
        "chapter 1's key rules, exercise 1.3",
    ),
];

/// Every carried copy, and every `lib.rs` with its carried block, as they must be.
pub fn generate(ws: &Workspace) -> anyhow::Result<Vec<Generated>> {
    let mut files = Vec::new();
    for carried in CARRIED {
        let source = ws.read(carried.from)?;
        let content = carry(carried, &source);
        files.push(Generated {
            path: carried.path(),
            content: rustfmt(&content).with_context(|| format!("formatting {}", carried.path()))?,
        });
    }
    let chapters: BTreeSet<u32> = CARRIED.iter().map(|c| c.chapter).collect();
    for chapter in chapters {
        let path = format!("chapters/chapter{chapter}/src/lib.rs");
        let content = with_carried_block(&ws.read(&path)?, chapter)
            .with_context(|| format!("writing the carried block of {path}"))?;
        files.push(Generated { path, content });
    }
    Ok(files)
}

/// The carried modules of `chapter`.
fn of_chapter(chapter: u32) -> impl Iterator<Item = &'static Carried> {
    CARRIED.iter().filter(move |c| c.chapter == chapter)
}

/// The copy of `source`: a header, then the source as finished code, its child modules
/// mounted where their copies are.
fn carry(carried: &Carried, source: &str) -> String {
    // A lesson's file is carried as its solution: the student's code, finished.
    let finished = if carried.from.starts_with("solutions/") {
        ", finished"
    } else {
        ""
    };
    let code = mount_children(carried, &finished_code(source));
    format!(
        "//! Carried from `{}` by `cargo xtask exercises`:\n\
         //! {}{finished}. Edit that file and regenerate;\n\
         //! `cargo xtask check` fails while this copy differs.\n\
         //! {}\n\
         //!\n{code}",
        carried.from,
        carried.what,
        needs(carried.chapter, &code)
    )
}

/// `code` with each child module it declares (`mod peers;`) mounted at its own copy: the
/// copy is mounted by `#[path]`, so its children are found beside it, in a folder of its
/// name (`#[path = "node/peers.rs"]`). A `#[path]` the source gave them is dropped.
fn mount_children(carried: &Carried, code: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for line in code.lines() {
        let trimmed = line.trim_start();
        if let Some(child) = declared_child(trimmed) {
            if out
                .last()
                .is_some_and(|l| l.trim_start().starts_with("#[path"))
            {
                out.pop();
            }
            let module = format!("{}::{child}", carried.module);
            if of_chapter(carried.chapter).any(|c| c.module == module) {
                let indent = &line[..line.len() - trimmed.len()];
                out.push(format!(
                    "{indent}#[path = \"{}/{child}.rs\"]",
                    carried.name()
                ));
            }
        }
        out.push(line.to_string());
    }
    let mut joined = out.join("\n");
    joined.push('\n');
    joined
}

/// The module a line such as `pub(crate) mod peers;` declares from a file of its own.
fn declared_child(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("pub ").or_else(|| {
        line.strip_prefix("pub(")
            .and_then(|r| r.split_once(") "))
            .map(|(_, r)| r)
    });
    let name = rest
        .unwrap_or(line)
        .strip_prefix("mod ")?
        .strip_suffix(';')?;
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        .then_some(name)
}

/// What a copy uses of its host chapter's own modules, as its header says it.
fn needs(chapter: u32, code: &str) -> String {
    let carried: BTreeSet<&str> = of_chapter(chapter)
        .map(|c| c.module.split("::").next().unwrap_or(c.module))
        .collect();
    let mut used: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, name) in crate_paths(code) {
        if !carried.contains(module.as_str()) {
            used.entry(module).or_default().insert(name);
        }
    }
    if used.is_empty() {
        return "Needs nothing of this chapter's own.".to_string();
    }
    let items: Vec<String> = used
        .into_iter()
        .map(|(module, names)| {
            let names: Vec<String> = names.into_iter().filter(|n| !n.is_empty()).collect();
            match names.len() {
                0 => format!("`{module}`"),
                1 => format!("`{module}::{}`", names[0]),
                _ => format!("`{module}::{{{}}}`", names.join(", ")),
            }
        })
        .collect();
    format!("Needs of this chapter's own: {}.", items.join(", "))
}

/// Every `crate::module::Name` the code names, as (module, name); `use crate::m::{A, B}`
/// gives both, `crate::m` alone gives (m, "").
fn crate_paths(code: &str) -> Vec<(String, String)> {
    let ident = |s: &str| -> usize {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len())
    };
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let module = &rest[..ident(rest)];
        if module.is_empty() {
            continue;
        }
        let after = &rest[module.len()..];
        let Some(after) = after.strip_prefix("::") else {
            found.push((module.to_string(), String::new()));
            continue;
        };
        if let Some(group) = after.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                let item = item.trim();
                let name = &item[..ident(item)];
                found.push((module.to_string(), name.to_string()));
            }
        } else {
            found.push((module.to_string(), after[..ident(after)].to_string()));
        }
    }
    found
}

/// `lib` with its carried block (the mounts, and their list in the `# Layout`) as the
/// generator writes it.
fn with_carried_block(lib: &str, chapter: u32) -> anyhow::Result<String> {
    let tops: Vec<&Carried> = of_chapter(chapter)
        .filter(|c| !c.module.contains("::"))
        .collect();
    let mut doc = vec![DOC_START.to_string()];
    doc.push(
        "//! Carried, finished, from earlier chapters (in `src/carried/`: edit the original, not \
         the copy):"
            .to_string(),
    );
    for c in &tops {
        match c.own {
            None => doc.push(format!("//! - [`{}`]: {}.", c.module, c.what)),
            Some(own) => doc.push(format!(
                "//! - [`{}`]: {}; with `--features own`, yours: `{own}` (your own stack).",
                c.module, c.what
            )),
        }
    }
    doc.push(DOC_END.to_string());
    let mut code = vec![CODE_START.to_string()];
    for c in &tops {
        match c.own {
            None => code.push(format!("#[path = \"carried/{}.rs\"]", c.module)),
            Some(own) => {
                code.push(format!(
                    "#[cfg_attr(not(feature = \"own\"), path = \"carried/{}.rs\")]",
                    c.module
                ));
                code.push(format!(
                    "#[cfg_attr(feature = \"own\", path = \"../../../{own}\")]"
                ));
            }
        }
        code.push(format!("pub mod {};", c.module));
    }
    code.push(CODE_END.to_string());
    let lib = replace_block(lib, DOC_START, DOC_END, &doc.join("\n"))?;
    replace_block(&lib, CODE_START, CODE_END, &code.join("\n"))
}

/// `text` with the lines from `start` to `end` (both included) replaced by `block`.
fn replace_block(text: &str, start: &str, end: &str, block: &str) -> anyhow::Result<String> {
    let Some(from) = text.find(start) else {
        bail!("no line {start:?}: the generated block needs its markers");
    };
    let Some(to) = text[from..].find(end).map(|at| from + at + end.len()) else {
        bail!("no line {end:?} after {start:?}");
    };
    Ok(format!("{}{block}{}", &text[..from], &text[to..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_carried_copy_names_its_source_and_its_needs_and_drops_markers_and_anchors() {
        // A chapter that carries nothing: `api` is then the host's own.
        let carried = Carried {
            chapter: 99,
            module: "s",
            from: "solutions/c1/s.rs",
            what: "chapter 1's s, exercise 1.1",
            own: None,
        };
        let source = "//! The s.\n//!\n//! Exercise 1.1 lives here. It doubles.\n\nuse crate::api::{Entry, Key};\n\n// ANCHOR: double\nfn double(x: u32) -> u32 {\n    // EXERCISE 1.1: double it\n    // HINT: twice\n    x * 2\n    // END EXERCISE 1.1\n}\n// ANCHOR_END: double\n";
        let copy = carry(&carried, source);
        assert!(
            copy.starts_with(
                "//! Carried from `solutions/c1/s.rs` by `cargo xtask exercises`:
//! chapter 1's s, exercise 1.1, finished."
            ),
            "the header names the source: {copy}"
        );
        assert!(
            copy.contains("//! Needs of this chapter's own: `api::{Entry, Key}`.\n"),
            "the header names what the copy needs of its host: {copy}"
        );
        assert!(copy.contains("//! It doubles.\n"), "{copy}");
        for gone in ["EXERCISE", "HINT", "ANCHOR", "lives here"] {
            assert!(!copy.contains(gone), "{gone} left in:\n{copy}");
        }
        assert_eq!(
            finished_code(&copy),
            finished_code(source),
            "a copy compares equal to its source"
        );
    }

    #[test]
    fn a_copys_children_are_mounted_beside_it() {
        // Chapter 7 carries `node` and `node::peers`, not `node::own`.
        let node = CARRIED
            .iter()
            .find(|c| c.chapter == 7 && c.module == "node")
            .expect("chapter 7 carries its node");
        let code =
            "#[path = \"carried/node/peers.rs\"]\nmod peers;\npub(crate) mod driver;\nmod own;\n";
        assert_eq!(
            mount_children(node, code),
            "#[path = \"node/peers.rs\"]\nmod peers;\n#[path = \"node/driver.rs\"]\npub(crate) mod driver;\nmod own;\n",
            "a carried child is mounted from the copy's folder; a source's #[path] is replaced"
        );
    }

    #[test]
    fn a_lib_rs_gets_its_carried_block_between_its_markers() -> anyhow::Result<()> {
        let lib = format!(
            "//! # Layout\n{DOC_START}\n//! stale\n{DOC_END}\n\npub mod own;\n{CODE_START}\npub mod stale;\n{CODE_END}\n"
        );
        let written = with_carried_block(&lib, 2)?;
        assert!(
            written.contains("//! - [`validate`]: chapter 1's key rules, exercise 1.3.\n"),
            "{written}"
        );
        assert!(
            written.contains("#[path = \"carried/validate.rs\"]\npub mod validate;\n"),
            "{written}"
        );
        assert!(!written.contains("stale"), "{written}");
        let seven = format!("{DOC_START}\n{DOC_END}\n{CODE_START}\n{CODE_END}\n");
        let written = with_carried_block(&seven, 7)?;
        assert!(
            written.contains(
                "#[cfg_attr(not(feature = \"own\"), path = \"carried/raft.rs\")]\n\
                 #[cfg_attr(feature = \"own\", path = \"../../../exercises/chapter6/raft.rs\")]\n\
                 pub mod raft;\n"
            ),
            "with --features own, chapter 7 mounts the student's chapter 6 core: {written}"
        );
        assert!(
            with_carried_block("no markers", 2).is_err(),
            "a lib.rs without markers is an error, not a silent skip"
        );
        Ok(())
    }
}
