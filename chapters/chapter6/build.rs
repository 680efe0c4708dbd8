//! Your own stack (`--features own`): chapter 6's core with the functions that repeat
//! chapter 5's rules taken from *your* `exercises/chapter5/raft.rs`.
//!
//! Chapter 6's `raft.rs` gives chapter 5's election and commit rules finished; with the
//! feature on, this script copies your chapter 5 code of those functions (between their
//! `// ANCHOR: name` and `// ANCHOR_END: name` lines) over the given ones and writes the
//! result to `$OUT_DIR/own/raft.rs`, which `src/lib.rs` mounts instead. `handle_append`
//! is not taken: chapter 6 changes it (exercise 6.4). Without the feature it writes
//! nothing, and the chapter builds exactly as before.

use std::path::{Path, PathBuf};

/// The functions chapter 6 repeats unchanged from chapter 5, by their anchors.
const FROM_CHAPTER5: &[&str] = &[
    "start_election",
    "handle_request_vote",
    "handle_vote",
    "advance_commit",
    "observe_term",
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_OWN").is_none() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let chapter6 = if std::env::var_os("CARGO_FEATURE_SOLUTION").is_some() {
        "solutions/chapter6"
    } else {
        "exercises/chapter6"
    };
    let (base, yours) = (
        format!("{chapter6}/raft.rs"),
        "exercises/chapter5/raft.rs".to_string(),
    );
    for file in [&base, &yours, &format!("{chapter6}/snapshots.rs")] {
        println!("cargo::rerun-if-changed={}", root.join(file).display());
    }
    let read = |file: &str| {
        std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|e| panic!("the own stack reads {file}: {e}"))
    };
    let mut code = read(&base);
    let chapter5 = read(&yours);
    for name in FROM_CHAPTER5 {
        let theirs = region(&chapter5, name).unwrap_or_else(|| missing(&yours, name));
        let Some(ours) = region(&code, name) else {
            missing(&base, name)
        };
        code = code.replacen(ours, theirs, 1);
    }
    let snapshots = root.join(chapter6).join("snapshots.rs");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("own");
    std::fs::create_dir_all(&out).expect("creating $OUT_DIR/own");
    std::fs::write(out.join("raft.rs"), included(&code, &base, &snapshots))
        .expect("writing $OUT_DIR/own/raft.rs");
}

/// The text from `// ANCHOR: name` to `// ANCHOR_END: name`, both lines included.
/// (A line ends in `\n` or, in a checkout with Windows line endings, `\r\n`.)
fn region<'a>(code: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!("// ANCHOR: {name}");
    let start = code
        .match_indices(&marker)
        .map(|(at, _)| at)
        .find(|&at| matches!(code.as_bytes().get(at + marker.len()), Some(b'\n' | b'\r')))?;
    let end_marker = format!("// ANCHOR_END: {name}");
    let end = start + code[start..].find(&end_marker)? + end_marker.len();
    Some(&code[start..end])
}

fn missing(file: &str, name: &str) -> ! {
    panic!(
        "{file} has no `// ANCHOR: {name}` ... `// ANCHOR_END: {name}` lines: the own stack \
         (`--features own`) copies chapter 5's `{name}` into chapter 6 between them; put \
         them back around the function"
    )
}

/// `code` as `include!` takes it: no inner attributes or inner docs (the mount in
/// `lib.rs` carries them), and the child module `snapshots` mounted by its full path.
fn included(code: &str, base: &str, snapshots: &Path) -> String {
    let mut out = format!(
        "// Written by chapters/chapter6/build.rs (`--features own`): {base} with chapter \
         5's rules from exercises/chapter5/raft.rs. Edit those files, not this one.\n"
    );
    for line in code.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//!") || trimmed.starts_with("#![") {
            continue;
        }
        if trimmed.starts_with("#[path = \"snapshots.rs\"]") {
            out.push_str(&format!(
                "#[path = {:?}]\n",
                snapshots.display().to_string()
            ));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
