//! Carried from `chapters/chapter7/src/call.rs` by `cargo xtask exercises`:
//! chapter 7's calls to a replicated log's leader. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs nothing of this chapter's own.
//!
//! Calling a replicated log over HTTP: try its servers until its leader answers.
//!
//! A group and the configuration service are each a chapter-6 group of replicas: only the
//! leader runs a command, a follower answers `421 not_leader` (naming the leader when it
//! knows one), and a replica that lost its leadership or its majority mid-command answers
//! `503` or `504`, when the command's fate is unknown. Every call this chapter's client
//! and controller make is safe to send again (a write carries its request id, a shard
//! step is fenced by configuration number), so [`to_leader`] simply tries the next
//! server on any of those, and on a connection that fails.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::de::DeserializeOwned;

use crate::api::ErrorBody;

/// What a log's servers answered: the leader's answer or its error, or nothing.
#[derive(Debug)]
pub enum Answered<T> {
    /// `2xx`, with its body.
    Ok(T),
    /// An error a retry elsewhere would not change (`wrong_group`, `not_found`,
    /// `version_mismatch`, ...): its status and body.
    Error(u16, ErrorBody),
    /// No server answered with anything but "not me" or "not now".
    NoLeader(String),
}

/// Sends `request(url)` to the servers in turn, starting at the one that answered last
/// time (`hint`), until one answers as the leader (see the module's text). One pass
/// over the servers; the caller decides whether to wait and try again.
pub async fn to_leader<T, F>(servers: &[String], hint: &AtomicUsize, request: F) -> Answered<T>
where
    T: DeserializeOwned,
    F: Fn(&str) -> reqwest::RequestBuilder,
{
    if servers.is_empty() {
        return Answered::NoLeader("no servers to ask".into());
    }
    let start = hint.load(Ordering::Relaxed);
    let mut last = String::new();
    for i in 0..servers.len() {
        let at = (start + i) % servers.len();
        let url = servers[at].trim_end_matches('/');
        let response = match request(url).send().await {
            Ok(response) => response,
            Err(e) => {
                last = format!("{url}: {e}");
                continue;
            }
        };
        let status = response.status().as_u16();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => {
                last = format!("{url}: {e}");
                continue;
            }
        };
        if (200..300).contains(&status) {
            return match serde_json::from_slice(&bytes) {
                Ok(body) => {
                    hint.store(at, Ordering::Relaxed);
                    Answered::Ok(body)
                }
                Err(e) => Answered::NoLeader(format!("{url} answered {status} with {e}")),
            };
        }
        let body: ErrorBody = match serde_json::from_slice(&bytes) {
            Ok(body) => body,
            Err(_) => {
                last = format!("{url} answered {status}");
                continue;
            }
        };
        match body.error.as_str() {
            "not_leader" | "unavailable" | "timeout" => {
                last = format!("{url}: {}", body.message);
            }
            _ => {
                hint.store(at, Ordering::Relaxed);
                return Answered::Error(status, body);
            }
        }
    }
    Answered::NoLeader(last)
}
