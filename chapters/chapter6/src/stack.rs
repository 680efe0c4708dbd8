//! Whose chapter 5 rules this build runs.
//!
//! Chapter 6's core repeats chapter 5's election and commit rules, given finished. With
//! `--features own` (your own stack), `build.rs` takes those functions from your
//! `exercises/chapter5/raft.rs` instead, and the tests' failures say so.

/// True when this build runs your chapter 5 rules (`--features own`).
pub const OWN: bool = cfg!(feature = "own");

/// A sentence to add to a failure that your chapter 5 code may have caused (nothing on a
/// default build).
pub fn note() -> &'static str {
    if OWN {
        "\nThis build runs your chapter 5 rules (start_election, handle_request_vote, \
         handle_vote, advance_commit, observe_term from exercises/chapter5/raft.rs, \
         `--features own`): if `cargo test -p chapter5` is not green, start there, and keep \
         `--features own` in the replay."
    } else {
        ""
    }
}
