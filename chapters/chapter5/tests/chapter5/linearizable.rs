//! Linearizable histories on real nodes: clients whose every call is recorded, under
//! crashes, restarts and partitions drawn from a seed, checked by the harness.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chapter5::demo::run_op;
use chapter5::{Client, Retry};
use harness::history::{KvOp, Outcome, Recorder};
use harness::linearizability::{Verdict, check};

use crate::common::{group, settled_leader, urls};

/// Runs `op` through `client`, recorded as client `id`'s call.
pub async fn recorded(recorder: &Recorder, client: &Client, id: usize, op: KvOp) -> Outcome {
    let call = recorder.invoke(id, op.clone());
    let outcome = run_op(client, &op).await;
    call.finish(outcome.clone());
    outcome
}

/// Faults in one loopback schedule.
const FAULTS: usize = 6;

/// One schedule: five nodes, three clients reading, writing, compare-and-setting and
/// deleting two keys, and [`FAULTS`] crashes, restarts and partitions drawn from `seed`;
/// the history must be linearizable. Returns how many calls completed.
async fn linearizable_schedule(seed: u64) -> Result<usize, String> {
    let mut cluster = group(5, seed);
    settled_leader(&cluster, &[0, 1, 2, 3, 4]).await;
    let addresses = urls(&cluster);
    let recorder = Recorder::new();
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..3usize {
        let client = Client::new(&addresses)
            .expect("valid addresses")
            .with_retry(Retry {
                deadline: Duration::from_secs(2),
                ..Retry::default()
            });
        let recorder = recorder.clone();
        let stop = Arc::clone(&stop);
        clients.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(seed * 31 + c as u64);
            // The version this client last saw of each key, for its conditional writes.
            let mut seen = [0u64; 2];
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let k = rng.usize(0..2);
                let key = ["x", "y"][k].to_string();
                let value = format!("s{seed}-c{c}-{i}");
                let op = match rng.u8(0..10) {
                    0..=3 => KvOp::Get { key: key.clone() },
                    4..=5 => KvOp::Put {
                        key: key.clone(),
                        value,
                        if_version: None,
                    },
                    6..=8 => KvOp::Put {
                        key: key.clone(),
                        value,
                        if_version: Some(seen[k]),
                    },
                    _ => KvOp::Delete { key: key.clone() },
                };
                let call = recorder.invoke(c, op.clone());
                let outcome = run_op(&client, &op).await;
                if let Outcome::Ok(output) = &outcome {
                    seen[k] = output.version_after();
                }
                call.finish(outcome);
            }
        }));
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut down: Option<usize> = None;
    for _ in 0..FAULTS {
        // A fault every 100 to 300 ms, about one election timeout: some land
        // mid-election.
        tokio::time::sleep(Duration::from_millis(100 + rng.u64(0..200))).await;
        match rng.u8(0..3) {
            0 => {
                if let Some(node) = down.take() {
                    cluster.restart(node).await.map_err(|e| e.to_string())?;
                }
                let victim = rng.usize(0..5);
                cluster.kill(victim);
                down = Some(victim);
            }
            1 => {
                let mut ids: Vec<usize> = (0..5).collect();
                rng.shuffle(&mut ids);
                cluster.partition(&[&ids[..2], &ids[2..]]);
            }
            _ => cluster.heal(),
        }
    }
    cluster.heal();
    if let Some(node) = down {
        cluster.restart(node).await.map_err(|e| e.to_string())?;
    }
    // Healed: time for an election and for the clients to finish on the new leader.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client
            .await
            .map_err(|e| format!("a client panicked: {e}"))?;
    }
    let history = recorder.operations();
    let completed = history.iter().filter(|o| o.output.is_some()).count();
    match check(&history, Duration::from_secs(20)) {
        Verdict::Linearizable => Ok(completed),
        verdict => Err(format!("seed {seed}: {verdict}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_histories_are_linearizable_over_8_loopback_schedules_with_crashes_and_partitions()
{
    // Eight schedules of six faults each; `LOOPBACK_SEEDS=200` soaks (see the harness
    // appendix of the book).
    let seeds = harness::seeds::loopback(100..108);
    let runs = seeds.len();
    let mut completed = 0;
    // Two schedules at a time, each on a cluster of its own: a schedule mostly waits
    // for its timers, so a pair takes about as long as one.
    for pair in seeds.chunks(2) {
        let second = pair.get(1).copied();
        let (first, second) = tokio::join!(linearizable_schedule(pair[0]), async move {
            match second {
                Some(seed) => Some(linearizable_schedule(seed).await),
                None => None,
            }
        });
        for (seed, result) in pair.iter().zip(std::iter::once(first).chain(second)) {
            completed += result.unwrap_or_else(|e| {
                panic!(
                    "{e}\nreplay this schedule (same faults; timing differs) with: \
                     LOOPBACK_SEED={seed} cargo test -p chapter5 chapter_histories_are_linearizable"
                )
            });
        }
    }
    assert!(
        completed >= 10 * runs,
        "only {completed} calls completed over {runs} schedules: the clients barely ran"
    );
}
