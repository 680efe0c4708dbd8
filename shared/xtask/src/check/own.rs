//! Your own stack (`--features own`): a later chapter run on the student's files of the
//! earlier one instead of the given or carried code. In the scratch copy, whose exercise
//! files hold the finished code (every variant switched off), each stack passes the
//! later chapter's whole suite; and one known mutant of the earlier chapter, switched on,
//! fails the later chapter with a message that names the earlier chapter.

use std::path::Path;

use anyhow::{Context as _, bail};

use super::verdicts::tests_in_copy;
use crate::variants::Variant;
use crate::workspace::Workspace;

/// A later chapter on an earlier one's student files.
struct Stack {
    chapter: u32,
    earlier: u32,
    /// A known mutant of the earlier chapter (its heading in `MUTANTS.md`).
    mutant: &'static str,
    /// What the later chapter's failure must say.
    says: &'static str,
}

const STACKS: &[Stack] = &[
    Stack {
        chapter: 6,
        earlier: 5,
        mutant: "Grant a vote without the up-to-date check",
        says: "This build runs your chapter 5 rules",
    },
    Stack {
        chapter: 7,
        earlier: 6,
        mutant: "Count log positions from the snapshot's index",
        says: "your chapter 6 core",
    },
];

/// Every stack: its suite passes on finished files, and fails on the earlier chapter's
/// mutant with a message naming that chapter.
pub(super) fn own_stacks(ws: &Workspace, copy: &Path) -> anyhow::Result<()> {
    for stack in STACKS {
        let name = format!("chapter{}", stack.chapter);
        let (failing, output) = tests_in_copy(ws, copy, &name, &["own"], &[], None)?;
        if !failing.is_empty() {
            bail!(
                "{name} with `--features own` on the finished chapter {} fails {failing:?}: \
                 a student's own stack must pass as the given one does\n{}",
                stack.earlier,
                tail(&output)
            );
        }
        println!(
            "{name} on the finished chapter {}'s files: every test passes",
            stack.earlier
        );
        let earlier = format!("chapter{}", stack.earlier);
        let index = crate::mutants::of_chapter(&ws.root, &earlier)?
            .iter()
            .position(|m| m.name == stack.mutant)
            .with_context(|| format!("{earlier} has no known mutant {:?}", stack.mutant))?;
        let variant = Variant::Mutant(stack.earlier, index);
        let (failing, output) =
            tests_in_copy(ws, copy, &name, &["own"], &["simulation::"], Some(variant))?;
        if failing.is_empty() || !output.contains(stack.says) {
            bail!(
                "{name} with `--features own` on {earlier}'s mutant {:?}: {} failing tests, \
                 and the output must say {:?}\n{}",
                stack.mutant,
                failing.len(),
                stack.says,
                tail(&output)
            );
        }
        println!(
            "{name} on {earlier}'s mutant {:?}: {failing:?} fail, saying {:?}",
            stack.mutant, stack.says
        );
    }
    Ok(())
}

/// The end of a long output.
fn tail(output: &str) -> &str {
    let from = output.len().saturating_sub(4000);
    let from = (from..output.len())
        .find(|&i| output.is_char_boundary(i))
        .unwrap_or(0);
    &output[from..]
}
