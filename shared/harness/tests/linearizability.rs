//! The linearizability checker: known-bad histories rejected, known-good accepted,
//! an exhausted budget reported loudly, and agreement with brute force.

use std::time::Duration;

use harness::history::{KvOp, KvOutput, Operation, Outcome, Recorder};
use harness::linearizability::{Verdict, check, random_history, step};

const BUDGET: Duration = Duration::from_secs(10);

fn get(client: usize, invoke: u64, ret: u64, value: Option<&str>) -> Operation {
    Operation {
        client,
        op: KvOp::Get { key: "x".into() },
        invoke,
        ret: Some(ret),
        output: Some(KvOutput::Value(value.map(Into::into))),
        failed: false,
    }
}

fn put(client: usize, invoke: u64, ret: Option<u64>, value: &str) -> Operation {
    Operation {
        client,
        op: KvOp::Put {
            key: "x".into(),
            value: value.into(),
        },
        invoke,
        ret,
        output: ret.map(|_| KvOutput::Written),
        failed: false,
    }
}

fn cas(
    client: usize,
    invoke: u64,
    ret: u64,
    expected: Option<&str>,
    new: &str,
    swapped: bool,
) -> Operation {
    Operation {
        client,
        op: KvOp::Cas {
            key: "x".into(),
            expected: expected.map(Into::into),
            new: new.into(),
        },
        invoke,
        ret: Some(ret),
        output: Some(KvOutput::Swapped(swapped)),
        failed: false,
    }
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
            put(0, 0, Some(10), "1"),
            put(0, 20, Some(30), "2"),
            get(1, 40, 50, Some("1")),
        ],
        "a stale read",
    );
}

#[test]
fn a_lost_update_is_rejected() {
    // Two clients both swap from 0; both succeed: one increment is lost.
    let history = [
        put(0, 0, Some(5), "0"),
        cas(1, 10, 20, Some("0"), "1a", true),
        cas(2, 12, 22, Some("0"), "1b", true),
    ];
    assert_violation(&history, "a lost update");
}

#[test]
fn a_read_from_the_future_is_rejected() {
    // The read returns before the write that produced its value was even invoked.
    assert_violation(
        &[get(1, 0, 10, Some("1")), put(0, 20, Some(30), "1")],
        "a read from the future",
    );
}

#[test]
fn overlapping_writes_may_be_read_in_either_order() {
    for (first, second) in [("a", "b"), ("b", "a")] {
        let history = [
            put(0, 0, Some(100), "a"),
            put(1, 10, Some(90), "b"),
            get(2, 120, 130, Some(first)),
            get(2, 140, 150, Some(first)),
            put(3, 160, Some(170), second),
            get(2, 180, 190, Some(second)),
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
        put(0, 0, None, "1"),
        get(1, 10, 20, None),
        get(1, 30, 40, Some("1")),
    ];
    assert_eq!(
        check(&late, BUDGET),
        Verdict::Linearizable,
        "it took effect after the first read"
    );
    let never = [
        put(0, 0, None, "1"),
        get(1, 10, 20, None),
        get(1, 30, 40, None),
    ];
    assert_eq!(
        check(&never, BUDGET),
        Verdict::Linearizable,
        "it never took effect"
    );
    let flicker = [
        put(0, 0, None, "1"),
        get(1, 10, 20, Some("1")),
        get(1, 30, 40, None),
    ];
    assert!(
        matches!(check(&flicker, BUDGET), Verdict::Violation { .. }),
        "but a value cannot appear and vanish"
    );
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
            },
        )
        .finish(Outcome::Failed);
    recorder
        .invoke(1, KvOp::Get { key: "x".into() })
        .finish(Outcome::Ok(KvOutput::Value(None)));
    assert_eq!(check(&recorder.operations(), BUDGET), Verdict::Linearizable);
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
    fn extend(ops: &[&Operation], used: &mut Vec<bool>, state: Option<String>) -> bool {
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
            if let Some(next) = step(&state, &ops[i].op, ops[i].output.as_ref()) {
                used[i] = true;
                if extend(ops, used, next) {
                    return true;
                }
                used[i] = false;
            }
        }
        false
    }
    extend(&ops, &mut vec![false; ops.len()], None)
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
                    Some(KvOutput::Value(_)) => {
                        Some(KvOutput::Value(Some(format!("v{}", rng.u8(0..6)))))
                    }
                    Some(KvOutput::Swapped(b)) => Some(KvOutput::Swapped(!b)),
                    Some(KvOutput::Deleted(b)) => Some(KvOutput::Deleted(!b)),
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
