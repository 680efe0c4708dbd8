//! Chapter 2: durability, a write-ahead log that survives crashes.
//!
//! Chapter 1's server, with every write appended to a log and synced before it is
//! acknowledged; on start, the node recovers its map from a snapshot and the log.
//! `version` is now the write's position in the log.
//!
//! # Layout
//! Yours to finish (in `exercises/chapter2/`):
//! - [`record`]: a log record and its frame on disk (exercise 2.1).
//! - [`wal`]: replay and torn tails (2.2), group commit (2.3), compaction (2.5).
//! - [`store`]: the durable write path: nothing acknowledged before it is durable (2.4).
//!
//! Given (chapter 1's finished code, extended):
//! - [`api`]: the JSON shapes; `/status` now reports durability and log statistics.
//! - [`error`]: API errors, now with `503 unavailable` when the disk fails.
//! - [`server`]: the router, with the store's calls now `async`, and the node's settings.
//! - [`bench`]: fsync per write against group commit, and recovery time.
//! - `main.rs`: the `chapter2` binary (`serve --data-dir --fsync`, `get`, `put`, `delete`,
//!   `demo`, `bench`).
//!
//! <!-- carried: written by `cargo xtask exercises` -->
//! Carried, finished, from earlier chapters (in `src/carried/`: edit the original, not the copy):
//! - [`client`]: chapter 1's client, exercise 1.5.
//! - [`extract`]: chapter 1's request extractors.
//! - [`validate`]: chapter 1's key rules, exercise 1.3.
//! <!-- end carried -->

// The student's files are mounted from exercises/, the reference from solutions/;
// `--features solution` switches. Tests are the same for both.
#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter2/record.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter2/record.rs")]
pub mod record;

#[cfg_attr(not(feature = "solution"), path = "../../../exercises/chapter2/wal.rs")]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter2/wal.rs")]
pub mod wal;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter2/store.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter2/store.rs")]
pub mod store;

pub mod api;
pub mod bench;
pub mod error;
pub mod server;

// CARRIED: written by `cargo xtask exercises` (see src/carried/)
#[path = "carried/client.rs"]
pub mod client;
#[path = "carried/extract.rs"]
pub mod extract;
#[path = "carried/validate.rs"]
pub mod validate;
// END CARRIED

pub use client::{Client, ClientError};
pub use error::ApiError;
pub use server::{Config, app, run};
pub use store::Store;
