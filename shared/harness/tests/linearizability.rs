//! The linearizability checker: known-bad histories rejected, known-good accepted,
//! an exhausted budget reported loudly, and agreement with brute force.

use std::time::Duration;

use harness::history::{KvOp, KvOutput, Operation, Outcome, Recorder};
use harness::linearizability::{KeyState, Verdict, check, random_history, step};

const BUDGET: Duration = Duration::from_secs(10);

fn get(client: usize, invoke: u64, ret: u64, seen: Option<(&str, u64)>) -> Operation {
    Operation {
        client,
        op: KvOp::Get { key: "x".into() },
        invoke,
        ret: Some(ret),
        output: Some(KvOutput::Value(seen.map(|(v, n)| (v.into(), n)))),
        failed: false,
    }
}

/// An unconditional put; `ret: None` for one whose answer was lost.
fn put(client: usize, invoke: u64, ret: Option<u64>, value: &str, version: u64) -> Operation {
    Operation {
        client,
        op: KvOp::Put {
            key: "x".into(),
            value: value.into(),
            if_version: None,
        },
        invoke,
        ret,
        output: ret.map(|_| KvOutput::Written { version }),
        failed: false,
    }
}

/// A put with `if_version`, and what it returned.
fn cas(
    client: usize,
    invoke: u64,
    ret: u64,
    if_version: u64,
    value: &str,
    output: KvOutput,
) -> Operation {
    Operation {
        client,
        op: KvOp::Put {
            key: "x".into(),
            value: value.into(),
            if_version: Some(if_version),
        },
        invoke,
        ret: Some(ret),
        output: Some(output),
        failed: false,
    }
}

fn delete(client: usize, invoke: u64, ret: u64, output: KvOutput) -> Operation {
    Operation {
        client,
        op: KvOp::Delete { key: "x".into() },
        invoke,
        ret: Some(ret),
        output: Some(output),
        failed: false,
    }
}

fn written(version: u64) -> KvOutput {
    KvOutput::Written { version }
}

fn assert_violation(history: &[Operation], what: &str) {
    match check(history, BUDGET) {
        Verdict::Violation { timeline, .. } => {
            let path = timeline
                .unwrap_or_else(|| panic!("{what}: the violation's timeline was not written"));
            let page = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                page.contains("<svg") && page.contains("put(x"),
                "{what}: {} is a timeline",
                path.display()
            );
        }
        other => panic!("{what} must be rejected, got: {other}"),
    }
}

#[test]
fn a_stale_read_is_rejected() {
    // put(1) completes, then put(2) completes, then a read returns 1.
    assert_violation(
        &[
            put(0, 0, Some(10), "1", 1),
            put(0, 20, Some(30), "2", 2),
            get(1, 40, 50, Some(("1", 1))),
        ],
        "a stale read",
    );
}

#[test]
fn a_lost_update_is_rejected() {
    // Two clients both write "if at version 1"; both succeed: one update is lost.
    let history = [
        put(0, 0, Some(5), "0", 1),
        cas(1, 10, 20, 1, "1a", written(2)),
        cas(2, 12, 22, 1, "1b", written(3)),
    ];
    assert_violation(&history, "a lost update");
}

#[test]
fn a_read_shows_the_version_of_the_write_it_reads() {
    let history = [put(0, 0, Some(10), "a", 1), get(1, 20, 30, Some(("a", 5)))];
    assert_violation(&history, "a read with another write's version");
    let right = [put(0, 0, Some(10), "a", 1), get(1, 20, 30, Some(("a", 1)))];
    assert_eq!(
        check(&right, BUDGET),
        Verdict::Linearizable,
        "a read showing the version of the write it reads is accepted"
    );
}

#[test]
fn versions_only_grow() {
    let history = [put(0, 0, Some(10), "a", 5), put(0, 20, Some(30), "b", 3)];
    assert_violation(&history, "a later write with a lower version");
}

#[test]
fn a_refused_conditional_write_reports_the_version_the_key_is_at() {
    let base = put(0, 0, Some(10), "a", 1);
    let right = [
        base.clone(),
        cas(1, 20, 30, 7, "b", KvOutput::Mismatch { current: 1 }),
    ];
    assert_eq!(
        check(&right, BUDGET),
        Verdict::Linearizable,
        "a refused conditional write that reports the key's current version is accepted"
    );
    let wrong = [
        base.clone(),
        cas(1, 20, 30, 7, "b", KvOutput::Mismatch { current: 2 }),
    ];
    assert_violation(&wrong, "a mismatch naming a version the key is not at");
    let refused_at_its_own = [
        base,
        cas(1, 20, 30, 1, "b", KvOutput::Mismatch { current: 1 }),
    ];
    assert_violation(&refused_at_its_own, "a refusal when the versions match");
}

