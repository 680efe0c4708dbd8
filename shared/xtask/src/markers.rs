//! The exercise markers in `solutions/`, and the exercise files generated from them.
//!
//! A solution file marks each student-owned region like this (the marker lines are
//! comments, so the solution is ordinary Rust):
//!
//! ```text
//!     // EXERCISE 1.2: allow the write only if the key is at the expected version
//!     // HINT: An absent key is "at version 0".
//!     ...the reference code...
//!     // END EXERCISE 1.2
//! ```
//!
//! A region is the whole body of a function (or the tail of one), so replacing it with
//! `todo!(...)` still compiles. The generated exercise file keeps the `EXERCISE` and
//! `HINT` lines and replaces the code and the `END` line with a `todo!` whose message
//! names the exercise, the file to edit and the book section. An id may mark several
//! regions (in one or several files); stubbing the id stubs them all.

use std::fmt;

/// The words every stub's message carries, and what the harness's panic hook and the
/// chapters' servers look for: one constant, `plumbing::unfinished::UNFINISHED`.
pub const UNFINISHED: &str = plumbing::unfinished::UNFINISHED;

use anyhow::{Context as _, bail};

/// An exercise id such as `1.2`: chapter 1, exercise 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExerciseId {
    pub chapter: u32,
    pub number: u32,
}

impl fmt::Display for ExerciseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.chapter, self.number)
    }
}

impl std::str::FromStr for ExerciseId {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        let (chapter, number) = s
            .split_once('.')
            .with_context(|| format!("{s:?} is not an exercise id like 1.2"))?;
        Ok(Self {
            chapter: chapter
                .parse()
                .with_context(|| format!("bad chapter in exercise id {s:?}"))?,
            number: number
                .parse()
                .with_context(|| format!("bad number in exercise id {s:?}"))?,
        })
    }
}

/// One marked region of a solution file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub id: ExerciseId,
    /// The short task, from the `EXERCISE` line.
    pub title: String,
    /// The `HINT` lines' text.
    pub hints: Vec<String>,
    /// Index of the `EXERCISE` line.
    pub start: usize,
    /// Index of the first code line (after the hints).
    pub body_start: usize,
    /// Index of the `END EXERCISE` line.
    pub end: usize,
    /// The marker line's indentation, reused for the stub.
    pub indent: String,
}

pub const START: &str = "// EXERCISE ";
pub const HINT: &str = "// HINT:";
pub const END: &str = "// END EXERCISE ";

/// Finds every region of `source` (the file is named in errors as `name`).
pub fn parse(name: &str, source: &str) -> anyhow::Result<Vec<Region>> {
    let lines: Vec<&str> = source.lines().collect();
    let mut regions = Vec::new();
    let mut open: Option<Region> = None;
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let at = || format!("{name}:{}", i + 1);
        if let Some(rest) = trimmed.strip_prefix(START) {
            if let Some(region) = &open {
                bail!(
                    "{}: exercise {} starts inside exercise {} (regions do not nest)",
                    at(),
                    rest,
                    region.id
                );
            }
            let (id, title) = rest
                .split_once(':')
                .with_context(|| format!("{}: expected `// EXERCISE N.M: task`", at()))?;
            let title = title.trim();
            if title.is_empty() {
                bail!("{}: exercise {id} has no task after the colon", at());
            }
            let mut body_start = i + 1;
            let mut hints = Vec::new();
            while let Some(hint) = lines
                .get(body_start)
                .and_then(|l| l.trim_start().strip_prefix(HINT))
            {
                hints.push(hint.trim().to_string());
                body_start += 1;
            }
            open = Some(Region {
                id: id.trim().parse().with_context(at)?,
                title: title.to_string(),
                hints,
                start: i,
                body_start,
                end: 0,
                indent: line[..line.len() - trimmed.len()].to_string(),
            });
        } else if let Some(rest) = trimmed.strip_prefix(END) {
            let id: ExerciseId = rest.trim().parse().with_context(at)?;
            let Some(mut region) = open.take() else {
                bail!(
                    "{}: `END EXERCISE {id}` without a matching `EXERCISE {id}`",
                    at()
                );
            };
            if region.id != id {
                bail!(
                    "{}: `END EXERCISE {id}` closes exercise {}",
                    at(),
                    region.id
                );
            }
            if !lines[region.body_start..i]
                .iter()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
            {
                bail!(
                    "{}: exercise {id} has no code: there is nothing for the student to write",
                    at()
                );
            }
            region.end = i;
            regions.push(region);
        }
    }
    if let Some(region) = open {
        bail!(
            "{name}:{}: exercise {} is never closed with `// END EXERCISE {}`",
            region.start + 1,
            region.id,
            region.id
        );
    }
    Ok(regions)
}

/// Keeps the skeleton's build quiet until the student has written the code.
const ALLOW: &str = "\n// The stubs leave some parameters, imports and helpers unused until you write the code;\n\
                     // delete this line once every exercise in the file is done.\n\
                     #![allow(unused_variables, unused_imports, dead_code)]\n";

/// The comment put at the top of every generated exercise file.
pub fn header(solution_path: &str) -> String {
    format!(
        "// This file is yours to edit: replace each `todo!()` with your code, then run the\n\
         // chapter's tests. It was generated from {solution_path} by `cargo xtask exercises`;\n\
         // running that again overwrites your work, so do it only to start over.\n"
    )
}

/// The `todo!(...)` that stands for a region in an exercise file: it names the exercise,
/// the file to edit (`student_path`) and the book's section.
pub fn todo_call(region: &Region, student_path: &str) -> String {
    format!(
        "todo!(\"exercise {id} {UNFINISHED}: edit {student_path}: {title} (book: chapter {c}, exercise {n})\")",
        id = region.id,
        title = region.title.replace('\\', "\\\\").replace('"', "\\\""),
        c = region.id.chapter,
        n = region.id.number,
    )
}

