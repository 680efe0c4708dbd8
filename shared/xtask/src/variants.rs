//! One build per chapter for every stub and most known mutants.
//!
//! The stub check and the mutant check each run a chapter's suite against many
//! variants of its finished code: "only exercise 5.2 stubbed", "the whole skeleton",
//! "known mutant 3". Building each variant on its own costs a compile of the chapter per
//! variant (half a minute for chapter 5), which is most of `cargo xtask check`'s time.
//! Instead, the scratch copy's exercise files hold every variant at once, each behind a
//! switch read at run time from the `XTASK_VARIANT` environment variable:
//!
//! ```text
//!     // EXERCISE 5.2: grant a vote ...
//!     if ::std::env::var("XTASK_VARIANT").is_ok_and(|v| v == "stub 5.2" || v == "stub all") {
//!         todo!("exercise 5.2 is not implemented yet: edit exercises/chapter5/raft.rs: ...")
//!     }
//!     if ::std::env::var("XTASK_VARIANT").is_ok_and(|v| v == "mutant 5/1") {
//!         return {
//!             ...the region's code with mutant 1's diff applied...
//!         };
//!     }
//!     ...the region's code...
//!     // END EXERCISE 5.2
//! ```
//!
//! A region is the whole body or the tail of a function (see `markers`), so with the
//! switch on, the function does exactly what the generated stub, or the mutated solution,
//! would do: panic with the same message at the same point, or run the mutated code and
//! return its value. With no switch on, it is the finished solution. A mutant whose diff
//! touches lines outside every region cannot be switched this way; the check builds it
//! on its own (`switchable` says which).

use std::collections::BTreeSet;

use anyhow::Context as _;

use crate::markers::{self, ExerciseId, Region};
use crate::mutants::Mutant;

/// A diff block of a mutant: the lines it replaces, and what it puts there.
type Hunk = (String, String);

/// Mutants switched in by the whole course, as (chapter, index in its `MUTANTS.md`).
pub type Switchable = BTreeSet<(String, usize)>;

/// The environment variable that chooses the variant.
pub const VARIABLE: &str = "XTASK_VARIANT";

/// A variant of a chapter's finished code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Only this exercise is stubbed.
    Stub(ExerciseId),
    /// Every exercise is stubbed: the skeleton a student starts from.
    AllStubs,
    /// Exercises 1 to `k` of the chapter are done, the later ones still stubbed: where a
    /// student stands after working through the chapter in order.
    SolvedUpTo(u32),
    /// Known mutant number `n` (its position in the chapter's `MUTANTS.md`) of chapter
    /// `c` (named, so that a build holding two chapters' files switches one mutant).
    Mutant(u32, usize),
}

impl Variant {
    /// The value of [`VARIABLE`] that turns the variant on.
    pub fn value(self) -> String {
        match self {
            Variant::Stub(id) => format!("stub {id}"),
            Variant::AllStubs => "stub all".to_string(),
            Variant::SolvedUpTo(k) => format!("solved 1..{k}"),
            Variant::Mutant(c, n) => format!("mutant {c}/{n}"),
        }
    }
}

