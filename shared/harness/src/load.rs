//! The load generator behind every chapter's benchmark.
//!
//! [`run`] starts `clients` concurrent loops, each issuing one operation at a time
//! (a closed loop: a client sends its next request when the previous one returns),
//! for a fixed duration after a short warm-up. Each client records latencies in its
//! own HdrHistogram, merged at the end, so recording costs no lock. On a terminal a
//! progress bar shows the time left; elsewhere (CI, a pipe) it stays silent.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

/// What to run: a label, how many concurrent clients, for how long.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Label of this run in the results, e.g. `"GET"`.
    pub name: String,
    /// Number of concurrent clients (closed loops).
    pub clients: usize,
    /// How long operations are measured.
    pub duration: Duration,
    /// How long operations run before measuring starts (connections, caches).
    pub warmup: Duration,
}

/// The outcome of one [`run`], ready to be written as JSON.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoadReport {
    /// The spec's label.
    pub name: String,
    /// Concurrent clients.
    pub clients: usize,
    /// Seconds measured.
    pub seconds: f64,
    /// Operations completed successfully while measuring.
    pub ops: u64,
    /// Operations that returned an error while measuring.
    pub errors: u64,
    /// Successful operations per second.
    pub throughput: f64,
    /// Latency percentiles of successful operations, in microseconds.
    pub latency_us: Percentiles,
    /// The first error seen, if any, so a broken benchmark says why.
    pub first_error: Option<String>,
}

/// Latency summary in microseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
}

struct ClientResult {
    histogram: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
}

/// Runs `op(client, seq)` from `spec.clients` concurrent loops and reports throughput
/// and latency. `client` is the loop's index, `seq` counts that loop's operations.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// use harness::load::{run, LoadSpec};
/// let spec = LoadSpec {
///     name: "noop".into(),
///     clients: 4,
///     duration: Duration::from_millis(50),
///     warmup: Duration::from_millis(10),
/// };
/// let report = run(&spec, |_client, _seq| async { Ok::<(), std::io::Error>(()) }).await;
/// assert!(report.ops > 0);
/// assert_eq!(report.errors, 0);
/// # });
/// ```
pub async fn run<F, Fut, E>(spec: &LoadSpec, op: F) -> LoadReport
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let op = Arc::new(op);
    let start = Instant::now();
    let measure_from = start + spec.warmup;
    let end = measure_from + spec.duration;
    let progress = progress_bar(spec);

    let mut tasks = Vec::with_capacity(spec.clients);
    for client in 0..spec.clients {
        let op = Arc::clone(&op);
        tasks.push(tokio::spawn(async move {
            // Three significant figures from 1 µs to 60 s.
            let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
                .expect("constant histogram bounds are valid");
            let (mut errors, mut first_error) = (0, None);
            let mut seq = 0;
            loop {
                let began = Instant::now();
                if began >= end {
                    break;
                }
                let outcome = op(client, seq).await;
                seq += 1;
                if began < measure_from {
                    continue;
                }
                match outcome {
                    Ok(()) => {
                        let micros = began.elapsed().as_micros().clamp(1, 60_000_000) as u64;
                        histogram.saturating_record(micros);
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            ClientResult {
                histogram,
                errors,
                first_error,
            }
        }));
    }

    let ticker = {
        let progress = progress.clone();
        tokio::spawn(async move {
            loop {
                progress.set_position(start.elapsed().as_millis() as u64);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    let mut total = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
        .expect("constant histogram bounds are valid");
    let (mut errors, mut first_error) = (0, None);
    for task in tasks {
        match task.await {
            Ok(result) => {
                total
                    .add(&result.histogram)
                    .expect("histograms share their bounds");
                errors += result.errors;
                if first_error.is_none() {
                    first_error = result.first_error;
                }
            }
            Err(join) => {
                errors += 1;
                first_error.get_or_insert_with(|| format!("a client task failed: {join}"));
            }
        }
    }
    ticker.abort();
    progress.finish_and_clear();

    let seconds = spec.duration.as_secs_f64();
    LoadReport {
        name: spec.name.clone(),
        clients: spec.clients,
        seconds,
        ops: total.len(),
        errors,
        throughput: total.len() as f64 / seconds,
        latency_us: Percentiles {
            mean: total.mean(),
            p50: total.value_at_quantile(0.50),
            p99: total.value_at_quantile(0.99),
            p999: total.value_at_quantile(0.999),
            max: total.max(),
        },
        first_error,
    }
}

fn progress_bar(spec: &LoadSpec) -> ProgressBar {
    // indicatif draws only when stderr is a terminal, so CI logs stay clean.
    let total = (spec.warmup + spec.duration).as_millis() as u64;
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template("{prefix:>16} [{bar:30}] {elapsed}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(format!("{} ×{}", spec.name, spec.clients));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn errors_are_counted_and_the_first_is_kept() {
        let spec = LoadSpec {
            name: "half".into(),
            clients: 2,
            duration: Duration::from_millis(30),
            warmup: Duration::ZERO,
        };
        let report = run(&spec, |_, seq| async move {
            tokio::task::yield_now().await;
            if seq % 2 == 0 {
                Ok(())
            } else {
                Err(format!("odd op {seq}"))
            }
        })
        .await;
        assert!(report.ops > 0 && report.errors > 0, "{report:?}");
        assert_eq!(report.first_error.as_deref(), Some("odd op 1"));
        assert!(report.latency_us.p50 <= report.latency_us.p99);
        assert!(report.latency_us.p99 <= report.latency_us.max);
    }
}
