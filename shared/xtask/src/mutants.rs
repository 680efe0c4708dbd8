//! Known mutants: plausible bugs that each chapter's tests must catch.
//!
//! A stub (`todo!()`) is easy to catch; a subtle bug is not. Each chapter may list, in
//! `solutions/chapterN/MUTANTS.md`, the bugs a student is likely to write (acknowledge
//! before the fsync, grant a vote without the up-to-date check, ...), each as a heading,
//! a sentence naming the file, and a diff of the solution:
//!
//! ````markdown
//! ## Grant a vote without the up-to-date check
//! In `raft.rs`: a candidate with a shorter log can win and lose committed entries.
//! ```diff
//! -        let granted = term == self.term && free && up_to_date;
//! +        let granted = term == self.term && free;
//! ```
//! ````
//!
//! `cargo xtask check` applies each to a scratch copy of the finished chapter and runs
//! the chapter's default suite: at least one test must fail, and the check names it. A
//! mutant that survives, or a diff that no longer applies, fails the check.

use std::path::Path;

use anyhow::{Context as _, bail};

/// One known bug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutant {
    /// What the bug is, in a few words.
    pub name: String,
    /// The solution file it changes, e.g. `raft.rs`.
    pub file: String,
    /// Each diff block: the lines it replaces (exactly once in the file), and what it
    /// puts there instead.
    pub hunks: Vec<(String, String)>,
}

impl Mutant {
    /// `content` with the bug in, or why it does not apply.
    pub fn apply(&self, content: &str) -> anyhow::Result<String> {
        let mut content = content.to_string();
        for (find, replace) in &self.hunks {
            match content.matches(find.as_str()).count() {
                1 => content = content.replacen(find.as_str(), replace, 1),
                0 => bail!(
                    "mutant {:?}: its lines {find:?} are no longer in {}: update MUTANTS.md",
                    self.name,
                    self.file
                ),
                n => bail!(
                    "mutant {:?}: its lines {find:?} occur {n} times in {}: make them unique",
                    self.name,
                    self.file
                ),
            }
        }
        Ok(content)
    }
}

/// A mutant being read: its name, its file, its finished hunks, the hunk being read.
type Reading = (
    String,
    Option<String>,
    Vec<(String, String)>,
    Vec<String>,
    Vec<String>,
);

/// The mutants of a `MUTANTS.md`.
pub fn parse(text: &str) -> anyhow::Result<Vec<Mutant>> {
    let mut mutants = Vec::new();
    let mut current: Option<Reading> = None;
    let mut in_diff = false;
    let mut finish = |m: Option<Reading>| {
        if let Some((name, file, hunks, _, _)) = m {
            let file = file.with_context(|| format!("mutant {name:?} names no `file.rs`"))?;
            if hunks.is_empty() || hunks.iter().any(|(find, _)| find.is_empty()) {
                bail!("mutant {name:?} has a diff block with no `-` lines");
            }
            mutants.push(Mutant { name, file, hunks });
        }
        Ok(())
    };
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("## ") {
            finish(current.take())?;
            current = Some((
                name.trim().to_string(),
                None,
                Vec::new(),
                Vec::new(),
                Vec::new(),
            ));
            in_diff = false;
            continue;
        }
        let Some((_, file, hunks, find, replace)) = current.as_mut() else {
            continue;
        };
        if line.starts_with("```diff") {
            in_diff = true;
        } else if line.starts_with("```") {
            if in_diff {
                hunks.push((find.join("\n"), replace.join("\n")));
                find.clear();
                replace.clear();
            }
            in_diff = false;
        } else if in_diff {
            if let Some(old) = line.strip_prefix('-') {
                find.push(old.to_string());
            } else if let Some(new) = line.strip_prefix('+') {
                replace.push(new.to_string());
            }
        } else if file.is_none()
            && let Some(name) = line
                .split('`')
                .skip(1)
                .step_by(2)
                .find(|word| word.ends_with(".rs"))
        {
            *file = Some(name.to_string());
        }
    }
    finish(current.take())?;
    Ok(mutants)
}

/// The mutants listed for a chapter (none if it has no `MUTANTS.md`).
pub fn of_chapter(root: &Path, chapter: &str) -> anyhow::Result<Vec<Mutant>> {
    let path = root.join("solutions").join(chapter).join("MUTANTS.md");
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| format!("in {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mutant_is_a_heading_a_file_and_a_diff() {
        let text = "# Known mutants\n\n## Forget the check\nIn `store.rs`, because.\n```diff\n-    check()?;\n-    write()\n+    write()\n```\n\n## Another\nIn `wal.rs`.\n```diff\n-a\n+b\n```\n";
        let mutants = parse(text).expect("parses");
        assert_eq!(mutants.len(), 2);
        assert_eq!(mutants[0].name, "Forget the check");
        assert_eq!(mutants[0].file, "store.rs");
        assert_eq!(
            mutants[0].hunks,
            [(
                "    check()?;\n    write()".to_string(),
                "    write()".to_string()
            )]
        );
        assert_eq!(
            mutants[0]
                .apply("fn f() {\n    check()?;\n    write()\n}")
                .expect("applies"),
            "fn f() {\n    write()\n}"
        );
        assert!(
            mutants[1].apply("nothing here").is_err(),
            "a stale diff is an error"
        );
    }
}
