//! Exact verdicts in the order a student works: with exercises 1 to K of a chapter done
//! and the later ones still `todo!()`, every `ex1_` to `exK_` test passes; on the
//! untouched skeleton, every `given::` test passes. A student who finished exercise 6.1
//! must see 6.1's tests green, whatever 6.2 to 6.6 still lack.
//!
//! The variants come from the same one-build-per-chapter copy as the stub and mutant
//! checks (`Variant::SolvedUpTo`), so this costs test runs, not builds.

use std::path::Path;

use anyhow::bail;

use crate::variants::Variant;
use crate::workspace::{Workspace, test_exercise};

/// Every chapter, every prefix of its exercises: the prefix's own tests pass.
pub(super) fn exercises_stand_alone(
    ws: &Workspace,
    copy: &Path,
    only: Option<&str>,
) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for chapter in ws.chapters_named(only)? {
        let name = chapter.name();
        let last = ws
            .exercises(&chapter)?
            .iter()
            .map(|e| e.id.number)
            .max()
            .unwrap_or(0);
        // With every exercise done it is the reference, which step 3 has run.
        for k in 1..last {
            let filters: Vec<String> = (1..=k).map(|n| format!("ex{n}_")).collect();
            let filters: Vec<&str> = filters.iter().map(String::as_str).collect();
            let (failing, output) =
                super::failing_tests(ws, copy, &name, &filters, Variant::SolvedUpTo(k))?;
            let early: Vec<&String> = failing
                .iter()
                .filter(|t| test_exercise(t).is_some_and(|n| n <= k))
                .collect();
            if early.is_empty() {
                println!("{name}: exercises 1 to {k} done, the rest stubbed: their tests pass");
            } else {
                problems.push(format!(
                    "{name}: with exercises {c}.1 to {c}.{k} done and the later ones stubbed, \
                     {} of their own tests fail, so a student who did them in order sees red: \
                     {early:?}\n{}",
                    early.len(),
                    first_failure_text(&output),
                    c = chapter.number,
                ));
            }
        }
        let (failing, output) =
            super::failing_tests(ws, copy, &name, &["given::"], Variant::AllStubs)?;
        let given: Vec<&String> = failing
            .iter()
            .filter(|t| t.starts_with("given::"))
            .collect();
        if given.is_empty() {
            println!("{name}: every given:: test passes on the untouched skeleton");
        } else {
            problems.push(format!(
                "{name}: given:: tests must need no exercise, but on the skeleton {} fail: \
                 {given:?}\n{}",
                given.len(),
                first_failure_text(&output)
            ));
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n\n"));
    }
    Ok(())
}

/// The first failing test's own output (libtest prints it under `---- name stdout ----`),
/// cut short: enough to see which exercise or rule it tripped on.
fn first_failure_text(output: &str) -> String {
    let Some(start) = output.find("\n---- ") else {
        return String::new();
    };
    output[start + 1..]
        .lines()
        .take(12)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failure_is_quoted_from_its_header() {
        let output = "running 2 tests\ntest a ... FAILED\n\nfailures:\n\n---- a stdout ----\npanicked: exercise 6.2\n\nfailures:\n    a\n";
        let text = first_failure_text(output);
        assert!(
            text.starts_with("---- a stdout ----\npanicked: exercise 6.2"),
            "{text}"
        );
        assert_eq!(first_failure_text("all fine"), "");
    }
}
