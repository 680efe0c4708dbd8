//! Helpers shared by chapter 5's tests: a hand-driven network for the core, and a
//! loopback group for the real nodes.

#![allow(dead_code)]

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use chapter5::api::{Command, Status};
use chapter5::raft::{Entry, HardState, Message, Raft, Ready, Role, Timing};
use harness::cluster::{Cluster, http_client};

/// How long anything a test waits for may take before the test fails (a generous bound
/// for a loaded 2-core machine; the waits poll and usually end in milliseconds).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A write with a made-up key and value.
pub fn put(n: u64) -> Command {
    Command::Put {
        key: format!("k{n}"),
        value: format!("v{n}"),
        if_version: None,
        request: None,
    }
}

/// An entry of `term` at `index`.
pub fn entry(index: u64, term: u64) -> Entry {
    Entry {
        index,
        term,
        command: put(index),
    }
}

/// A log whose entries 1, 2, ... have the given terms.
pub fn log_with_terms(terms: &[u64]) -> Vec<Entry> {
    terms
        .iter()
        .enumerate()
        .map(|(i, &t)| entry(i as u64 + 1, t))
        .collect()
}

/// A lone core: node `id` of a group `0..n`, with this term, vote and log, at time 0.
pub fn node(id: u64, n: u64, term: u64, voted_for: Option<u64>, log: Vec<Entry>) -> Raft {
    Raft::new(
        id,
        (0..n).collect(),
        Timing::FAST,
        HardState { term, voted_for },
        log,
        0,
        id + 1,
    )
}

/// Ticks a core just past its election deadline.
pub fn time_out(raft: &mut Raft) -> u64 {
    let now = raft.election_deadline();
    raft.tick(now);
    now
}

/// The messages of a `Ready` addressed to `to`.
pub fn to(ready: &Ready, to: u64) -> Vec<Message> {
    ready
        .messages
        .iter()
        .filter(|(dest, _)| *dest == to)
        .map(|(_, m)| m.clone())
        .collect()
}

/// Cores wired by a queue the test controls: deliver everything, or only what a
/// predicate lets through; crash and restart nodes from what they persisted.
#[derive(Debug)]
pub struct Net {
    pub nodes: Vec<Option<Raft>>,
    pub disks: Vec<(HardState, Vec<Entry>)>,
    pub queue: VecDeque<(u64, u64, Message)>,
    pub cut: BTreeSet<(u64, u64)>,
    pub now: u64,
}

impl Net {
    /// `n` fresh nodes.
    pub fn new(n: u64) -> Self {
        Net {
            nodes: (0..n)
                .map(|i| Some(node(i, n, 0, None, Vec::new())))
                .collect(),
            disks: vec![(HardState::default(), Vec::new()); n as usize],
            queue: VecDeque::new(),
            cut: BTreeSet::new(),
            now: 0,
        }
    }

    /// Node `id` (panics if it is down).
    pub fn node(&mut self, id: u64) -> &mut Raft {
        self.nodes[id as usize]
            .as_mut()
            .unwrap_or_else(|| panic!("node {id} is down"))
    }

    /// Takes node `id`'s ready: "persists" it and queues its messages.
    pub fn collect(&mut self, id: u64) {
        let Some(raft) = self.nodes[id as usize].as_mut() else {
            return;
        };
        let ready = raft.take_ready();
        self.disks[id as usize] = (raft.hard_state(), raft.log().to_vec());
        for (dest, message) in ready.messages {
            self.queue.push_back((id, dest, message));
        }
    }

    /// Delivers queued messages that `pass` lets through (and the messages they cause)
    /// until none is left; the others stay queued.
    pub fn deliver(&mut self, pass: impl Fn(u64, u64, &Message) -> bool) {
        for _ in 0..100_000 {
            let Some(position) = self
                .queue
                .iter()
                .position(|(from, to, m)| pass(*from, *to, m))
            else {
                return;
            };
            let Some((from, dest, message)) = self.queue.remove(position) else {
                return;
            };
            if self.cut.contains(&(from, dest)) || self.nodes[dest as usize].is_none() {
                continue;
            }
            self.now += 1;
            let now = self.now;
            self.node(dest).step(now, from, message);
            self.collect(dest);
        }
        panic!("the messages never stopped: a loop between the nodes?");
    }

    /// Delivers everything.
    pub fn deliver_all(&mut self) {
        self.deliver(|_, _, _| true);
    }

    /// Forgets every queued message.
    pub fn drop_queued(&mut self) {
        self.queue.clear();
    }

    /// Makes node `id`'s election timer fire (and nobody else's).
    pub fn time_out(&mut self, id: u64) {
        let deadline = self.node(id).election_deadline();
        self.now = self.now.max(deadline);
        let now = self.now;
        self.node(id).tick(now);
        self.collect(id);
    }

