//! Chapter 6: snapshots, a self-healing group whose log forgets.
//!
//! Chapter 5's group, whose log no longer grows for ever. When enough entries have been
//! applied since the last snapshot, a node snapshots its state machine (the map and the
//! table of answered requests), makes the snapshot durable, and drops the entries it
//! covers, from memory and from disk. A restart loads the snapshot and replays only the
//! log after it. A follower that needs entries its leader has dropped is sent the
//! snapshot instead, in pieces, and installs it.
//!
//! # Layout
//! Yours to finish (in `exercises/chapter6/`):
//! - [`raft`]: chapter 5's core over a log that begins at a snapshot: indexes and terms
//!   across the boundary, and where a restarted node starts (6.1); appends that begin
//!   inside the snapshot (6.4). Its child module `snapshots`: when a snapshot is due
//!   (6.2), compacting the log under it (6.3), sending the snapshot instead of entries
//!   (6.5), installing one (6.6).
//!
//! Given:
//! - [`protocol`]: entries, snapshots, messages (now `InstallSnapshot`), `Ready`;
//!   [`command`]: what an entry asks the map to do.
//! - [`api`]: the JSON shapes: the client API, envelopes, `/status` (now with the
//!   snapshot and the log's size).
//! - [`storage`]: the term, the vote, the snapshot and the log after it on disk, and
//!   the order of writes that makes compaction crash-safe.
//! - [`machine`]: the map and the table of answered requests, and their snapshot.
//! - [`node`]: the async shell: one driver task around the core, peer senders, waiting
//!   clients; it takes the snapshots the core asks for.
//! - [`replicas`]: three replicas of the real core, machine and storage in one thread,
//!   wired by a queue (the benchmark's group, and the long tests').
//! - [`stack`]: whose chapter 5 rules this build runs: the given ones, or yours with
//!   `--features own` (your own stack; `build.rs` copies them in).
//! - [`bench`]: disk held over a long run, a far-behind follower's catch-up, and
//!   restart time, with and without snapshots.
//! - [`demo`]: the live cluster of chapter 5, with this chapter's nodes.
//! - `main.rs`: the `chapter6` binary (`serve`, `get`, `put`, `delete`, `status`, `demo`,
//!   `bench`).
//!
//! <!-- carried: written by `cargo xtask exercises` -->
//! Carried, finished, from earlier chapters (in `src/carried/`: edit the original, not the copy):
//! - [`client`]: chapter 5's client, exercise 5.7.
//! - [`error`]: chapter 5's API errors.
//! - [`extract`]: chapter 1's request extractors.
//! - [`headers`]: chapter 5's exactly-once headers.
//! - [`server`]: chapter 5's HTTP server.
//! - [`validate`]: chapter 1's key rules, exercise 1.3.
//! <!-- end carried -->

// The student's files are mounted from exercises/, the reference from solutions/;
// `--features solution` switches. Tests are the same for both.
#[cfg(not(feature = "own"))]
#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter6/raft.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter6/raft.rs")]
pub mod raft;

/// Your own stack (`--features own`): the same file, with the functions that repeat
/// chapter 5's rules taken from your `exercises/chapter5/raft.rs` (see `build.rs`).
#[cfg(feature = "own")]
#[allow(unused_variables, unused_imports, dead_code)]
pub mod raft {
    include!(concat!(env!("OUT_DIR"), "/own/raft.rs"));
}

pub mod api;
pub mod bench;
pub mod command;
pub mod demo;
pub mod machine;
pub mod node;
pub mod protocol;
pub mod replicas;
pub mod stack;
pub mod storage;

// CARRIED: written by `cargo xtask exercises` (see src/carried/)
#[path = "carried/client.rs"]
pub mod client;
#[path = "carried/error.rs"]
pub mod error;
#[path = "carried/extract.rs"]
pub mod extract;
#[path = "carried/headers.rs"]
pub mod headers;
#[path = "carried/server.rs"]
pub mod server;
#[path = "carried/validate.rs"]
pub mod validate;
// END CARRIED

pub use client::{Client, ClientError, Retry};
pub use error::ApiError;
pub use node::{Config, Node, Peer};
pub use raft::{Raft, Role, Timing};
pub use server::{app, run};
