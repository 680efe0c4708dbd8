//! Chapter 5: failover, a replicated group that elects its own leader.
//!
//! Chapter 3's group with no fixed leader. Every node starts as a follower; one whose
//! leader goes quiet for a random election timeout asks the others for their votes, and
//! the first to win a majority leads its term. Terms fence off deposed leaders; the
//! commit rule and the vote rule together keep every acknowledged write through any
//! number of failovers. Clients find the leader by themselves, retry, and name their
//! writes so that a retry is applied once.
//!
//! # Layout
//! Yours to finish (in `exercises/chapter5/`):
//! - [`raft`]: the protocol's core, no I/O: the election timer and becoming a candidate
//!   (5.1), granting votes (5.2), counting them (5.3), appends with terms (5.4), the
//!   leader's commit rule (5.5), stepping down on a higher term (5.6).
//! - [`client`]: finding the leader and retrying with backoff and request ids (5.7).
//!
//! Given:
//! - [`protocol`]: the vocabulary the core, the shell and the API share: entries,
//!   commands, messages, `Ready`, timing.
//! - [`api`]: the JSON shapes: chapter 3's client API, commands, envelopes, `/status`.
//! - [`error`]: API errors, now with `409 stale_request`; [`headers`]: the request-id
//!   headers that make a retried write apply once.
//! - [`storage`]: the term, the vote and the log on disk.
//! - [`machine`]: the map the committed log builds, with the table of answered requests.
//! - [`node`]: the async shell: one driver task around the core, peer senders, waiting
//!   clients.
//! - [`server`]: the router: `/kv` as commands through the log, `/internal/raft`.
//! - [`demo`]: the live cluster: these nodes and the client handed to the harness's page.
//! - [`bench`]: time to elect a leader (the Raft paper's Figure 16) and unavailability
//!   after a leader is killed.
//! - `main.rs`: the `chapter5` binary (`serve`, `get`, `put`, `delete`, `status`, `demo`,
//!   `bench`).
//!
//! <!-- carried: written by `cargo xtask exercises` -->
//! Carried, finished, from earlier chapters (in `src/carried/`: edit the original, not the copy):
//! - [`extract`]: chapter 1's request extractors.
//! - [`validate`]: chapter 1's key rules, exercise 1.3.
//! <!-- end carried -->

// The student's files are mounted from exercises/, the reference from solutions/;
// `--features solution` switches. Tests are the same for both.
#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter5/raft.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter5/raft.rs")]
pub mod raft;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter5/client.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter5/client.rs")]
pub mod client;

pub mod api;
pub mod bench;
pub mod demo;
pub mod error;
pub mod headers;
pub mod machine;
pub mod node;
pub mod protocol;
pub mod server;
pub mod storage;

// CARRIED: written by `cargo xtask exercises` (see src/carried/)
#[path = "carried/extract.rs"]
pub mod extract;
#[path = "carried/validate.rs"]
pub mod validate;
// END CARRIED

pub use client::{Client, ClientError, Retry};
pub use error::ApiError;
pub use node::{Config, Node, Peer};
pub use raft::{Raft, Role, Timing};
pub use server::{app, run};
