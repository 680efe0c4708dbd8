//! `cargo xtask histories`: the book's consistency timelines, from real runs.
//!
//! A few chapter tests record their clients' calls and keep them (`Recorder::keep`) when
//! `KEEP_HISTORIES` names a folder. This runs those tests with the folder set to
//! `book/src/figures/histories/`, then draws each kept history with the harness's
//! timeline and titles it with what the harness's checker says of it: nothing in these
//! figures is drawn by hand. `cargo xtask figures` redraws them from the kept JSON.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use harness::history::{KEEP_HISTORIES, Operation};
use harness::linearizability::{Verdict, check};
use harness::timeline::Scale;

use crate::workspace::{self, Workspace};

/// A kept history: its name, the test that keeps it, and what it shows.
struct Kept {
    name: &'static str,
    chapter: &'static str,
    test: &'static str,
    what: &'static str,
}

const KEPT: [Kept; 3] = [
    Kept {
        name: "chapter3-stale-read",
        chapter: "chapter3",
        test: "consistency::chapter_an_async_follower_behind_a_cut_link_serves_stale_reads_then_catches_up",
        what: "Client 1 reads a follower behind a cut link, after client 0's blue was acknowledged",
    },
    Kept {
        name: "chapter3-read-your-writes",
        chapter: "chapter3",
        test: "consistency::chapter_an_async_follower_behind_a_cut_link_serves_stale_reads_then_catches_up",
        what: "Client 0 writes blue through the leader, then reads the lagging follower",
    },
    Kept {
        name: "chapter5-failover",
        chapter: "chapter5",
        test: "chapter::chapter_after_the_leader_crashes_a_new_leader_is_elected_and_serves_writes",
        what: "Two clients across a leader crash, every read through the log",
    },
];

/// Runs the tests that keep the histories, then draws them.
pub fn record(ws: &Workspace) -> anyhow::Result<()> {
    let dir = ws.root.join("book/src/figures/histories");
    std::fs::create_dir_all(&dir)?;
    let mut runs: Vec<(&str, &str)> = KEPT.iter().map(|k| (k.chapter, k.test)).collect();
    runs.dedup();
    for (chapter, test) in runs {
        workspace::run(
            ws.cargo()
                .args([
                    "test",
                    "-p",
                    chapter,
                    "--features",
                    "solution",
                    "--test",
                    chapter,
                ])
                .args([test, "--", "--exact"])
                .env(KEEP_HISTORIES, &dir),
        )?;
    }
    draw_all(ws)
}

/// Draws every kept history found in `book/src/figures/histories/`.
pub fn draw_all(ws: &Workspace) -> anyhow::Result<()> {
    let dir = ws.root.join("book/src/figures");
    for kept in &KEPT {
        let json = dir.join("histories").join(format!("{}.json", kept.name));
        if !json.exists() {
            println!(
                "skipped {}: no {} (run cargo xtask histories)",
                kept.name,
                json.display()
            );
            continue;
        }
        let svg = dir.join(format!("{}.svg", kept.name));
        draw(kept, &json, &svg)?;
        println!("drew {}", svg.display());
    }
    Ok(())
}

fn draw(kept: &Kept, json: &Path, svg: &Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(json).with_context(|| format!("reading {}", json.display()))?;
    let history: Vec<Operation> =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", json.display()))?;
    let verdict = match check(&history, Duration::from_secs(10)) {
        Verdict::Linearizable => "The checker: linearizable",
        Verdict::Violation { .. } => "The checker: not linearizable",
        Verdict::Inconclusive { .. } => {
            anyhow::bail!("the checker could not decide {} in time", json.display())
        }
    };
    let title = format!("{}. {verdict}.", kept.what);
    let drawing = harness::timeline::svg(&history, &[], Some(&title), Scale::EventOrder);
    std::fs::write(svg, drawing).with_context(|| format!("writing {}", svg.display()))
}
