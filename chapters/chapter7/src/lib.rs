//! Chapter 7, the capstone: shards on self-healing groups.
//!
//! Many replica groups, each a chapter-6 group, each owning some of a fixed number of
//! shards; a configuration service that says, in numbered configurations, which group
//! owns which shard; and shards that move between groups when groups join or leave,
//! while clients keep reading and writing, without losing or duplicating anything.
//!
//! This crate holds the chapter's sans-IO cores, driven in its tests by the deterministic
//! simulator, where each group and the service is a log of three replicas running chapter
//! 6's Raft core with snapshots.
//!
//! # Layout
//! Yours to finish (in `exercises/chapter7/`):
//! - [`placement`]: a key's shard (7.1) and the rebalancing rule (7.2).
//! - [`group`]: a group's sharded machine: serving only the shards it owns (7.3), and
//!   the freeze, install and delete steps, fenced by configuration number (7.4).
//! - [`mover`]: the controller's state machine that carries out a configuration
//!   change, resumable by anyone (7.5).
//! - [`router`]: the client's routing, refresh and retry (7.6).
//!
//! The systems track, optional (finished until `cargo xtask track chapter7 systems`):
//! - [`request`]: a replica's request path, from a route to the log and back (7.7).
//! - [`controller`]: the controller over HTTP: its loop (7.8), and a big shard sent in
//!   pieces (7.9, with [`staging`]: pieces kept by the new owner for the install).
//!
//! Given:
//! - [`config`]: configurations and the moves between two of them.
//! - [`shard`]: one shard's data: its keys, versions and table of answered requests.
//! - [`service`]: the configuration service's machine: queries, proposals fenced by
//!   configuration number (two controllers cannot both win), and finishing a change.
//! - [`command`]: what a replicated log holds (a group's or the service's operations);
//!   [`machine`]: what a replica applies them to, and its snapshot. Each group and the
//!   service is a log of replicas running chapter 6's core and node (carried, below).
//! - [`server`]: one replica's routes: keys at a group, configurations at the service,
//!   the controller's steps; [`responses`]: what they answer beyond chapter 6's
//!   (`wrong_group`, `wrong_kind`, a configuration); [`confirm`]: a group checks a
//!   step's configuration with the service before it acts.
//! - [`call`]: calling a replicated log over HTTP until its leader answers;
//!   [`client`]: exercise 7.6's router over HTTP, the store's client.
//! - [`stack`]: whose chapter 6 core this build runs: the carried reference, or yours
//!   with `--features own` (your own stack), and how a broken rule of Raft is worded.
//! - [`system`]: the service and the groups as one loopback cluster (the demo, the
//!   benchmark and the tests start it); [`demo`]: the live page; [`bench`]: a moving
//!   shard's unavailability, throughput against groups.
//! - `main.rs`: the `chapter7` binary (`serve`, `join`, `leave`, `move`, `finish`, `config`,
//!   `get`, `put`, `delete`, `demo`, `bench`).
//!
//! <!-- carried: written by `cargo xtask exercises` -->
//! Carried, finished, from earlier chapters (in `src/carried/`: edit the original, not the copy):
//! - [`api`]: chapter 6's JSON shapes.
//! - [`error`]: chapter 5's API errors.
//! - [`extract`]: chapter 1's request extractors.
//! - [`headers`]: chapter 5's exactly-once headers.
//! - [`node`]: chapter 6's node shell.
//! - [`protocol`]: chapter 6's protocol.
//! - [`raft`]: chapter 6's Raft core, exercises 6.1 and 6.4 and chapter 5's rules; with `--features own`, yours: `exercises/chapter6/raft.rs` (your own stack).
//! - [`storage`]: chapter 6's storage.
//! - [`validate`]: chapter 1's key rules, exercise 1.3.
//! <!-- end carried -->
//!

// The student's files are mounted from exercises/, the reference from solutions/;
// `--features solution` switches. Tests are the same for both.
#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter7/placement.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/chapter7/placement.rs"
)]
pub mod placement;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter7/group.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter7/group.rs")]
pub mod group;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter7/mover.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter7/mover.rs")]
pub mod mover;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter7/router.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter7/router.rs")]
pub mod router;

// The systems track (exercises 7.7 to 7.9, optional): finished in exercises/ until
// `cargo xtask track chapter7 systems` hands them to you.
#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter7/request.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter7/request.rs")]
pub mod request;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter7/controller.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/chapter7/controller.rs"
)]
pub mod controller;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter7/staging.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter7/staging.rs")]
pub mod staging;

pub mod bench;
pub mod call;
pub mod client;
pub mod command;
pub mod config;
pub mod confirm;
pub mod demo;
pub mod machine;
pub mod responses;
pub mod server;
pub mod service;
pub mod shard;
pub mod stack;
pub mod system;

// CARRIED: written by `cargo xtask exercises` (see src/carried/)
#[path = "carried/api.rs"]
pub mod api;
#[path = "carried/error.rs"]
pub mod error;
#[path = "carried/extract.rs"]
pub mod extract;
#[path = "carried/headers.rs"]
pub mod headers;
#[path = "carried/node.rs"]
pub mod node;
#[path = "carried/protocol.rs"]
pub mod protocol;
#[cfg_attr(not(feature = "own"), path = "carried/raft.rs")]
#[cfg_attr(feature = "own", path = "../../../exercises/chapter6/raft.rs")]
pub mod raft;
#[path = "carried/storage.rs"]
pub mod storage;
#[path = "carried/validate.rs"]
pub mod validate;
// END CARRIED

pub use config::{Configuration, GroupId, Move, NO_GROUP, ShardId};
pub use group::{Group, GroupOp, GroupReply, ShardState};
pub use mover::{Action, Mover, Step};
pub use router::{Client, Next};
pub use service::{Change, Service, ServiceOp, ServiceReply};
pub use shard::{Answer, KvCommand, RequestId, ShardData};