#[test]
fn if_version_zero_creates_only_when_absent() {
    let once = [
        cas(0, 0, 10, 0, "a", written(1)),
        cas(1, 20, 30, 0, "b", KvOutput::Mismatch { current: 1 }),
    ];
    assert_eq!(
        check(&once, BUDGET),
        Verdict::Linearizable,
        "`if_version: 0` refused on an existing key, with its version, is accepted"
    );
    let twice = [
        cas(0, 0, 10, 0, "a", written(1)),
        cas(1, 20, 30, 0, "b", written(2)),
    ];
    assert_violation(&twice, "two creations of one key");
}

#[test]
fn a_delete_empties_the_key_and_gets_a_version_of_its_own() {
    let history = [
        put(0, 0, Some(10), "a", 1),
        delete(0, 20, 30, KvOutput::Deleted { version: 2 }),
        get(1, 40, 50, None),
        delete(1, 60, 70, KvOutput::NotFound),
        cas(1, 80, 90, 0, "b", written(3)),
    ];
    assert_eq!(
        check(&history, BUDGET),
        Verdict::Linearizable,
        "a delete empties the key, a second delete finds nothing, and a create then succeeds"
    );
    let resurrected = [
        put(0, 0, Some(10), "a", 1),
        delete(0, 20, 30, KvOutput::Deleted { version: 2 }),
        get(1, 40, 50, Some(("a", 1))),
    ];
    assert_violation(&resurrected, "a deleted value read again");
}

#[test]
fn a_read_from_the_future_is_rejected() {
    // The read returns before the write that produced its value was even invoked.
    assert_violation(
        &[get(1, 0, 10, Some(("1", 1))), put(0, 20, Some(30), "1", 1)],
        "a read from the future",
    );
}

#[test]
fn overlapping_writes_may_be_read_in_either_order() {
    for (first, second) in [("a", "b"), ("b", "a")] {
        // The write read after both is the one that took effect last: the higher version.
        let version = |v: &str| if v == first { 2 } else { 1 };
        let history = [
            put(0, 0, Some(100), "a", version("a")),
            put(1, 10, Some(90), "b", version("b")),
            get(2, 120, 130, Some((first, version(first)))),
            get(2, 140, 150, Some((first, version(first)))),
            put(3, 160, Some(170), second, 3),
            get(2, 180, 190, Some((second, 3))),
        ];
        assert_eq!(
            check(&history, BUDGET),
            Verdict::Linearizable,
            "reading {first} then {second}"
        );
    }
}

#[test]
fn an_unknown_write_may_take_effect_late_or_never() {
    let late = [
        put(0, 0, None, "1", 0),
        get(1, 10, 20, None),
        get(1, 30, 40, Some(("1", 4))),
    ];
    assert_eq!(
        check(&late, BUDGET),
        Verdict::Linearizable,
        "it took effect after the first read"
    );
    let never = [
        put(0, 0, None, "1", 0),
        get(1, 10, 20, None),
        get(1, 30, 40, None),
    ];
    assert_eq!(
        check(&never, BUDGET),
        Verdict::Linearizable,
        "it never took effect"
    );
    let flicker = [
        put(0, 0, None, "1", 0),
        get(1, 10, 20, Some(("1", 4))),
        get(1, 30, 40, None),
    ];
    assert!(
        matches!(check(&flicker, BUDGET), Verdict::Violation { .. }),
        "but a value cannot appear and vanish"
    );
    let two_versions = [
        put(0, 0, None, "1", 0),
        get(1, 10, 20, Some(("1", 4))),
        get(1, 30, 40, Some(("1", 5))),
    ];
    assert!(
        matches!(check(&two_versions, BUDGET), Verdict::Violation { .. }),
        "nor a lost write's version change once a read has shown it"
    );
}

#[test]
fn a_violation_on_one_key_is_reported_even_if_another_key_is_undecided() {
    // Key "k0": a history too large to decide in the budget; key "x": a stale read.
    let mut history = random_history(1, 40, 2000, 1, 0.5);
    history.extend([
        put(0, 0, Some(10), "1", 1),
        put(0, 20, Some(30), "2", 2),
        get(1, 40, 50, Some(("1", 1))),
    ]);
    match check(&history, Duration::from_millis(300)) {
        Verdict::Violation { key, .. } => assert_eq!(
            key, "x",
            "the violation named is on the key that has one, x, whatever the undecided key"
        ),
        other => panic!("the stale read on x must be reported, got: {other}"),
    }
}

