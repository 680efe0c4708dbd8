//! Carried lesson code: where a later chapter uses an earlier chapter's finished student
//! code unchanged, its copy is generated from that chapter's solution, never kept by hand;
//! so is given code every chapter shares that depends on the chapter's own types (the
//! request extractors, which return the chapter's `ApiError`).
//!
//! A student in chapter 4 must see the whole system, including chapter 2's log, so the
//! chapter carries it: `chapters/chapter4/src/wal.rs` is `solutions/chapter2/wal.rs` with
//! the exercise markers and book anchors taken out and a header naming its source.
//! `cargo xtask exercises` writes the copies with `exercises/`; `cargo xtask exercises
//! --check` (part of `check`) fails when one is out of step, so a fix made in the lesson
//! reaches every chapter that carries it. Code a later lesson *changes* is not listed
//! here: it stays that chapter's own, and `cargo xtask diff` shows the change.

use anyhow::Context as _;

use crate::exercises::Generated;
use crate::markers::{END, HINT, START};
use crate::workspace::Workspace;

/// One carried file: the copy, its source, and what it holds (for the header).
#[derive(Debug)]
pub struct Carried {
    pub path: &'static str,
    pub from: &'static str,
    pub what: &'static str,
}

/// Every carried file, in chapter order.
pub const CARRIED: &[Carried] = &[
    Carried {
        path: "chapters/chapter2/src/extract.rs",
        from: "chapters/chapter1/src/extract.rs",
        what: "chapter 1's request extractors",
    },
    Carried {
        path: "chapters/chapter3/src/extract.rs",
        from: "chapters/chapter1/src/extract.rs",
        what: "chapter 1's request extractors",
    },
    Carried {
        path: "chapters/chapter4/src/extract.rs",
        from: "chapters/chapter1/src/extract.rs",
        what: "chapter 1's request extractors",
    },
    Carried {
        path: "chapters/chapter5/src/extract.rs",
        from: "chapters/chapter1/src/extract.rs",
        what: "chapter 1's request extractors",
    },
    Carried {
        path: "chapters/chapter2/src/client.rs",
        from: "solutions/chapter1/client.rs",
        what: "chapter 1's client, exercise 1.5",
    },
    Carried {
        path: "chapters/chapter4/src/client.rs",
        from: "solutions/chapter1/client.rs",
        what: "chapter 1's client, exercise 1.5",
    },
    Carried {
        path: "chapters/chapter2/src/validate.rs",
        from: "solutions/chapter1/validate.rs",
        what: "chapter 1's key rules, exercise 1.3",
    },
    Carried {
        path: "chapters/chapter3/src/validate.rs",
        from: "solutions/chapter1/validate.rs",
        what: "chapter 1's key rules, exercise 1.3",
    },
    Carried {
        path: "chapters/chapter4/src/validate.rs",
        from: "solutions/chapter1/validate.rs",
        what: "chapter 1's key rules, exercise 1.3",
    },
    Carried {
        path: "chapters/chapter4/src/wal.rs",
        from: "solutions/chapter2/wal.rs",
        what: "chapter 2's log, exercises 2.2, 2.3 and 2.5",
    },
    Carried {
        path: "chapters/chapter5/src/validate.rs",
        from: "solutions/chapter1/validate.rs",
        what: "chapter 1's key rules, exercise 1.3",
    },
    Carried {
        path: "chapters/chapter6/src/extract.rs",
        from: "chapters/chapter1/src/extract.rs",
        what: "chapter 1's request extractors",
    },
    Carried {
        path: "chapters/chapter6/src/validate.rs",
        from: "solutions/chapter1/validate.rs",
        what: "chapter 1's key rules, exercise 1.3",
    },
    Carried {
        path: "chapters/chapter6/src/client.rs",
        from: "solutions/chapter5/client.rs",
        what: "chapter 5's client, exercise 5.7",
    },
    Carried {
        path: "chapters/chapter6/src/server.rs",
        from: "chapters/chapter5/src/server.rs",
        what: "chapter 5's HTTP server",
    },
    Carried {
        path: "chapters/chapter6/src/error.rs",
        from: "chapters/chapter5/src/error.rs",
        what: "chapter 5's API errors",
    },
    Carried {
        path: "chapters/chapter6/src/headers.rs",
        from: "chapters/chapter5/src/headers.rs",
        what: "chapter 5's exactly-once headers",
    },
    Carried {
        path: "chapters/chapter6/src/node/addresses.rs",
        from: "chapters/chapter5/src/node/addresses.rs",
        what: "chapter 5's address book",
    },
    Carried {
        path: "chapters/chapter6/src/node/peers.rs",
        from: "chapters/chapter5/src/node/peers.rs",
        what: "chapter 5's peer senders",
    },
    Carried {
        path: "chapters/chapter7/src/raft.rs",
        from: "solutions/chapter6/raft.rs",
        what: "chapter 6's Raft core, exercises 6.1 and 6.4 and chapter 5's rules",
    },
    Carried {
        path: "chapters/chapter7/src/snapshots.rs",
        from: "solutions/chapter6/snapshots.rs",
        what: "chapter 6's snapshot rules, exercises 6.2, 6.3, 6.5 and 6.6",
    },
    Carried {
        path: "chapters/chapter7/src/protocol.rs",
        from: "chapters/chapter6/src/protocol.rs",
        what: "chapter 6's protocol",
    },
    Carried {
        path: "chapters/chapter7/src/api.rs",
        from: "chapters/chapter6/src/api.rs",
        what: "chapter 6's JSON shapes",
    },
    Carried {
        path: "chapters/chapter7/src/error.rs",
        from: "chapters/chapter5/src/error.rs",
        what: "chapter 5's API errors",
    },
    Carried {
        path: "chapters/chapter7/src/headers.rs",
        from: "chapters/chapter5/src/headers.rs",
        what: "chapter 5's exactly-once headers",
    },
    Carried {
        path: "chapters/chapter7/src/extract.rs",
        from: "chapters/chapter1/src/extract.rs",
        what: "chapter 1's request extractors",
    },
    Carried {
        path: "chapters/chapter7/src/validate.rs",
        from: "solutions/chapter1/validate.rs",
        what: "chapter 1's key rules, exercise 1.3",
    },
    Carried {
        path: "chapters/chapter7/src/storage.rs",
        from: "chapters/chapter6/src/storage.rs",
        what: "chapter 6's storage",
    },
    Carried {
        path: "chapters/chapter7/src/node.rs",
        from: "chapters/chapter6/src/node.rs",
        what: "chapter 6's node shell",
    },
    Carried {
        path: "chapters/chapter7/src/node/addresses.rs",
        from: "chapters/chapter5/src/node/addresses.rs",
        what: "chapter 5's address book",
    },
    Carried {
        path: "chapters/chapter7/src/node/checks.rs",
        from: "chapters/chapter6/src/node/checks.rs",
        what: "chapter 6's checks of a peer's messages",
    },
    Carried {
        path: "chapters/chapter7/src/node/config.rs",
        from: "chapters/chapter6/src/node/config.rs",
        what: "chapter 6's node settings",
    },
    Carried {
        path: "chapters/chapter7/src/node/driver.rs",
        from: "chapters/chapter6/src/node/driver.rs",
        what: "chapter 6's driver",
    },
    Carried {
        path: "chapters/chapter7/src/node/peers.rs",
        from: "chapters/chapter5/src/node/peers.rs",
        what: "chapter 5's peer senders",
    },
];