/// A solution file with every variant behind a switch, and which of `mutants` (indexes
/// into the chapter's list) it switches. `mutants` are those that change this file.
pub fn switched(
    chapter: u32,
    solution_path: &str,
    student_path: &str,
    source: &str,
    mutants: &[(usize, &Mutant)],
) -> anyhow::Result<(String, BTreeSet<usize>)> {
    let regions = markers::parse(solution_path, source)?;
    let lines: Vec<&str> = source.lines().collect();
    // Each switchable mutant's hunks, by the region they fall in.
    let mut by_region: Vec<Vec<(usize, Vec<&Hunk>)>> = vec![Vec::new(); regions.len()];
    let mut switchable = BTreeSet::new();
    for &(n, mutant) in mutants {
        let places: Option<Vec<usize>> = mutant
            .hunks
            .iter()
            .map(|(find, _)| region_holding(source, &regions, find))
            .collect();
        let Some(places) = places else { continue };
        for (r, hunk) in places.iter().zip(&mutant.hunks) {
            match by_region[*r].iter_mut().find(|(m, _)| *m == n) {
                Some((_, hunks)) => hunks.push(hunk),
                None => by_region[*r].push((n, vec![hunk])),
            }
        }
        switchable.insert(n);
    }

    let mut out = String::new();
    // After the file's `//!` docs: the unused copies of the code must not fail the build.
    let docs = lines.iter().take_while(|l| l.starts_with("//!")).count();
    for line in &lines[..docs] {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("#![allow(warnings, clippy::all)]\n");
    let mut next = docs;
    for (region, mutants) in regions.iter().zip(&by_region) {
        for line in &lines[next..region.body_start] {
            out.push_str(line);
            out.push('\n');
        }
        let indent = &region.indent;
        let id = region.id;
        // Stubbed on its own, in the whole skeleton, and wherever the student has done
        // only the exercises before it.
        let mut stubbed = vec![Variant::Stub(id), Variant::AllStubs];
        stubbed.extend((1..id.number).map(Variant::SolvedUpTo));
        out.push_str(&format!(
            "{indent}if {} {{\n{indent}    {}\n{indent}}}\n",
            condition(&stubbed),
            markers::todo_call(region, student_path)
        ));
        let body = lines[region.body_start..region.end].join("\n");
        for (n, hunks) in mutants {
            let mut mutated = body.clone();
            for (find, replace) in hunks {
                mutated = mutated.replacen(find.as_str(), replace, 1);
            }
            out.push_str(&format!(
                "{indent}if {} {{\n{indent}    return {{\n{mutated}\n{indent}    }};\n{indent}}}\n",
                condition(&[Variant::Mutant(chapter, *n)])
            ));
        }
        next = region.body_start;
    }
    for line in &lines[next..] {
        out.push_str(line);
        out.push('\n');
    }
    Ok((out, switchable))
}

/// The exercise whose region holds every line `mutant` changes in `source` (the solution
/// file at `path`), if one does: the exercise whose own tests must catch it.
pub fn mutant_exercise(path: &str, source: &str, mutant: &Mutant) -> anyhow::Result<Option<u32>> {
    let regions = markers::parse(path, source)?;
    let ids: Option<BTreeSet<u32>> = mutant
        .hunks
        .iter()
        .map(|(find, _)| region_holding(source, &regions, find).map(|r| regions[r].id.number))
        .collect();
    Ok(ids
        .filter(|ids| ids.len() == 1)
        .and_then(|ids| ids.first().copied()))
}

/// The region whose code holds `find` (which occurs once in `source`), if any.
fn region_holding(source: &str, regions: &[Region], find: &str) -> Option<usize> {
    let at = source.find(find)?;
    let first = source[..at].matches('\n').count();
    let last = first + find.matches('\n').count();
    regions
        .iter()
        .position(|r| r.body_start <= first && last < r.end)
}

/// Rust that is true when any of `variants` is switched on.
fn condition(variants: &[Variant]) -> String {
    let tests: Vec<String> = variants
        .iter()
        .map(|v| format!("v == {:?}", v.value()))
        .collect();
    format!(
        "::std::env::var({VARIABLE:?}).is_ok_and(|v| {})",
        tests.join(" || ")
    )
}

/// Every file of the chapters with its variants switched, and the switchable mutants
/// as (chapter, index) pairs.
pub fn generate(
    ws: &crate::workspace::Workspace,
) -> anyhow::Result<(Vec<crate::exercises::Generated>, Switchable)> {
    let mut files = Vec::new();
    let mut switchable = BTreeSet::new();
    for chapter in ws.chapters()? {
        let name = chapter.name();
        let mutants = crate::mutants::of_chapter(&ws.root, &name)?;
        for file in &chapter.files {
            let (solution, student) = (chapter.solution_path(file), chapter.exercise_path(file));
            let mine: Vec<(usize, &Mutant)> = mutants
                .iter()
                .enumerate()
                .filter(|(_, m)| &m.file == file)
                .collect();
            let (content, switched) = switched(
                chapter.number,
                &solution,
                &student,
                &ws.read(&solution)?,
                &mine,
            )
            .with_context(|| format!("switching the variants of {solution}"))?;
            switchable.extend(switched.into_iter().map(|n| (name.clone(), n)));
            files.push(crate::exercises::Generated {
                path: student,
                content,
            });
        }
    }
    Ok((files, switchable))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOLUTION: &str = "\
//! Docs.
fn a(x: u32) -> u32 {
    let y = x + 1;
    // EXERCISE 1.1: double it
    let z = y * 2;
    z
    // END EXERCISE 1.1
}
const LIMIT: u32 = 3;
";

    fn mutant(find: &str, replace: &str) -> Mutant {
        Mutant {
            name: "m".into(),
            file: "s.rs".into(),
            hunks: vec![(find.into(), replace.into())],
        }
    }

    #[test]
    fn a_region_gets_its_stub_and_each_mutant_behind_a_switch() -> anyhow::Result<()> {
        let inside = mutant("    let z = y * 2;", "    let z = y * 3;");
        let outside = mutant("const LIMIT: u32 = 3;", "const LIMIT: u32 = 4;");
        let (out, switchable) = switched(
            1,
            "solutions/c/s.rs",
            "exercises/c/s.rs",
            SOLUTION,
            &[(0, &inside), (1, &outside)],
        )?;
        assert_eq!(
            switchable,
            BTreeSet::from([0]),
            "only the mutant inside a region"
        );
        assert!(
            out.starts_with("//! Docs.\n#![allow(warnings, clippy::all)]\n"),
            "{out}"
        );
        let expected = "    // EXERCISE 1.1: double it
    if ::std::env::var(\"XTASK_VARIANT\").is_ok_and(|v| v == \"stub 1.1\" || v == \"stub all\") {
        todo!(\"exercise 1.1 is not implemented yet: edit exercises/c/s.rs: double it (book: chapter 1, exercise 1)\")
    }
    if ::std::env::var(\"XTASK_VARIANT\").is_ok_and(|v| v == \"mutant 1/0\") {
        return {
    let z = y * 3;
    z
        };
    }
    let z = y * 2;
    z
    // END EXERCISE 1.1
}
const LIMIT: u32 = 3;
";
        assert!(out.ends_with(expected), "{out}");
        Ok(())
    }
}
