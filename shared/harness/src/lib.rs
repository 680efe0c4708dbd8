//! The test harness every chapter's tests and benchmarks use.
//!
//! # Layout
//! - [`node`]: start a chapter's node on a free loopback port on its own runtime, stop it
//!   gracefully or crash it, restart it on the same address.
//! - [`cluster`] and [`network`]: `n` nodes on loopback behind one TCP proxy per
//!   directed link, so a test can partition, cut, delay and drop traffic, isolate a
//!   client, and kill and restart nodes, with no fault logic in the nodes.
//! - [`dashboard`]: the live cluster: a chapter's nodes behind the proxies, a recorded
//!   workload checked as it runs, and a web page that shows it all and crashes, cuts and
//!   heals on a click.
//! - [`loopback`]: a loopback address of its own for each cluster, so a crashed node's
//!   port taken by another test's node is never reached by this cluster's clients.
//! - [`cluster_key`]: the cluster's secret that internal routes require (`401`
//!   without it), the middleware that checks it and the peer client that sends it.
//! - [`limits`]: at most N requests at once on a route, `503` JSON past that.
//! - [`json_body`]: a request's body read strictly as a JSON object of a route's type.
//! - [`keep_alive`]: one kept-alive connection through every refusal a client can
//!   provoke; every chapter's node must answer them all on it.
//! - [`eventually`](mod@eventually): poll a condition until a deadline; on failure say what
//!   was awaited and what was last seen. Tests never sleep for a fixed time.
//! - [`runs`]: a simulator test's seeds on every core (`check_seeds`).
//! - [`sim`]: a deterministic simulator for sans-IO protocol code: virtual time, seeded
//!   loss, delay, reordering, duplication, partitions and crashes; a seed replays a run.
//! - [`seeds`]: how many schedules a test runs (fast by default; `SIM_SEEDS` and
//!   `LOOPBACK_SEEDS` soak), and the one seed that replays a failure.
//! - [`process`]: a chapter's real binary as a child process, killed with SIGKILL.
//! - [`panics`]: remember panics raised on node threads and turn an unfinished exercise's
//!   `todo!()` into a message that names the exercise and the file to edit.
//! - [`disk`]: the file abstraction storage code uses: the real disk, and a simulated
//!   one whose crash loses what was not synced and may tear the last write.
//! - [`history`] and [`linearizability`]: record every client call (invoke, return,
//!   outcome) and check the history against the key-value model, key by key; a violation
//!   writes a timeline page under `target/` ([`timeline`]: the page, an SVG of who did
//!   what when).
//! - [`queue`]: a checker for partitioned logs and queues: no acknowledged message
//!   lost, none duplicated, a producer's order kept, reads that agree, committed offsets
//!   that never go back; deliveries counted (lost, repeated) per consumer group.
//! - [`load`]: the load generator behind every benchmark: concurrent clients,
//!   HdrHistogram latencies, a progress bar on a terminal, JSON results.
//! - [`logs`]: with `RUST_LOG` set, every node's `tracing` events in the test's output.
//! - [`machine`]: the machine and date a benchmark ran on, recorded with its results.
//! - [`results`]: each chapter's benchmark results file, written by the chapter and read
//!   by `cargo xtask figures`: one definition of each.
//!
//! **Invariant:** the harness never depends on a chapter. Chapters hand it a closure that
//! runs their server; it hands them a listener, an id and a shutdown signal.

pub mod cluster;
pub mod dashboard;
pub mod disk;
pub mod eventually;
pub mod history;
pub mod keep_alive;
pub mod limits;
pub mod linearizability;
pub mod load;
pub mod logs;
pub mod loopback;
pub mod machine;
pub mod network;
pub mod node;
pub mod panics;
pub mod process;
pub mod queue;
pub mod results;
pub mod runs;
pub mod seeds;
pub mod sim;
pub mod timeline;

// The nodes' own plumbing, re-exported under the names the tests have always used.
pub use plumbing::{cluster_key, json_body};

pub use eventually::eventually;
pub use node::{NodeContext, NodeSetup, Peer, TestNode};