/// Every carried copy, as it must be.
pub fn generate(ws: &Workspace) -> anyhow::Result<Vec<Generated>> {
    CARRIED
        .iter()
        .map(|carried| {
            let source = ws.read(carried.from)?;
            let content = carry(carried, &source);
            Ok(Generated {
                path: carried.path.to_string(),
                content: crate::exercises::rustfmt(&content)
                    .with_context(|| format!("formatting {}", carried.path))?,
            })
        })
        .collect()
}

/// The copy of `source`: a header, then the source without its exercise markers, its
/// book anchors, and the sentence that says which exercises live in it.
fn carry(carried: &Carried, source: &str) -> String {
    // A lesson's file is carried as its solution: the student's code, finished.
    let finished = if carried.from.starts_with("solutions/") {
        ", finished"
    } else {
        ""
    };
    let mut out = format!(
        "//! Carried from `{}` by `cargo xtask exercises`:\n\
         //! {}{finished}. Edit that file and regenerate;\n\
         //! `cargo xtask check` fails while this copy differs.\n\
         //!\n",
        carried.from, carried.what
    );
    out.push_str(&finished_code(source));
    out
}

/// A source as finished code: without exercise markers, book anchors, the sentence
/// that says which exercises live in it, or a carried copy's header. What a copy holds,
/// and what `cargo xtask diff chapterA chapterB` compares.
pub fn finished_code(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut lines = source.lines().peekable();
    if lines
        .peek()
        .is_some_and(|l| l.starts_with("//! Carried from"))
    {
        // The header: three lines and a blank doc line.
        lines.by_ref().take(4).for_each(drop);
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

    #[test]
    fn a_carried_copy_names_its_source_and_drops_markers_and_anchors() {
        let carried = Carried {
            path: "chapters/c2/src/s.rs",
            from: "solutions/c1/s.rs",
            what: "chapter 1's s, exercise 1.1",
        };
        let source = "//! The s.\n//!\n//! Exercise 1.1 lives here. It doubles.\n\n// ANCHOR: double\nfn double(x: u32) -> u32 {\n    // EXERCISE 1.1: double it\n    // HINT: twice\n    x * 2\n    // END EXERCISE 1.1\n}\n// ANCHOR_END: double\n";
        let copy = carry(&carried, source);
        assert!(copy.starts_with(
            "//! Carried from `solutions/c1/s.rs` by `cargo xtask exercises`:
//! chapter 1's s, exercise 1.1, finished."
        ));
        assert!(copy.contains("//! It doubles.\n"), "{copy}");
        for gone in ["EXERCISE", "HINT", "ANCHOR", "lives here"] {
            assert!(!copy.contains(gone), "{gone} left in:\n{copy}");
        }
        assert_eq!(
            finished_code(&copy),
            finished_code(source),
            "a copy compares equal to its source"
        );
        assert!(
            copy.contains("fn double(x: u32) -> u32 {\n    x * 2\n}\n"),
            "{copy}"
        );
    }
}