/// The exercise file for a solution: the regions whose id satisfies `stub` become
/// `todo!`s. `student_path` is the path the student edits (quoted in the message).
pub fn generate(
    solution_path: &str,
    student_path: &str,
    source: &str,
    stub: impl Fn(ExerciseId) -> bool,
) -> anyhow::Result<String> {
    let regions = parse(solution_path, source)?;
    let lines: Vec<&str> = source.lines().collect();
    let mut out = String::new();
    if regions.iter().any(|r| stub(r.id)) {
        out.push_str(&header(solution_path));
    }
    let mut next = 0;
    if regions.iter().any(|r| stub(r.id)) {
        // After the file's `//!` docs: the stubs leave parameters and imports unused.
        let docs = lines.iter().take_while(|l| l.starts_with("//!")).count();
        for line in &lines[..docs] {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str(ALLOW);
        next = docs;
    }
    for region in regions.iter().filter(|r| stub(r.id)) {
        for line in &lines[next..region.body_start] {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str(&format!(
            "{}{}\n",
            region.indent,
            todo_call(region, student_path)
        ));
        next = region.end + 1;
    }
    for line in &lines[next..] {
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

/// A source as finished code: without exercise markers, book anchors, the sentence
/// that says which exercises live in it, or a carried copy's header. What a carried copy
/// holds, and what `cargo xtask diff chapterA chapterB` compares.
pub fn finished_code(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut lines = source.lines().peekable();
    if lines
        .peek()
        .is_some_and(|l| l.starts_with("//! Carried from"))
    {
        // The header, to its blank doc line.
        for line in lines.by_ref() {
            if line == "//!" {
                break;
            }
        }
    }
    for line in lines {
        let code = line.trim_start();
        let marker = [START, HINT, END, "// ANCHOR: ", "// ANCHOR_END: "]
            .iter()
            .any(|m| code.starts_with(m));
        if marker {
            continue;
        }
        out.push_str(&without_lives_here(line));
        out.push('\n');
    }
    out
}

/// `//! Exercise 1.3 lives here. Validation ...` → `//! Validation ...`.
fn without_lives_here(line: &str) -> String {
    let Some(doc) = line.strip_prefix("//! ") else {
        return line.to_string();
    };
    for ending in [" lives here. ", " live here. "] {
        if doc.starts_with("Exercise")
            && let Some(at) = doc.find(ending)
        {
            return format!("//! {}", &doc[at + ending.len()..]);
        }
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOLUTION: &str = "\
fn a() -> u32 {
    // EXERCISE 1.1: return one
    // HINT: it is a small number
    1
    // END EXERCISE 1.1
}
fn b() -> u32 {
    // EXERCISE 1.2: return \"two\"
    2
    // END EXERCISE 1.2
}
";

    #[test]
    fn regions_are_parsed_with_titles_and_hints() -> anyhow::Result<()> {
        let regions = parse("s.rs", SOLUTION)?;
        assert_eq!(regions.len(), 2);
        assert_eq!(
            regions[0].id,
            ExerciseId {
                chapter: 1,
                number: 1
            }
        );
        assert_eq!(regions[0].hints, vec!["it is a small number"]);
        assert_eq!(
            (regions[0].start, regions[0].body_start, regions[0].end),
            (1, 3, 4)
        );
        assert_eq!(regions[1].title, "return \"two\"");
        Ok(())
    }

    #[test]
    fn only_the_chosen_regions_are_stubbed() -> anyhow::Result<()> {
        let out = generate("solutions/c/s.rs", "exercises/c/s.rs", SOLUTION, |id| {
            id.number == 2
        })?;
        assert!(out.contains("    1\n"), "{out}");
        assert!(out.contains(
            "    todo!(\"exercise 1.2 is not implemented yet: edit exercises/c/s.rs: return \\\"two\\\" (book: chapter 1, exercise 2)\")\n"
        ), "{out}");
        assert!(!out.contains("    2\n"), "{out}");
        assert!(!out.contains("END EXERCISE 1.2"), "{out}");
        assert!(out.starts_with("// This file is yours to edit"));
        Ok(())
    }

    #[test]
    fn a_file_without_stubs_is_copied_unchanged() -> anyhow::Result<()> {
        assert_eq!(generate("s", "e", SOLUTION, |_| false)?, SOLUTION);
        Ok(())
    }

    #[test]
    fn malformed_markers_are_refused_with_their_line() {
        let unclosed = "// EXERCISE 1.1: x\n1\n";
        assert!(
            parse("f.rs", unclosed)
                .expect_err("malformed markers are refused")
                .to_string()
                .contains("f.rs:1: exercise 1.1 is never closed")
        );
        let mismatched = "// EXERCISE 1.1: x\n1\n// END EXERCISE 1.2\n";
        assert!(
            parse("f.rs", mismatched)
                .expect_err("malformed markers are refused")
                .to_string()
                .contains("f.rs:3")
        );
        let empty = "// EXERCISE 1.1: x\n// just a comment\n// END EXERCISE 1.1\n";
        assert!(
            parse("f.rs", empty)
                .expect_err("malformed markers are refused")
                .to_string()
                .contains("has no code")
        );
        let nested = "// EXERCISE 1.1: x\n// EXERCISE 1.2: y\n";
        assert!(
            parse("f.rs", nested)
                .expect_err("malformed markers are refused")
                .to_string()
                .contains("do not nest")
        );
    }
}
