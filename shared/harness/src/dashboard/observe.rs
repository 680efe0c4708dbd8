//! The observer: every [`PERIOD`], each node's `/status`, each link's traffic, the
//! workload's numbers, turned into one [`Frame`]; and the events a change of frame means
//! (an election won, a leader stepping down).

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{EVENTS_SHOWN, Frame, Shared};
use crate::network::{Endpoint, Link};

/// How often the observer looks.
pub const PERIOD: Duration = Duration::from_millis(100);

/// How long a node may take to answer `/status` before it counts as unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_millis(400);

/// What the dashboard reads of a node's `/status` (fields a chapter lacks default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Probed {
    /// `follower`, `candidate` or `leader`.
    pub role: String,
    /// Its current term.
    pub term: u64,
    /// Whom it voted for in that term.
    pub voted_for: Option<u64>,
    /// The leader it knows.
    pub leader_id: Option<u64>,
    /// Its last log index.
    pub last_index: u64,
    /// Committed up to here.
    pub commit_index: u64,
    /// Applied up to here.
    pub applied_index: u64,
    /// Milliseconds until its election timer fires (`None` on a leader).
    pub election_due_ms: Option<u64>,
    /// The terms of its last log entries, oldest first.
    pub log_tail: Vec<u64>,
    /// The index of the first of them.
    pub log_tail_from: u64,
    /// Its timeouts.
    pub timing: ProbedTiming,
    /// Why its core stopped, if it did.
    pub fault: Option<String>,
    /// How many keys its state machine holds, if it says.
    pub keys: Option<u64>,
}

/// A node's timeouts, as far as the page needs them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProbedTiming {
    /// The longest election timeout (the timer bar's full width).
    pub election_max_ms: u64,
}

/// One node on the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeView {
    /// Its index (and id).
    pub id: usize,
    /// Running, as far as the buttons know (not crashed).
    pub running: bool,
    /// It answered `/status` this time.
    pub reachable: bool,
    /// What it said (the last answer, if it did not answer this time).
    pub status: Probed,
}

/// One pair of nodes on the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkView {
    /// The lower index.
    pub a: usize,
    /// The higher index.
    pub b: usize,
    /// Either direction is cut.
    pub cut: bool,
    /// Requests per second over the last period, both directions together.
    pub per_second: f64,
}

/// Milliseconds since the Unix epoch.
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Observes until the dashboard is dropped.
pub async fn run(shared: Arc<Shared>) {
    let Ok(http) = plumbing::http::client(PROBE_TIMEOUT) else {
        tracing::error!("the dashboard could not build its HTTP client");
        return;
    };
    let n = shared.options.nodes;
    let links: Vec<(usize, usize, [Arc<Link>; 2])> = {
        let cluster = shared.cluster.lock().await;
        let mut links = Vec::new();
        for a in 0..n {
            for b in a + 1..n {
                let there = cluster.link(Endpoint::Node(a), Endpoint::Node(b));
                let back = cluster.link(Endpoint::Node(b), Endpoint::Node(a));
                links.push((a, b, [there, back]));
            }
        }
        links
    };
    let mut last: Vec<Probed> = vec![Probed::default(); n];
    let mut counts: Vec<u64> = vec![0; links.len()];
    let mut previous: Option<Arc<Frame>> = None;
    let mut at = Instant::now();
    let mut tick = tokio::time::interval(PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let probes =
            futures_util::future::join_all(shared.status_urls.iter().map(|url| probe(&http, url)))
                .await;
        let elapsed = at.elapsed().as_secs_f64().max(0.001);
        at = Instant::now();
        let nodes: Vec<NodeView> = probes
            .into_iter()
            .enumerate()
            .map(|(id, probed)| {
                let reachable = probed.is_some();
                if let Some(p) = probed {
                    last[id] = p;
                }
                NodeView {
                    id,
                    running: shared.running[id].load(Ordering::Relaxed),
                    reachable,
                    status: last[id].clone(),
                }
            })
            .collect();
        let links = links
            .iter()
            .zip(counts.iter_mut())
            .map(|((a, b, pair), count)| {
                let total: u64 = pair.iter().map(|l| l.connections()).sum();
                let per_second = total.saturating_sub(*count) as f64 / elapsed;
                *count = total;
                LinkView {
                    a: *a,
                    b: *b,
                    cut: pair.iter().any(|l| l.state().cut),
                    per_second,
                }
            })
            .collect();
        let shards = match &shared.view {
            Some(view) => tokio::time::timeout(PROBE_TIMEOUT, view())
                .await
                .ok()
                .flatten()
                .or_else(|| previous.as_ref().and_then(|p| p.shards.clone())),
            None => None,
        };
        let frame = Arc::new(Frame {
            t_ms: shared.now_ms(),
            wall_ms: wall_ms(),
            title: shared.options.title.clone(),
            leader: leader_of(&nodes),
            nodes,
            links,
            workload: shared.workload.view(),
            events: Vec::new(),
            groups: shared.options.groups.clone(),
            shards,
            actions: shared.actions.iter().map(|a| a.name.clone()).collect(),
        });
        if let Some(previous) = &previous {
            changes(&shared, previous, &frame);
        }
        let frame = Arc::new(Frame {
            events: recent_events(&shared),
            ..(*frame).clone()
        });
        shared
            .recording
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add_frame(&frame);
        shared.frame.send_replace(Arc::clone(&frame));
        previous = Some(frame);
    }
}

