//! Chapter 1: one process, one key-value server.
//!
//! A concurrent in-memory key-value store behind an HTTP/JSON API, a typed client and
//! a command-line tool. Every later chapter keeps this API and builds on this code.
//!
//! # Layout
//! Yours to finish (in `exercises/chapter1/`):
//! - [`store`]: the map of versioned values and its rules (exercises 1.1 and 1.2).
//! - [`validate`]: what a key may be (exercise 1.3).
//! - [`error`]: API errors and their status codes (exercise 1.4).
//! - [`client`]: the typed client and its error mapping (exercise 1.5).
//!
//! Given:
//! - [`api`]: the JSON shapes of requests and responses.
//! - [`server`]: the axum router, middleware and graceful shutdown; [`extract`]: the
//!   request extractors (a key, a strict JSON body), which every later chapter carries.
//! - [`bench`]: the benchmark behind the chapter's figure.
//! - `main.rs`: the `chapter1` binary (`serve`, `get`, `put`, `delete`, `bench`, `demo`).

// The student's files are mounted from exercises/, the reference from solutions/;
// `--features solution` switches. Tests are the same for both.
#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter1/store.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter1/store.rs")]
pub mod store;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter1/validate.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter1/validate.rs")]
pub mod validate;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter1/error.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter1/error.rs")]
pub mod error;
pub mod extract;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/chapter1/client.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/chapter1/client.rs")]
pub mod client;

pub mod api;
pub mod bench;
pub mod server;

pub use client::{Client, ClientError};
pub use error::ApiError;
pub use server::{Config, app, run};
pub use store::Store;