#[test]
fn failed_calls_are_left_out() {
    let recorder = Recorder::new();
    recorder
        .invoke(
            0,
            KvOp::Put {
                key: "x".into(),
                value: "1".into(),
                if_version: None,
            },
        )
        .finish(Outcome::Failed);
    recorder
        .invoke(1, KvOp::Get { key: "x".into() })
        .finish(Outcome::Ok(KvOutput::Value(None)));
    assert_eq!(
        check(&recorder.operations(), BUDGET),
        Verdict::Linearizable,
        "a failed call definitely did not take effect: it is left out, so the empty read is fine"
    );
}

#[test]
fn histories_of_correct_executions_are_always_accepted() {
    for seed in 0..200 {
        let history = random_history(seed, 6, 300, 5, 0.05);
        let verdict = check(&history, BUDGET);
        assert_eq!(verdict, Verdict::Linearizable, "seed {seed}: {verdict}");
    }
}

#[test]
fn an_exhausted_budget_is_inconclusive_and_never_a_pass() {
    // Many concurrent unknown writes of one key: the search space is large.
    let history = random_history(1, 40, 2000, 1, 0.5);
    let verdict = check(&history, Duration::ZERO);
    assert!(matches!(verdict, Verdict::Inconclusive { .. }), "{verdict}");
    let message = std::panic::catch_unwind(|| verdict.assert_linearizable())
        .expect_err("an inconclusive verdict fails the assertion");
    let text = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        text.contains("INCONCLUSIVE") && text.contains("not a pass"),
        "{text}"
    );
}

/// The brute-force checker: try every order of the operations that respects real time
/// (and every subset of the unknown ones), apply it to the model, compare the outputs.
fn brute_force(history: &[Operation]) -> bool {
    let ops: Vec<&Operation> = history.iter().filter(|op| !op.failed).collect();
    fn extend(ops: &[&Operation], used: &mut Vec<bool>, state: KeyState) -> bool {
        // Every completed operation placed: the rest are unknown and may never happen.
        if ops
            .iter()
            .enumerate()
            .all(|(i, op)| used[i] || op.ret.is_none())
        {
            return true;
        }
        for i in 0..ops.len() {
            if used[i] {
                continue;
            }
            // i may go next only if no unplaced operation returned before i was invoked.
            let blocked = ops.iter().enumerate().any(|(j, other)| {
                !used[j] && j != i && other.ret.is_some_and(|r| r < ops[i].invoke)
            });
            if blocked {
                continue;
            }
            for next in step(&state, &ops[i].op, ops[i].output.as_ref()) {
                used[i] = true;
                if extend(ops, used, next) {
                    return true;
                }
                used[i] = false;
            }
        }
        false
    }
    extend(&ops, &mut vec![false; ops.len()], KeyState::default())
}

#[test]
fn the_checker_agrees_with_brute_force_on_thousands_of_small_histories() {
    let mut rejected = 0;
    for seed in 0..3000u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut history = random_history(seed, 3, rng.usize(2..7), 1, 0.2);
        // Corrupt some outputs so that a good share of histories are not linearizable.
        for op in history.iter_mut() {
            if rng.u8(0..4) == 0 {
                op.output = match &op.output {
                    Some(KvOutput::Value(_)) => Some(KvOutput::Value(Some((
                        format!("v{}", rng.u8(0..6)),
                        rng.u64(1..6),
                    )))),
                    Some(KvOutput::Written { version }) => Some(KvOutput::Written {
                        version: version.saturating_sub(rng.u64(0..2)),
                    }),
                    Some(KvOutput::Mismatch { current }) => Some(KvOutput::Mismatch {
                        current: current + rng.u64(0..2),
                    }),
                    Some(KvOutput::Deleted { .. }) => Some(KvOutput::NotFound),
                    Some(KvOutput::NotFound) => Some(KvOutput::Deleted {
                        version: rng.u64(1..6),
                    }),
                    other => other.clone(),
                };
            }
        }
        let expected = brute_force(&history);
        let verdict = check(&history, BUDGET);
        assert!(
            !matches!(verdict, Verdict::Inconclusive { .. }),
            "seed {seed}: tiny histories are decided"
        );
        assert_eq!(
            verdict == Verdict::Linearizable,
            expected,
            "seed {seed}: checker and brute force disagree on {history:#?}"
        );
        rejected += usize::from(!expected);
    }
    assert!(
        (300..2700).contains(&rejected),
        "both kinds occur: {rejected} of 3000 rejected"
    );
}