    /// Times node `id` out until it leads (delivering everything each time).
    pub fn elect(&mut self, id: u64) {
        for _ in 0..10 {
            self.time_out(id);
            self.deliver_all();
            if self.node(id).role() == Role::Leader {
                return;
            }
        }
        panic!("node {id} could not get elected");
    }

    /// Crashes node `id`: what it persisted stays.
    pub fn crash(&mut self, id: u64) {
        self.nodes[id as usize] = None;
    }

    /// Restarts node `id` from what it persisted.
    pub fn restart(&mut self, id: u64) {
        let (hard, log) = self.disks[id as usize].clone();
        let n = self.nodes.len() as u64;
        let raft = Raft::new(
            id,
            (0..n).collect(),
            Timing::FAST,
            hard,
            log,
            self.now,
            id + 100,
        );
        self.nodes[id as usize] = Some(raft);
    }

    /// Cuts both directions between `a` and each of `others`.
    pub fn isolate(&mut self, a: u64, others: &[u64]) {
        for &b in others {
            self.cut.insert((a, b));
            self.cut.insert((b, a));
        }
    }

    /// Heals every link.
    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// The terms of node `id`'s log.
    pub fn terms(&mut self, id: u64) -> Vec<u64> {
        self.node(id).log().iter().map(|e| e.term).collect()
    }
}

/// A group of `n` nodes on loopback behind fault-injecting proxies.
pub fn group(n: usize, seed: u64) -> Cluster {
    Cluster::start(n, seed, move |ctx| {
        chapter5::demo::node_in_cluster(ctx, Timing::default(), seed)
    })
    .expect("starting a loopback cluster should always work")
}

/// Polls node `i`'s `/status` until `ok` holds; on timeout the failure shows what it
/// last reported.
pub async fn wait_status(
    cluster: &Cluster,
    i: usize,
    what: &str,
    ok: impl Fn(&Status) -> bool,
) -> Status {
    let url = cluster.direct_url(i);
    harness::eventually(PATIENCE, what, || {
        let url = url.clone();
        let ok = &ok;
        async move {
            match status(&url).await {
                Ok(s) if ok(&s) => Ok(s),
                Ok(s) => Err(format!(
                    "node {i}: {} of term {}, last index {}, commit {}, applied {}",
                    s.role, s.term, s.last_index, s.commit_index, s.applied_index
                )),
                Err(e) => Err(format!("{e:#}")),
            }
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh HTTP client (no pooled connection can outlive a killed node).
pub fn http() -> reqwest::Client {
    http_client(Duration::from_secs(5)).expect("building an HTTP client")
}

/// A node's `/status`.
pub async fn status(base: &str) -> anyhow::Result<Status> {
    let response = http().get(format!("{base}/status")).send().await?;
    anyhow::ensure!(
        response.status() == 200,
        "GET /status answered {}",
        response.status()
    );
    Ok(response.json().await?)
}

/// Every node's address as clients reach it.
pub fn urls(cluster: &Cluster) -> Vec<String> {
    (0..cluster.len()).map(|i| cluster.direct_url(i)).collect()
}

/// Waits until one node of `among` leads with every other node of `among` following it
/// in its term, and it has committed its term's first entry; returns its index and term.
/// A node whose core stopped (an unfinished exercise) fails the wait with its message.
pub async fn settled_leader(cluster: &Cluster, among: &[usize]) -> (usize, u64) {
    leader_of(cluster, among, true).await
}

/// The leader every node in `among` follows in the same term (its log may still hold
/// uncommitted entries: for a group under constant writes).
pub async fn agreed_leader(cluster: &Cluster, among: &[usize]) -> (usize, u64) {
    leader_of(cluster, among, false).await
}

async fn leader_of(cluster: &Cluster, among: &[usize], all_committed: bool) -> (usize, u64) {
    let urls: Vec<String> = among.iter().map(|&i| cluster.direct_url(i)).collect();
    let what = match all_committed {
        true => "one settled leader",
        false => "one leader all nodes follow",
    };
    harness::eventually(PATIENCE, what, || {
        let urls = urls.clone();
        async move {
            let mut all = Vec::new();
            for url in &urls {
                let s = status(url).await.map_err(|e| format!("{url}: {e:#}"))?;
                if let Some(fault) = &s.fault {
                    panic!("node {} stopped: {fault}", s.id);
                }
                all.push(s);
            }
            let summary: Vec<String> = all
                .iter()
                .map(|s| format!("{}:{}@{}", s.id, s.role, s.term))
                .collect();
            let leader = all
                .iter()
                .find(|s| s.role == "leader")
                .ok_or_else(|| format!("no leader: {summary:?}"))?;
            if (all_committed && leader.commit_index < leader.last_index)
                || !all
                    .iter()
                    .all(|s| s.term == leader.term && s.leader_id == Some(leader.id))
            {
                return Err(format!("not settled: {summary:?}"));
            }
            Ok((leader.id as usize, leader.term))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}
