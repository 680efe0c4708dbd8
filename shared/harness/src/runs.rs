//! Running a simulation over many seeds: [`check_seeds`].
//!
//! Seeds are spread over the machine's cores, the smallest failing one is reported
//! whatever the number of cores, and a seed that never finishes (a loop in the code
//! under test that stops making progress) ends the test binary with its seed and how to
//! replay it, instead of hanging it.

use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long one seed may run. A seed takes milliseconds; even a soak on a loaded
/// machine stays far below this, so a seed past it is stuck.
pub const SEED_LIMIT: Duration = Duration::from_secs(30);

/// Runs `run(seed)` for every seed in `seeds`, spread over the machine's cores, and
/// returns what each run returned, in seed order.
///
/// If runs fail, panics with the smallest failing seed (the same one whatever the
/// number of cores), its failure, and how to replay it. `SIM_SEEDS=N` runs `N` seeds from
/// `seeds.start` instead (a soak), `SIM_SEED=s` only seed `s` (a replay); see
/// [`seeds`](crate::seeds).
pub fn check_seeds<T: Send>(
    seeds: Range<u64>,
    run: impl Fn(u64) -> Result<T, String> + Sync,
) -> Vec<T> {
    check_seeds_within(SEED_LIMIT, seeds, run)
}

/// [`check_seeds`] with another limit on how long one seed may run.
pub fn check_seeds_within<T: Send>(
    limit: Duration,
    seeds: Range<u64>,
    run: impl Fn(u64) -> Result<T, String> + Sync,
) -> Vec<T> {
    crate::panics::install_hook();
    let seeds = crate::seeds::simulated(seeds);
    // The test harness names each test's thread after the test; the workers take the
    // same name, so a panic in one reads as the test's own.
    let test = std::thread::current()
        .name()
        .unwrap_or("<this test>")
        .to_string();
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(seeds.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let outcomes: Mutex<Vec<Option<Outcome<T>>>> =
        Mutex::new((0..seeds.len()).map(|_| None).collect());
    // Cargo names the package when it runs a test binary.
    let package = std::env::var("CARGO_PKG_NAME").map_or(String::new(), |p| format!(" -p {p}"));
    let replay = |seed: u64| {
        format!(
            "replay exactly this run with: SIM_SEED={seed} cargo test{package} {test} -- --exact"
        )
    };
    // The seed each worker is running, and since when.
    let running: Vec<Mutex<Option<(u64, Instant)>>> =
        (0..workers).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        let (finished, watch) = std::sync::mpsc::channel::<()>();
        scope.spawn(|| watchdog(watch, limit, &running, &replay));
        let mut handles = Vec::new();
        for slot in &running {
            let worker = || {
                // Seeds are taken in order, and a failure stops the taking: every seed
                // below a failing one has run, so the smallest failure is always found.
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&seed) = seeds.get(i) else { break };
                    *slot.lock().unwrap_or_else(PoisonError::into_inner) =
                        Some((seed, Instant::now()));
                    let result = catch_unwind(AssertUnwindSafe(|| run(seed)));
                    *slot.lock().unwrap_or_else(PoisonError::into_inner) = None;
                    let outcome = match result {
                        Ok(Ok(value)) => Outcome::Passed(value),
                        Ok(Err(failure)) => Outcome::Failed(failure),
                        Err(payload) => Outcome::Panicked(payload),
                    };
                    if !matches!(outcome, Outcome::Passed(_)) {
                        failed.store(true, Ordering::Relaxed);
                    }
                    outcomes.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(outcome);
                }
            };
            handles.push(
                std::thread::Builder::new()
                    .name(test.clone())
                    .spawn_scoped(scope, worker)
                    .expect("starting a simulation worker thread"),
            );
        }
        for handle in handles {
            let _ = handle.join(); // a run's panic is caught inside the worker
        }
        drop(finished);
    });
    let outcomes = outcomes
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let mut passed = Vec::with_capacity(outcomes.len());
    for (&seed, outcome) in seeds.iter().zip(outcomes) {
        let replay = replay(seed);
        match outcome {
            Some(Outcome::Passed(value)) => passed.push(value),
            Some(Outcome::Failed(failure)) => {
                panic!("simulation with seed {seed} failed: {failure}\n{replay}")
            }
            Some(Outcome::Panicked(payload)) => {
                // The panic was printed where it happened (an unfinished exercise as its
                // one line); say which seed, then fail the test with the same payload.
                eprintln!("simulation with seed {seed} panicked; {replay}");
                resume_unwind(payload)
            }
            None => break, // not run: an earlier seed failed (reported above)
        }
    }
    passed
}

/// How one seed's run ended.
enum Outcome<T> {
    Passed(T),
    Failed(String),
    Panicked(Box<dyn std::any::Any + Send>),
}

/// Watches the workers until `finished` closes: a seed that has run for longer than
/// `limit` is stuck, and the only way to stop a thread stuck in a loop is to end
/// the process, saying which seed and how to replay it.
fn watchdog(
    finished: Receiver<()>,
    limit: Duration,
    running: &[Mutex<Option<(u64, Instant)>>],
    replay: &dyn Fn(u64) -> String,
) {
    while let Err(RecvTimeoutError::Timeout) = finished.recv_timeout(Duration::from_millis(250)) {
        for slot in running {
            let current = *slot.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((seed, since)) = current
                && since.elapsed() > limit
            {
                eprintln!(
                    "simulation with seed {seed} has run for {:.0?} and not finished (a seed takes \
                     milliseconds): a loop in the code under test has stopped making progress. \
                     Ending the test run.\n{}",
                    since.elapsed(),
                    replay(seed)
                );
                std::process::exit(101);
            }
        }
    }
}
