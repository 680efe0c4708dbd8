//! How many schedules a test runs: a fast default, many more when soaking.
//!
//! A test that draws its faults from seeds runs a few hundred of them by default, so a
//! chapter's suite stays fast. The same test soaks when asked:
//!
//! | variable | effect |
//! |---|---|
//! | `SIM_SEEDS=20000` | every simulator test runs 20,000 seeds (from its usual first one) |
//! | `SIM_SEED=42` | every simulator test runs seed 42 only: the replay of a failure |
//! | `LOOPBACK_SEEDS=100` | every loopback schedule test runs 100 schedules |
//! | `LOOPBACK_SEED=7` | one loopback schedule (same faults; real timing differs) |
//!
//! e.g. `SIM_SEEDS=20000 cargo test -p chapter5 --features solution simulation`.

use std::ops::Range;

/// The number of simulator seeds each simulation test runs (default: the test's own).
pub const SIM_SEEDS: &str = "SIM_SEEDS";
/// One simulator seed to replay.
pub const SIM_SEED: &str = "SIM_SEED";
/// The number of schedules each loopback schedule test runs.
pub const LOOPBACK_SEEDS: &str = "LOOPBACK_SEEDS";
/// One loopback schedule to replay.
pub const LOOPBACK_SEED: &str = "LOOPBACK_SEED";

/// The seeds a simulator test runs: `default`, or as `SIM_SEED` / `SIM_SEEDS` say.
pub fn simulated(default: Range<u64>) -> Vec<u64> {
    chosen(default, SIM_SEEDS, SIM_SEED)
}

/// The seeds a loopback schedule test runs: `default`, or as `LOOPBACK_SEED` /
/// `LOOPBACK_SEEDS` say.
pub fn loopback(default: Range<u64>) -> Vec<u64> {
    chosen(default, LOOPBACK_SEEDS, LOOPBACK_SEED)
}

fn chosen(default: Range<u64>, count: &str, one: &str) -> Vec<u64> {
    if let Some(seed) = number(one) {
        return vec![seed];
    }
    match number(count) {
        Some(n) => (default.start..default.start.saturating_add(n)).collect(),
        None => default.collect(),
    }
}

/// The variable's value as a number; unset or empty is `None`. Anything else stops the
/// test with what was wrong: a soak that silently ran the default would prove nothing.
fn number(var: &str) -> Option<u64> {
    let value = std::env::var(var).ok()?;
    if value.trim().is_empty() {
        return None;
    }
    match value.trim().replace('_', "").parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{var}={value:?} is not a whole number (e.g. {var}=1000)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_variables_the_default_range_runs() {
        // The variables are unset in this crate's tests; names nobody sets check `chosen`.
        assert_eq!(
            chosen(5..8, "HARNESS_TEST_UNSET_N", "HARNESS_TEST_UNSET_1"),
            vec![5, 6, 7]
        );
    }
}
