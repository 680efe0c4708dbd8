//! The whole system in the simulator, under failures: the queue checker's rules hold
//! for the input topic, the pipeline's output holds each input exactly once, and each
//! consumer group's deliveries are counted. These need every exercise.

use std::collections::BTreeMap;

use harness::queue::Deliveries;
use harness::runs::check_seeds;

use crate::groups::REPLICAS;
use crate::sim::{Faults, Ran, Setup, run};
use chapter9::clients::{GROUPS, Semantics};

/// Faults drawn from `seed`: delays, loss, duplication, replica crashes, leader
/// failovers, replicas cut off, member crashes, members cut off (zombies), all in the
/// first 1.5 s or so (then the run heals and must finish).
pub fn faulty(seed: u64) -> Setup {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut faults = Faults {
        delay: (1, rng.u64(2..25)),
        loss: [0.0, 0.02, 0.08][rng.usize(0..3)],
        duplicate: [0.0, 0.05, 0.2][rng.usize(0..3)],
        ..Faults::default()
    };
    for _ in 0..rng.usize(0..4) {
        let replica = (rng.usize(0..GROUPS as usize), rng.usize(0..REPLICAS));
        faults
            .crashes
            .push((rng.u64(0..1_500), replica, rng.u64(50..800)));
    }
    for _ in 0..rng.usize(0..3) {
        faults.failovers.push((
            rng.u64(0..1_500),
            rng.usize(0..GROUPS as usize),
            rng.u64(50..600),
        ));
    }
    for _ in 0..rng.usize(0..4) {
        faults
            .member_crashes
            .push((rng.u64(0..1_500), rng.usize(0..6), rng.u64(20..700)));
    }
    for _ in 0..rng.usize(0..3) {
        let from = rng.u64(0..1_500);
        let replica = (rng.usize(0..GROUPS as usize), rng.usize(0..REPLICAS));
        faults
            .cut_replicas
            .push((from, from + rng.u64(50..800), replica));
    }
    for _ in 0..rng.usize(0..3) {
        // Longer than the session, often: the member is taken out while it works.
        let from = rng.u64(0..1_500);
        faults
            .cut_members
            .push((from, from + rng.u64(50..900), rng.usize(0..6)));
    }
    Setup {
        messages: rng.usize(4..20),
        faults,
    }
}

/// Every rule a run must keep, or what it broke (with the run's progress and timeline).
pub fn check(ran: &Ran) -> Result<BTreeMap<&'static str, Deliveries>, String> {
    let explain = |problem: String| {
        format!(
            "{problem}\n{}\nprogress: {}\nthe run's last answers (time, client, call -> \
             answer):\n{}",
            ran.history.summary(),
            ran.progress,
            ran.tail(40)
        )
    };
    if let Some(surprise) = ran.surprises.first() {
        return Err(explain(format!(
            "a client got an answer no correct system gives: {surprise}"
        )));
    }
    if !ran.finished {
        return Err(explain(format!(
            "the consumer groups did not reach the end of every partition within {} ms of \
             virtual time (a partition read by nobody? a position that never moves?)",
            ran.ended_at
        )));
    }
    if let Some(violation) = ran.history.violations().first() {
        return Err(explain(violation.clone()));
    }
    let mut counted = BTreeMap::new();
    for semantics in [Semantics::AtMostOnce, Semantics::AtLeastOnce] {
        let group = semantics.group();
        let processed = ran.processed.get(group).cloned().unwrap_or_default();
        let d = ran.history.deliveries(&processed);
        if semantics == Semantics::AtLeastOnce && d.lost > 0 {
            return Err(explain(format!(
                "group {group} never processed {} of {} messages: at least once loses none",
                d.lost, d.messages
            )));
        }
        if semantics == Semantics::AtMostOnce && d.duplicated > 0 {
            return Err(explain(format!(
                "group {group} processed {} messages more than once: at most once repeats none",
                d.duplicated
            )));
        }
        counted.insert(group, d);
    }
    // The pipeline: output partition p holds input partition p's values, each once,
    // in order.
    for (partition, log) in &ran.history.logs {
        let output_partition = partition.replacen("in/", "out/", 1);
        let want: Vec<String> = log.iter().map(|(_, v)| format!("{v}!")).collect();
        let got: Vec<String> = ran
            .output
            .logs
            .get(&output_partition)
            .map(|l| l.iter().map(|(_, v)| v.clone()).collect())
            .unwrap_or_default();
        if got != want {
            return Err(explain(format!(
                "the exactly-once pipeline's output {output_partition} is {got:?}, but input \
                 {partition} holds {want:?} (each input exactly once, in order)"
            )));
        }
    }
    Ok(counted)
}

#[test]
fn chapter_no_message_is_lost_duplicated_or_reordered_under_failures() {
    let counts = check_seeds(0..1_000, |seed| check(&run(&faulty(seed), seed)));
    let mut total: BTreeMap<&str, Deliveries> = BTreeMap::new();
    for c in &counts {
        for (group, d) in c {
            let t = total.entry(group).or_default();
            t.messages += d.messages;
            t.lost += d.lost;
            t.duplicated += d.duplicated;
        }
    }
    println!("over {} runs: {total:?}", counts.len());
    if counts.len() >= 200 {
        let amo = &total[Semantics::AtMostOnce.group()];
        let alo = &total[Semantics::AtLeastOnce.group()];
        assert!(
            amo.lost > 0 && alo.duplicated > 0,
            "over {} runs with member crashes, at most once lost {} messages and at least \
             once repeated {}: the faults never hit a member between its commit and its \
             processing, so this test shows nothing about the semantics",
            counts.len(),
            amo.lost,
            alo.duplicated
        );
    }
}
