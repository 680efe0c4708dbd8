//! Helpers shared by chapter 6's tests: a hand-driven network for the core, and a
//! loopback group for the real nodes.

#![allow(dead_code)]

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use chapter6::api::{Command, Status};
use chapter6::raft::{
    Compaction, Entry, HardState, Message, Persisted, Raft, Ready, Role, Snapshot, Timing,
};
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

/// Settings that snapshot every `every` entries and send pieces of `chunk_bytes`.
pub fn compaction(every: u64, chunk_bytes: usize) -> Compaction {
    Compaction { every, chunk_bytes }
}

/// A snapshot up to `index`, of `term`, whose data is `data`.
pub fn snapshot(index: u64, term: u64, data: &str) -> Snapshot {
    Snapshot {
        index,
        term,
        data: data.into(),
    }
}

/// Entries `first, first + 1, ...` with the given terms.
pub fn entries_from(first: u64, terms: &[u64]) -> Vec<Entry> {
    terms
        .iter()
        .enumerate()
        .map(|(i, &t)| entry(first + i as u64, t))
        .collect()
}

/// A lone core: node `id` of a group `0..n`, with this term, vote, snapshot and log (the
/// entries after the snapshot), at time 0, never snapshotting by itself.
pub fn restarted(
    id: u64,
    n: u64,
    term: u64,
    snapshot: Option<Snapshot>,
    log: Vec<Entry>,
    compaction: Compaction,
) -> Raft {
    let persisted = Persisted {
        hard_state: HardState {
            term,
            voted_for: None,
        },
        snapshot,
        log,
    };
    Raft::new(
        id,
        (0..n).collect(),
        (Timing::FAST, compaction),
        persisted,
        0,
        id + 1,
    )
}

/// A lone core with no snapshot: node `id` of a group `0..n`, with this term, vote and
/// log, at time 0.
pub fn node(id: u64, n: u64, term: u64, voted_for: Option<u64>, log: Vec<Entry>) -> Raft {
    let persisted = Persisted {
        hard_state: HardState { term, voted_for },
        snapshot: None,
        log,
    };
    Raft::new(
        id,
        (0..n).collect(),
        (Timing::FAST, Compaction::NEVER),
        persisted,
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
/// predicate lets through; crash and restart nodes from what they persisted. Each node
/// takes the snapshots its core asks for; its "state machine" is the list of indexes
/// applied, so a snapshot's data says how far it got.
#[derive(Debug)]
pub struct Net {
    pub nodes: Vec<Option<Raft>>,
    pub disks: Vec<Persisted>,
    /// Per node: the state machine's applied index.
    pub applied: Vec<u64>,
    pub queue: VecDeque<(u64, u64, Message)>,
    pub cut: BTreeSet<(u64, u64)>,
    pub now: u64,
    pub compaction: Compaction,
    /// Every message delivered, as `(from, to, message)`.
    pub delivered: Vec<(u64, u64, Message)>,
}

impl Net {
    /// `n` fresh nodes that never snapshot.
    pub fn new(n: u64) -> Self {
        Net::with_compaction(n, Compaction::NEVER)
    }

    /// `n` fresh nodes that snapshot as `compaction` says.
    pub fn with_compaction(n: u64, compaction: Compaction) -> Self {
        let mut net = Net {
            nodes: (0..n).map(|_| None).collect(),
            disks: vec![Persisted::default(); n as usize],
            applied: vec![0; n as usize],
            queue: VecDeque::new(),
            cut: BTreeSet::new(),
            now: 0,
            compaction,
            delivered: Vec::new(),
        };
        for id in 0..n {
            net.restart(id);
        }
        net
    }

    /// Node `id` (panics if it is down).
    pub fn node(&mut self, id: u64) -> &mut Raft {
        self.nodes[id as usize]
            .as_mut()
            .unwrap_or_else(|| panic!("node {id} is down"))
    }

    /// Takes node `id`'s ready: "persists" it, queues its messages, "applies" it, and
    /// takes a snapshot if one is due.
    pub fn collect(&mut self, id: u64) {
        let i = id as usize;
        let Some(raft) = self.nodes[i].as_mut() else {
            return;
        };
        let mut ready = raft.take_ready();
        loop {
            let snapshot = raft.snapshot();
            self.disks[i] = Persisted {
                hard_state: raft.hard_state(),
                snapshot: (snapshot.index > 0).then(|| snapshot.clone()),
                log: raft.log().to_vec(),
            };
            for (dest, message) in ready.messages.drain(..) {
                self.queue.push_back((id, dest, message));
            }
            if let Some(s) = &ready.snapshot
                && s.index > self.applied[i]
            {
                self.applied[i] = s.index; // restored from the leader's snapshot
            }
            for entry in &ready.committed {
                assert_eq!(
                    entry.index,
                    self.applied[i] + 1,
                    "node {id} applies in order"
                );
                self.applied[i] = entry.index;
            }
            match ready.snapshot_due {
                Some(index) if index == self.applied[i] => {
                    raft.compact(index, format!("applied up to {index}"));
                    ready = raft.take_ready();
                }
                _ => return,
            }
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
            self.delivered.push((from, dest, message.clone()));
            self.node(dest).step(now, from, message);
            self.collect(dest);
        }
        panic!(
            "the messages never stopped after 100000 deliveries: the nodes answer each other \
             forever (a snapshot or an append sent again and again?)"
        );
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

    /// Restarts node `id` from what it persisted (its state machine from its snapshot).
    pub fn restart(&mut self, id: u64) {
        let persisted = self.disks[id as usize].clone();
        self.applied[id as usize] = persisted.snapshot.as_ref().map_or(0, |s| s.index);
        let n = self.nodes.len() as u64;
        let raft = Raft::new(
            id,
            (0..n).collect(),
            (Timing::FAST, self.compaction),
            persisted,
            self.now,
            id + 100,
        );
        self.nodes[id as usize] = Some(raft);
    }

    /// Has the leader `id` propose `n` writes, delivering everything after each.
    pub fn write(&mut self, id: u64, n: u64) {
        for k in 0..n {
            self.node(id)
                .propose(put(k))
                .unwrap_or_else(|e| panic!("node {id} is not the leader: {e:?}"));
            self.collect(id);
            self.deliver_all();
        }
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

/// A group of `n` nodes on loopback behind fault-injecting proxies, snapshotting as
/// `compaction` says.
pub fn group(n: usize, seed: u64, compaction: Compaction) -> Cluster {
    Cluster::start(n, seed, move |ctx| {
        chapter6::demo::node_in_cluster(ctx, Timing::default(), compaction, seed)
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
                    "node {i}: {} of term {}, snapshot {}, last index {}, commit {}, applied {}",
                    s.role, s.term, s.snapshot_index, s.last_index, s.commit_index, s.applied_index
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
