//! Chapter 9, messaging: a replicated, partitioned log with consumer groups.
//!
//! Producers append records to the partitions of topics; each partition is an
//! append-only log, replicated by a group of replicas (chapter 6's), several partitions
//! to a group. A producer that numbers its batches has each one appended once however
//! often it retries. Consumers read partitions from an offset; a consumer group deals
//! its topic's partitions out among its members, deals them again when one joins,
//! leaves or stops heartbeating, and fences the old assignment by its generation; the
//! offsets it commits are kept in its coordinator's log, so a member that takes a
//! partition over resumes where the group left off. At most once, at least once and
//! exactly once (a pipeline that writes its output and its position in one append)
//! follow from when a consumer commits. Retention and compaction bound the log.
//!
//! # Layout
//! Yours to finish (in `exercises/chapter9/`):
//! - [`partitioning`]: a key's partition, a partition's group (9.1).
//! - [`append`]: appending a producer's batch once: the duplicate and gap rules (9.2).
//! - [`membership`]: joining, leaving and timing out of a consumer group; the
//!   assignment (9.3).
//! - [`offsets`]: committing offsets fenced by generation; where a member resumes (9.4).
//! - [`pipeline`]: an exactly-once pipeline's output batch, which carries its input
//!   position (9.5).
//! - [`compaction`]: retention by size and age, compaction by key (9.6).
//!
//! Given:
//! - [`log`]: a partition's records, offsets, producers and reads; [`group`]: a consumer
//!   group's members, generation, assignment and committed offsets.
//! - [`broker`]: what one group of replicas holds (its partitions, the consumer groups
//!   it coordinates) and the cluster's shape; [`command`]: what its log holds;
//!   [`machine`]: what a replica applies entries to, and its snapshot. The log is chapter
//!   6's Raft core, carried (below).
//! - [`server`]: one replica's routes; [`client`]: a command sent to its group's
//!   leader over HTTP, answered as the log applied it; [`clients`]: producers and
//!   consumer group members as machines, run by the tests' simulator, the loopback test
//!   and the binary alike; [`system`]: a cluster's groups on loopback; [`gossip`]:
//!   Gossip Glomers' Kafka-style API (send, poll, commit and list offsets) served by
//!   the cluster; [`bench`]: throughput, a message's time to a consumer, a rebalance's
//!   pause, exactly once against at least once; [`demo`]: the log on the live page,
//!   with buttons to crash a group's leader or a consumer.
//!
//! <!-- carried: written by `cargo xtask exercises` -->
//! Carried, finished, from earlier chapters (in `src/carried/`: edit the original, not the copy):
//! - [`api`]: chapter 6's JSON shapes.
//! - [`call`]: chapter 7's calls to a replicated log's leader.
//! - [`error`]: chapter 5's API errors.
//! - [`extract`]: chapter 1's request extractors.
//! - [`node`]: chapter 6's node shell.
//! - [`protocol`]: chapter 6's protocol.
//! - [`raft`]: chapter 6's Raft core, exercises 6.1 and 6.4 and chapter 5's rules.
//! - [`storage`]: chapter 6's storage.
//! - [`validate`]: chapter 1's key rules, exercise 1.3.
//! <!-- end carried -->

pub mod bench;
pub mod broker;
pub mod client;
pub mod clients;
pub mod command;
pub mod demo;
pub mod gossip;
pub mod group;
pub mod log;
pub mod machine;
pub mod server;
pub mod system;

// CARRIED: written by `cargo xtask exercises` (see src/carried/)
#[path = "carried/api.rs"]
pub mod api;
#[path = "carried/call.rs"]
pub mod call;
#[path = "carried/error.rs"]
pub mod error;
#[path = "carried/extract.rs"]
pub mod extract;
#[path = "carried/node.rs"]
pub mod node;
#[path = "carried/protocol.rs"]
pub mod protocol;
#[path = "carried/raft.rs"]
pub mod raft;
#[path = "carried/storage.rs"]
pub mod storage;
#[path = "carried/validate.rs"]
pub mod validate;
// END CARRIED

// The student's files are mounted from exercises/, the reference from solutions/;
// `--features solution` switches. Tests are the same for both.
#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter9/partitioning.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/chapter9/partitioning.rs"
)]
pub mod partitioning;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter9/append.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter9/append.rs")]
pub mod append;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter9/membership.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/chapter9/membership.rs"
)]
pub mod membership;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter9/offsets.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter9/offsets.rs")]
pub mod offsets;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter9/pipeline.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter9/pipeline.rs")]
pub mod pipeline;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter9/compaction.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/chapter9/compaction.rs"
)]
pub mod compaction;

pub use broker::{Broker, BrokerError, Spec, Topic, coordinator_of};
pub use group::{ConsumerGroup, Generation, GroupError, MemberId, Membership};
pub use log::{
    Appended, Batch, Millis, Offset, Partition, PartitionId, ProducerId, Read, Record, Retention,
    Sequence,
};
pub use membership::assign;
pub use offsets::{offset_after, resume_at};
pub use partitioning::{group_of, partition_for};
pub use pipeline::{output_batch, pipeline_producer};
