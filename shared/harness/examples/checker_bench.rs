//! How fast is the linearizability checker? A benchmark, not a test:
//!
//! ```sh
//! cargo run --release -p harness --example checker_bench
//! ```
//!
//! Checks histories of 10,000 operations over 100 keys from 8 clients (2% of them with
//! unknown outcomes), generated from correct concurrent executions, and prints the time
//! per history.

use std::time::{Duration, Instant};

use harness::linearizability::{Verdict, check, random_history};

fn main() {
    let mut times = Vec::new();
    for seed in 0..20 {
        let history = random_history(seed, 8, 10_000, 100, 0.02);
        let started = Instant::now();
        let verdict = check(&history, Duration::from_secs(60));
        times.push(started.elapsed());
        assert_eq!(verdict, Verdict::Linearizable, "seed {seed}: {verdict}");
    }
    times.sort();
    println!(
        "10,000 operations, 100 keys, 8 clients, 2% unknown: median {:.1?}, slowest {:.1?} over {} histories",
        times[times.len() / 2],
        times[times.len() - 1],
        times.len()
    );
}
