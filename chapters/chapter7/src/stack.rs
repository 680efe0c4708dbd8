//! Whose chapter 6 core this build runs.
//!
//! By default every group and the configuration service run the reference core carried
//! from chapter 6 (`src/carried/raft.rs`). With `--features own`, they run yours:
//! `exercises/chapter6/raft.rs` and `snapshots.rs`, exactly as you left them (your own
//! stack). The switch changes which file is compiled, nothing else: the tests, the
//! simulator, `demo` and the live page run on whichever core the build holds.
//!
//! The tests check the rules of Raft itself (one leader per term, a committed entry never
//! changes) apart from this chapter's rules, and word a broken one with [`core_broke`], so
//! a failure caused by the core says whose core it was and where to look.

/// True when this build runs the student's own chapter 6 core (`--features own`).
pub const OWN: bool = cfg!(feature = "own");

/// The core this build runs, for a failure message or the demo's banner.
pub fn core() -> &'static str {
    if OWN {
        "your own chapter 6 core (exercises/chapter6/raft.rs and snapshots.rs, `--features own`)"
    } else {
        "the reference chapter 6 core carried into this chapter (src/carried/raft.rs)"
    }
}

/// The message for a rule of Raft broken by the core: `rule` ("log matching"), `place`
/// ("group 2"), `detail` (what was seen).
pub fn core_broke(rule: &str, place: &str, detail: &str) -> String {
    if OWN {
        format!(
            "your chapter 6 core broke {rule} on {place}: run `cargo test -p chapter6` \
             (this build runs exercises/chapter6/raft.rs and snapshots.rs, `--features \
             own`; without it, the carried reference). {detail}"
        )
    } else {
        format!(
            "the chapter 6 core broke {rule} on {place}. {detail} This build runs the \
             carried reference core, so look at what drives it: the order of its Ready \
             (persist, send, apply), and restarts from a snapshot."
        )
    }
}

/// The message for a panic inside the core (an unfinished exercise, or one of its own
/// checks): `place` ("group 2, replica 1, in step"), `message` (the panic's).
pub fn core_panicked(place: &str, message: &str) -> String {
    let whose = if OWN { "your" } else { "the reference" };
    format!(
        "{whose} chapter 6 core panicked on {place}: {message}\n{}",
        if OWN {
            "Run `cargo test -p chapter6` until it is green: this build runs \
             exercises/chapter6/raft.rs and snapshots.rs (`--features own`)."
        } else {
            "This build runs the carried reference core: look at what drives it."
        }
    )
}

/// A sentence to add to a failure that may come from either chapter's code (a replay
/// command must keep the build's features).
pub fn which_core() -> String {
    if OWN {
        format!(
            "This build runs {}: keep `--features own` in the replay.",
            core()
        )
    } else {
        format!("This build runs {}.", core())
    }
}
