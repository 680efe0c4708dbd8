//! `cargo xtask progress`: runs each chapter's tests on the student's code and shows,
//! per exercise, whether its tests pass.

use crate::workspace::{self, Workspace, test_exercise, test_outcomes};

pub fn run(ws: &Workspace, only: Option<&str>) -> anyhow::Result<()> {
    let chapters = match only {
        Some(name) => vec![ws.chapter(name)?],
        None => ws.chapters()?,
    };
    let mut next: Option<String> = None;
    for chapter in chapters {
        let name = chapter.name();
        eprintln!("running {name}'s tests on your code...");
        let out = workspace::output(ws.cargo().args(["test", "-p", &name, "--no-fail-fast"]))?;
        let outcomes = test_outcomes(&String::from_utf8_lossy(&out.stdout));
        println!("\n{name} (exercises/{name}/)");
        if outcomes.is_empty() {
            println!(
                "  does not compile yet: run `cargo test -p {name}` to see the compiler's message"
            );
            next.get_or_insert_with(|| format!("make {name} compile: `cargo test -p {name}`"));
            continue;
        }
        for exercise in ws.exercises(&chapter)? {
            let tests: Vec<bool> = outcomes
                .iter()
                .filter(|(test, _)| test_exercise(test) == Some(exercise.id.number))
                .map(|(_, passed)| *passed)
                .collect();
            let passed = tests.iter().filter(|p| **p).count();
            let done = passed == tests.len() && !tests.is_empty();
            println!(
                "  {} {:<5} {:<72} {passed}/{} tests",
                if done { "✔" } else { "✘" },
                exercise.id,
                exercise.title,
                tests.len()
            );
            if !done {
                next.get_or_insert_with(|| {
                    format!(
                        "exercise {} in {} — run `cargo test -p {name} ex{}_`",
                        exercise.id,
                        exercise
                            .files
                            .iter()
                            .map(|f| chapter.exercise_path(f))
                            .collect::<Vec<_>>()
                            .join(", "),
                        exercise.id.number
                    )
                });
            }
        }
        let chapter_wide: Vec<bool> = outcomes
            .iter()
            .filter(|(test, _)| test_exercise(test).is_none())
            .map(|(_, passed)| *passed)
            .collect();
        let passed = chapter_wide.iter().filter(|p| **p).count();
        println!(
            "  {} {:<78} {passed}/{} tests",
            if passed == chapter_wide.len() {
                "✔"
            } else {
                "✘"
            },
            "whole chapter (end-to-end tests)",
            chapter_wide.len()
        );
        if passed < chapter_wide.len() {
            next.get_or_insert_with(|| {
                format!("{name}'s end-to-end tests — run `cargo test -p {name} chapter_`")
            });
        }
    }
    match next {
        Some(next) => println!("\nnext: {next}"),
        None => println!("\neverything passes. Well done."),
    }
    Ok(())
}
