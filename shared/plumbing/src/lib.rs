//! The plumbing every chapter's node stands on and no lesson changes: written once, here,
//! so a fix reaches every chapter.
//!
//! # Layout
//! - [`api`]: the client API's plumbing: reading a key and a JSON body, the fallbacks,
//!   the answer of a panicking handler, the shutdown signal.
//! - [`cli`]: what every chapter's binary shares: `main`, the logs, the cluster key's
//!   flag, saving results, and the key-value command the tools run and print.
//! - [`disk`]: the file abstraction storage code uses, and the real file system; whole
//!   files are replaced with [`disk::write_atomically`].
//! - [`frame`]: the log's frame (chapter 2's lesson, finished) and the scan that reads a
//!   whole log, truncating a torn tail and refusing damage before it.
//! - [`json_body`]: a request body read strictly as a JSON object of a route's type.
//! - [`keep_alive`]: a refused request's unread body is drained, so a client that keeps
//!   its connection alive does not lose it.
//! - [`limits`]: at most N requests of a route at once, `503` past that.
//! - [`cluster_key`]: the cluster's secret on internal routes: the `401` middleware, the
//!   peer client that sends it, the rule that a public address needs one.
//! - [`unfinished`]: an unfinished exercise's panic, recognised.
//! - [`http`]: the HTTP client nodes and tools use.
//!
//! **Invariant:** nothing here is an exercise or changes from one chapter to the next, and
//! nothing here depends on the test harness (the harness depends on this).

pub mod api;
pub mod cli;
pub mod cluster_key;
pub mod disk;
pub mod frame;
pub mod http;
pub mod json_body;
pub mod keep_alive;
pub mod limits;
pub mod unfinished;
