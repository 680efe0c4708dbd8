//! Chapter 4: partitioning, many owners for one key space.
//!
//! N nodes, each owning part of the key space; each key has exactly one owner (and one
//! copy: replication is chapter 3's lesson, and chapter 6 puts the two together). Any
//! node accepts any request and forwards it to the key's owner; nodes join and leave a
//! running cluster, and the keys that change owner move while clients keep writing.
//! Each node stores its keys as chapter 2 taught: a write-ahead log, synced before any
//! acknowledgement.
//!
//! # Layout
//! Yours to finish (in `exercises/chapter4/`):
//! - [`ring`]: mod-N placement (exercise 4.1), the consistent-hash ring and its lookup
//!   (4.2), the arcs that move when the ring changes (4.4).
//! - [`membership`]: the sans-IO core: where a request goes (4.3), installing a change (4.5).
//! - [`transfer`]: handing keys over and pulling them in (4.6).
//!
//! Given:
//! - [`node`]: the shell around the core: the ownership check and the store under one
//!   lock, forwarding, membership changes.
//! - [`pulls`]: runs the pulls a node owes until they are done.
//! - [`holds`]: points in a key move where a test can hold a node (exercise 4.6's tests).
//! - [`server`]: the routes; [`api`]: the JSON shapes; [`error`]: API errors.
//! - [`store`], [`record`]: chapter 2's durable store and its records, with keys that
//!   keep their version when they move.
//! - [`cluster_client`]: a client that routes by the cluster's map.
//! - [`bench`]: balance against virtual nodes, keys moved per join, routing throughput.
//! - `main.rs`: the `chapter4` binary (`serve`, `join`, `leave`, `cluster`, `get`, `put`,
//!   `delete`, `demo`, `bench`).
//!
//! <!-- carried: written by `cargo xtask exercises` -->
//! Carried, finished, from earlier chapters (in `src/carried/`: edit the original, not the copy):
//! - [`client`]: chapter 1's client, exercise 1.5.
//! - [`extract`]: chapter 1's request extractors.
//! - [`validate`]: chapter 1's key rules, exercise 1.3.
//! - [`wal`]: chapter 2's log, exercises 2.2, 2.3 and 2.5.
//! <!-- end carried -->

// The student's files are mounted from exercises/, the reference from solutions/;
// `--features solution` switches. Tests are the same for both.
#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter4/ring.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter4/ring.rs")]
pub mod ring;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter4/membership.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/chapter4/membership.rs"
)]
pub mod membership;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter4/transfer.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter4/transfer.rs")]
pub mod transfer;

pub mod api;
pub mod bench;
pub mod cluster_client;
pub mod error;
pub mod holds;
pub mod node;
pub mod pulls;
pub mod record;
pub mod server;
pub mod store;

// CARRIED: written by `cargo xtask exercises` (see src/carried/)
#[path = "carried/client.rs"]
pub mod client;
#[path = "carried/extract.rs"]
pub mod extract;
#[path = "carried/validate.rs"]
pub mod validate;
#[path = "carried/wal.rs"]
pub mod wal;
// END CARRIED

pub use client::{Client, ClientError};
pub use cluster_client::ClusterClient;
pub use error::ApiError;
pub use node::{Config, Node};
pub use ring::{Member, NodeId, Placement, Ring};
pub use server::{app, run};
