//! Linearizable histories on real replicas while groups join and leave: the service and
//! three groups on loopback, a controller making changes drawn from a seed, clients
//! reading and writing, and crashes, restarts and partitions of any replica. Every
//! fault and every configuration is recorded on the operations' clock, so a violation's
//! timeline shows which one it followed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chapter7::service::Change;
use chapter7::system;
use harness::history::{Event, KvOp, Recorder};
use harness::linearizability::{Verdict, check_with_events};

use crate::common::SHARDS;
use crate::loopback::{PATIENCE, client, controller, start};

/// Groups in a schedule (the service is log 0).
const GROUPS: u64 = 3;
/// Faults in one schedule.
const FAULTS: usize = 5;
/// The keys the clients share: few, so that calls overlap on them.
const KEYS: [&str; 4] = ["a", "b", "c", "d"];

/// The faults and configurations of a run, on the recorder's clock.
#[derive(Clone)]
struct Events {
    start: Instant,
    list: Arc<Mutex<Vec<Event>>>,
}

impl Events {
    fn record(&self, what: String) {
        let at = self.start.elapsed().as_nanos() as u64;
        self.list
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Event { at, what });
    }

    fn all(&self) -> Vec<Event> {
        self.list
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A change drawn from `rng` that fits `members` (the groups in the latest
/// configuration).
fn draw_change(rng: &mut fastrand::Rng, members: &[u64], all: &[u64]) -> Change {
    let outside: Vec<u64> = all
        .iter()
        .copied()
        .filter(|g| !members.contains(g))
        .collect();
    match rng.u8(0..3) {
        0 if !outside.is_empty() => Change::Join(
            [(outside[rng.usize(..outside.len())], Vec::new())]
                .into_iter()
                .collect(),
        ),
        1 if members.len() > 1 => Change::Leave(vec![members[rng.usize(..members.len())]]),
        _ => Change::Move {
            shard: rng.usize(..SHARDS),
            group: members[rng.usize(..members.len())],
        },
    }
}

/// One schedule; returns how many calls completed and how many changes the controller
/// made.
async fn schedule(seed: u64) -> Result<(usize, u64), String> {
    let mut cluster = start(GROUPS, seed);
    let mut admin = controller(&cluster);
    admin
        .change(&system::join(&cluster, &[1]))
        .await
        .map_err(|e| format!("seed {seed}: group 1 joins: {e:#}"))?;
    let start_time = Instant::now();
    let recorder = Recorder::starting_at(start_time);
    let events = Events {
        start: start_time,
        list: Arc::default(),
    };
    let stop = Arc::new(AtomicBool::new(false));

    let mut tasks = Vec::new();
    for c in 0..3usize {
        let mut client = client(&cluster, &format!("s{seed}c{c}"), Duration::from_secs(2));
        let (recorder, stop) = (recorder.clone(), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(seed * 31 + c as u64);
            let mut seen = [0u64; KEYS.len()];
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let k = rng.usize(..KEYS.len());
                let key = KEYS[k].to_string();
                let value = format!("c{c}-{i}");
                let op = match rng.u8(0..10) {
                    0..=3 => KvOp::Get { key },
                    4..=5 => KvOp::Put {
                        key,
                        value,
                        if_version: None,
                    },
                    6..=8 => KvOp::Put {
                        key,
                        value,
                        if_version: Some(seen[k]),
                    },
                    _ => KvOp::Delete { key },
                };
                let call = recorder.invoke(c, op.clone());
                let outcome = chapter7::demo::run_op(&mut client, &op).await;
                if let harness::history::Outcome::Ok(output) = &outcome {
                    seen[k] = output.version_after();
                }
                call.finish(outcome);
            }
        }));
    }

    // The controller: changes drawn from the seed, one after another. A change that
    // cannot finish in time (its groups are cut off) is finished by the next one.
    let servers: Vec<(u64, Vec<String>)> = (1..=GROUPS)
        .map(|g| (g, system::servers(&cluster, g)))
        .collect();
    let mut mover = controller(&cluster);
    let (controller_events, controller_stop) = (events.clone(), Arc::clone(&stop));
    let changes = tokio::spawn(async move {
        let mut rng = fastrand::Rng::with_seed(seed ^ 0x00C0_FFEE);
        let all: Vec<u64> = servers.iter().map(|(g, _)| *g).collect();
        let mut made = 0;
        while !controller_stop.load(Ordering::Relaxed) {
            let Ok(answer) = mover.query().await else {
                continue;
            };
            let members: Vec<u64> = answer.config.groups.keys().copied().collect();
            let change = match draw_change(&mut rng, &members, &all) {
                Change::Join(groups) => Change::Join(
                    groups
                        .into_keys()
                        .map(|g| (g, servers[(g - 1) as usize].1.clone()))
                        .collect(),
                ),
                other => other,
            };
            if let Ok(config) = mover.change(&change).await {
                controller_events.record(format!("configuration {}", config.num));
                made += 1;
            }
        }
        made
    });

    let mut rng = fastrand::Rng::with_seed(seed);
    let nodes = ((GROUPS + 1) * 3) as usize;
    let mut down: Option<usize> = None;
    for _ in 0..FAULTS {
        tokio::time::sleep(Duration::from_millis(100 + rng.u64(0..200))).await;
        match rng.u8(0..3) {
            0 => {
                if let Some(node) = down.take() {
                    cluster
                        .restart(node)
                        .await
                        .map_err(|e| format!("seed {seed}: restart: {e:#}"))?;
                    events.record(format!("restart node {node}"));
                }
                let victim = rng.usize(..nodes);
                cluster.kill(victim);
                events.record(format!("crash node {victim}"));
                down = Some(victim);
            }
            1 => {
                // One replica of a log cut off from every other node.
                let lonely = rng.usize(..nodes);
                let rest: Vec<usize> = (0..nodes).filter(|&n| n != lonely).collect();
                cluster.partition(&[&[lonely], &rest]);
                events.record(format!("partition node {lonely}"));
            }
            _ => {
                cluster.heal();
                events.record("heal".into());
            }
        }
    }
    cluster.heal();
    events.record("heal".into());
    if let Some(node) = down {
        cluster
            .restart(node)
            .await
            .map_err(|e| format!("seed {seed}: restart: {e:#}"))?;
        events.record(format!("restart node {node}"));
    }
    stop.store(true, Ordering::Relaxed);
    let made = changes
        .await
        .map_err(|e| format!("seed {seed}: the controller panicked: {e}"))?;
    for task in tasks {
        task.await
            .map_err(|e| format!("seed {seed}: a client panicked: {e}"))?;
    }
    // Healed, a last controller finishes whatever is pending, and every key reads.
    let last = admin
        .finish_pending()
        .await
        .map_err(|e| format!("seed {seed}: the last change does not finish once healed: {e:#}"))?;
    let mut reader = client(&cluster, &format!("s{seed}-reader"), PATIENCE);
    for key in KEYS {
        reader
            .get(key)
            .await
            .map_err(|e| format!("seed {seed}: {key} unreadable once healed: {e}"))?;
    }
    let history = recorder.operations();
    let completed = history.iter().filter(|o| o.output.is_some()).count();
    cluster.stop_all().await.map_err(|e| e.to_string())?;
    match check_with_events(&history, &events.all(), Duration::from_secs(20)) {
        Verdict::Linearizable => Ok((completed, made.max(last.num))),
        verdict => Err(format!(
            "seed {seed}: not linearizable (replay: LOOPBACK_SEED={seed} cargo test -p \
             chapter7 chapter_joins_and_leaves); the timeline shows faults and \
             configurations on the operations' axis: {verdict} {}",
            chapter7::stack::which_core()
        )),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_joins_and_leaves_are_linearizable_over_20_loopback_schedules_with_crashes_and_partitions()
 {
    // `LOOPBACK_SEEDS=200` soaks; `LOOPBACK_SEED=n` replays one.
    let seeds = harness::seeds::loopback(700..720);
    let runs = seeds.len();
    let (mut completed, mut configurations) = (0, 0);
    for batch in seeds.chunks(4) {
        let results =
            futures_util::future::join_all(batch.iter().map(|&seed| schedule(seed))).await;
        for result in results {
            let (calls, num) = result.unwrap_or_else(|e| panic!("{e}"));
            completed += calls;
            configurations += num;
        }
    }
    println!("{runs} schedules: {completed} calls completed, {configurations} configurations");
    assert!(
        completed >= runs * 5,
        "only {completed} calls completed over {runs} schedules: the store barely served"
    );
}
