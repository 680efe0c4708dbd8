//! The whole system on loopback: two groups of three real replicas (chapter 6's node,
//! in this process behind the harness's proxies), and the simulator's own clients (two
//! producers, three consumer groups of two members) talking HTTP to them. Each schedule
//! crashes one group's leader and consumer members at seeded times, and cuts the other
//! group's leader off from its followers for a while; the queue checker judges the
//! history as it judges the simulator's. These need every exercise.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chapter9::client::ClusterClient;
use chapter9::raft::Timing;
use chapter9::system;
use harness::cluster::Cluster;
use harness::queue::QueueHistory;

use crate::sim::{Ran, spec};
use crate::simulation::check;
use chapter9::clients::{Client, INPUT, Member, OUTPUT, PARTITIONS, Producer, Seen, Semantics};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_real_replicas_lose_and_repeat_nothing_through_crashed_leaders_and_members() {
    // `LOOPBACK_SEEDS=100` soaks; `LOOPBACK_SEED=n` replays one (same faults, real timing).
    let seeds = harness::seeds::loopback(0..20);
    for batch in seeds.chunks(5) {
        let results =
            futures_util::future::join_all(batch.iter().map(|&seed| schedule(seed))).await;
        for result in results {
            result.unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// One schedule: the faults `seed` draws, the history checked.
async fn schedule(seed: u64) -> Result<(), String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    // Real replicas on two shared cores answer in milliseconds, not microseconds: a
    // longer session than the simulator's keeps members from timing out while they work.
    let spec = chapter9::Spec {
        session_timeout: 1_000,
        ..spec()
    };
    let mut groups =
        system::start(&spec, Timing::FAST, seed).map_err(|e| format!("seed {seed}: {e}"))?;
    let http = harness::cluster::http_client(Duration::from_secs(2)).map_err(|e| e.to_string())?;
    let client = Arc::new(ClusterClient::new(http, system::servers(&groups)));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let started = Instant::now();
    let mut clients = Vec::new();
    let mut crashes = Vec::new();
    for semantics in [
        Semantics::AtMostOnce,
        Semantics::AtLeastOnce,
        Semantics::ExactlyOnce,
    ] {
        for m in 0..2 {
            let name = format!("{}-{m}", semantics.group());
            let mut member = Member::new(semantics, &name);
            // Every read is an entry of a replicated, fsynced log: a member that found
            // nothing new waits longer than the simulator's.
            member.idle = 300;
            member.heartbeat = 300;
            clients.push(Client::Member(member));
            // A member crashes once in two, some time in the first second.
            crashes.push(rng.bool().then(|| rng.u64(100..1_000)));
        }
    }
    for p in 0..2 {
        let messages = (0..6)
            .map(|i| (format!("k{}", rng.u32(0..12)), format!("p{p}-{i}")))
            .collect();
        clients.push(Client::Producer(Producer::new(
            &format!("producer-{p}"),
            messages,
        )));
        crashes.push(None);
    }
    let tasks: Vec<_> = clients
        .into_iter()
        .zip(crashes)
        .map(|(c, crash)| tokio::spawn(drive(c, crash, client.clone(), seen.clone(), started)))
        .collect();
    // A group's leader crashes at a seeded moment, and comes back.
    let group = rng.usize(0..groups.len());
    let at = Duration::from_millis(rng.u64(100..800));
    tokio::time::sleep(at).await;
    if let Some(leader) = leader(&groups[group]).await {
        groups[group].kill(leader);
        groups[group]
            .restart(leader)
            .await
            .map_err(|e| format!("seed {seed}: restarting a replica: {e}"))?;
    }
    // The other group's leader is cut off from its followers for a while, alive: they
    // elect another; it steps down when it hears of the new term.
    let other = 1 - group;
    if let Some(leader) = leader(&groups[other]).await {
        let rest: Vec<usize> = (0..groups[other].len()).filter(|&i| i != leader).collect();
        groups[other].partition(&[&[leader], &rest]);
        tokio::time::sleep(Duration::from_millis(rng.u64(300..700))).await;
        groups[other].heal();
    }
    let finished = harness::eventually(Duration::from_secs(30), "every group at the end", || {
        let client = client.clone();
        let seen = seen.clone();
        async move { all_consumed(&client, &seen).await }
    })
    .await
    .is_ok();
    for t in &tasks {
        t.abort();
    }
    let ran = history(&client, &seen, finished, started).await;
    for g in &mut groups {
        let _ = g.stop_all().await;
    }
    check(&ran).map(|_| ()).map_err(|e| {
        format!(
            "loopback schedule {seed} (replay: LOOPBACK_SEED={seed} cargo test -p chapter9 \
             chapter_real): {e}"
        )
    })
}

/// A group's leader, as its replicas say.
async fn leader(group: &Cluster) -> Option<usize> {
    let http = harness::cluster::http_client(Duration::from_secs(1)).ok()?;
    for i in 0..group.len() {
        let status: serde_json::Value = http
            .get(format!("{}/status", group.url(i)))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        if status["role"] == "leader" {
            return Some(i);
        }
    }
    None
}

/// Runs one client: its next call, the answer, again; a member crashes at `crash` ms
/// (the answer it was waiting for is lost with it) and comes back as a new member.
async fn drive(
    mut c: Client,
    mut crash: Option<u64>,
    client: Arc<ClusterClient>,
    seen: Arc<Mutex<Seen>>,
    started: Instant,
) {
    let now = || started.elapsed().as_millis() as u64;
    loop {
        let Some((group, command)) = c.next_call(now()) else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let invoked = now();
        let applied = match client.call(group, command.clone()).await {
            Ok(applied) => applied,
            Err(why) => {
                // No leader for a while: the same machine asks again.
                let line = format!("{:>6} ms  {:<18} {why}", now(), c.name());
                seen.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .timeline
                    .push(line);
                continue;
            }
        };
        if let (Some(at), Client::Member(m)) = (crash, &mut c)
            && now() >= at
        {
            crash = None;
            m.crash();
            tokio::time::sleep(Duration::from_millis(200)).await;
            m.restart();
            continue;
        }
        let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
        let line = format!(
            "{:>6} ms  {:<18} {command:?} -> {applied:?}",
            now(),
            c.name()
        );
        seen.timeline.push(line);
        c.on_answer(&command, applied, (invoked, now()), &mut seen);
    }
}

/// Whether every producer is done and every consumer group is at every partition's end.
async fn all_consumed(client: &ClusterClient, seen: &Mutex<Seen>) -> Result<(), String> {
    let acked = seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .sends
        .len();
    if acked < 12 {
        return Err(format!("{acked} of 12 messages acknowledged"));
    }
    let ends = ends(client, INPUT).await?;
    for semantics in [
        Semantics::AtMostOnce,
        Semantics::AtLeastOnce,
        Semantics::ExactlyOnce,
    ] {
        let at = client.position(semantics, semantics.group()).await?;
        if at != ends {
            return Err(format!(
                "{} at {at:?}, the partitions end at {ends:?}",
                semantics.group()
            ));
        }
    }
    Ok(())
}

/// Each partition's end in `topic`.
async fn ends(client: &ClusterClient, topic: &str) -> Result<Vec<u64>, String> {
    let mut ends = Vec::new();
    for p in 0..PARTITIONS {
        ends.push(read_all(client, topic, p).await?.1);
    }
    Ok(ends)
}

/// A partition's records, from 0, and its end.
async fn read_all(
    client: &ClusterClient,
    topic: &str,
    p: u32,
) -> Result<(Vec<(u64, String)>, u64), String> {
    use chapter9::command::Command;
    use chapter9::machine::Applied;
    let group = chapter9::group_of(p, chapter9::clients::GROUPS) as usize;
    let command = Command::Read {
        partition: chapter9::PartitionId::new(topic, p),
        from: 0,
        max: 1_000,
    };
    match client.call(group, command).await? {
        Applied::Read(read) => Ok((
            read.records
                .into_iter()
                .map(|r| (r.offset, r.value))
                .collect(),
            read.next,
        )),
        other => Err(format!("a read answered {other:?}")),
    }
}

/// The run as the checker takes it.
async fn history(
    client: &ClusterClient,
    seen: &Mutex<Seen>,
    finished: bool,
    started: Instant,
) -> Ran {
    let mut logs = BTreeMap::new();
    let mut outputs = BTreeMap::new();
    for p in 0..PARTITIONS {
        let input = read_all(client, INPUT, p).await.unwrap_or_default().0;
        logs.insert(chapter9::PartitionId::new(INPUT, p).to_string(), input);
        let output = read_all(client, OUTPUT, p).await.unwrap_or_default().0;
        outputs.insert(chapter9::PartitionId::new(OUTPUT, p).to_string(), output);
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(PoisonError::into_inner));
    let sends = crate::history::sent(&seen);
    Ran {
        history: QueueHistory {
            sends,
            logs,
            reads: seen.reads,
            commits: seen
                .commits
                .into_iter()
                .map(crate::history::observed)
                .collect(),
        },
        output: QueueHistory {
            logs: outputs,
            ..QueueHistory::default()
        },
        processed: seen.processed,
        surprises: seen.surprises,
        timeline: seen.timeline,
        finished,
        ended_at: started.elapsed().as_millis() as u64,
        progress: String::new(),
    }
}