async fn probe(http: &reqwest::Client, url: &str) -> Option<Probed> {
    let response = http.get(url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json::<Probed>().await.ok()
}

/// The leader: a running, reachable node that says it leads, in the highest such term.
fn leader_of(nodes: &[NodeView]) -> Option<usize> {
    nodes
        .iter()
        .filter(|n| n.running && n.reachable && n.status.role == "leader")
        .max_by_key(|n| n.status.term)
        .map(|n| n.id)
}

/// Events that the step from `before` to `after` shows.
fn changes(shared: &Shared, before: &Frame, after: &Frame) {
    if let (Some(was), Some(is)) = (&before.shards, &after.shards) {
        if is.pending.as_ref().map(|p| p.0) != was.pending.as_ref().map(|p| p.0)
            && let Some((num, _)) = &is.pending
        {
            shared.event("configuration", format!("configuration {num} is moving"));
        }
        if is.num != was.num {
            shared.event(
                "configuration",
                format!("configuration {} is the latest", is.num),
            );
        }
    }
    for (old, new) in before.nodes.iter().zip(&after.nodes) {
        if !new.running || !new.reachable {
            continue;
        }
        let (was, is) = (&old.status, &new.status);
        if is.role == "leader" && (was.role != "leader" || was.term != is.term) {
            shared.event(
                "election",
                format!("node {} won the election of term {}", new.id, is.term),
            );
        }
        if was.role == "leader" && is.role != "leader" && old.running {
            shared.event(
                "step-down",
                format!(
                    "node {} stepped down: now a {} in term {}",
                    new.id, is.role, is.term
                ),
            );
        }
        if is.fault.is_some() && was.fault.is_none() {
            shared.event(
                "fault",
                format!(
                    "node {}'s core stopped: {}",
                    new.id,
                    is.fault.as_deref().unwrap_or_default()
                ),
            );
        }
    }
}

fn recent_events(shared: &Shared) -> Vec<super::Event> {
    let events = shared.events.lock().unwrap_or_else(PoisonError::into_inner);
    events[events.len().saturating_sub(EVENTS_SHOWN)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: usize, role: &str, term: u64) -> NodeView {
        NodeView {
            id,
            running: true,
            reachable: true,
            status: Probed {
                role: role.into(),
                term,
                ..Probed::default()
            },
        }
    }

    #[test]
    fn the_leader_is_the_one_of_the_highest_term_that_is_up() {
        let mut nodes = vec![
            node(0, "leader", 2),
            node(1, "leader", 3),
            node(2, "follower", 3),
        ];
        assert_eq!(leader_of(&nodes), Some(1));
        nodes[1].reachable = false;
        assert_eq!(leader_of(&nodes), Some(0), "a stale leader still says so");
        nodes[0].running = false;
        assert_eq!(leader_of(&nodes), None);
    }

    #[test]
    fn a_status_with_fields_missing_still_reads() {
        let probed: Probed =
            serde_json::from_str(r#"{"role": "follower", "term": 4, "extra": true}"#)
                .expect("reads");
        assert_eq!((probed.role.as_str(), probed.term), ("follower", 4));
        assert!(probed.log_tail.is_empty());
    }
}
