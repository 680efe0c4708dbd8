//! Chapter 3: replication, one leader and its followers.
//!
//! A group of nodes with one statically configured leader. The leader appends every
//! write to its log and ships the log to each follower over `/internal/` routes; a
//! follower appends durably, acknowledges, and applies what the leader says is
//! committed. When a write is acknowledged depends on the group's [`AckMode`]:
//! `async` (the leader's own disk), `quorum` (a majority) or `all`.
//!
//! # Layout
//! Yours to finish (in `exercises/chapter3/`):
//! - [`replication`]: the protocol's core, no I/O: the follower's append check (3.1),
//!   the leader's per-follower progress and backoff (3.2), the commit index per mode
//!   (3.3), what to send a follower that is behind (3.4).
//! - [`client`]: following `421 not_leader` to the leader (3.5).
//!
//! Given:
//! - [`api`]: the JSON shapes: chapter 2's, log entries, snapshots, `/status`.
//! - [`error`]: API errors, now with `421 not_leader`.
//! - [`storage`]: chapter 2's log and snapshot, grown for replication (terms, superseded
//!   suffixes, snapshots from the leader).
//! - [`node`]: the async shell: the leader's write path and replication tasks, the
//!   follower's handlers, the hand-failover procedure.
//! - [`server`]: the router: the client API and the internal routes.
//! - [`bench`]: write throughput, latency and lag per mode and group size.
//! - `main.rs`: the `chapter3` binary (`serve`, `get`, `put`, `delete`, `status`,
//!   `promote`, `demo`, `bench`).
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
    path = "../../../exercises/chapter3/replication.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/chapter3/replication.rs"
)]
pub mod replication;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter3/client.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter3/client.rs")]
pub mod client;

pub mod api;
pub mod bench;
pub mod error;
pub mod node;
pub mod server;
pub mod storage;

// CARRIED: written by `cargo xtask exercises` (see src/carried/)
#[path = "carried/extract.rs"]
pub mod extract;
#[path = "carried/validate.rs"]
pub mod validate;
// END CARRIED

pub use client::{Client, ClientError};
pub use error::ApiError;
pub use node::{Config, Node, Peer};
pub use replication::AckMode;
pub use server::{app, run};
