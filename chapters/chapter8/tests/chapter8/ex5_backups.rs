//! Exercise 8.5: near a phase's end, a backup of the attempt that has run longest.

use chapter8::{Assignment, Outcome, Report, TaskId, Verdict, backup_window};

use crate::common::{attempt_of, coordinator};

fn finish(c: &mut chapter8::Coordinator, worker: &str, task: TaskId, attempt: u64, now: u64) {
    let report = Report {
        task,
        attempt,
        outcome: Outcome::Finished,
    };
    assert_eq!(
        c.report(worker, now, &report),
        Verdict::Committed,
        "{task} finished on {worker}"
    );
}

/// Ten maps running on w0..w9, map `i` started at `i` ms.
fn ten_maps() -> (chapter8::Coordinator, Vec<u64>) {
    let mut c = coordinator(10, 1, true);
    let attempts = (0..10)
        .map(|i| attempt_of(&c.request(&format!("w{i}"), i as u64), "a map"))
        .collect();
    (c, attempts)
}

#[test]
fn ex5_no_backup_while_more_than_a_fifth_of_the_phase_is_left() {
    assert_eq!(backup_window(10), 2, "given: a fifth of ten tasks");
    let (mut c, attempts) = ten_maps();
    assert_eq!(
        c.request("idle", 100),
        Assignment::Wait,
        "ten maps of ten are left: far from the phase's end, no backup"
    );
    for (i, &attempt) in attempts.iter().enumerate().take(7) {
        finish(
            &mut c,
            &format!("w{i}"),
            TaskId::map(i),
            attempt,
            100 + i as u64,
        );
    }
    assert_eq!(
        c.request("idle", 200),
        Assignment::Wait,
        "three maps of ten are left, more than a fifth: still no backup"
    );
    finish(&mut c, "w7", TaskId::map(7), attempts[7], 201);
    let got = c.request("idle", 202);
    assert!(
        matches!(got, Assignment::Map { task: 8, .. }),
        "two maps of ten are left, a fifth: the one that has run longest (map 8, started at \
         8 ms) gets a backup; got {got:?}"
    );
    assert!(
        c.events()
            .iter()
            .any(|e| matches!(e, chapter8::Event::Started { backup: true, .. })),
        "a backup is started with `backup: true`"
    );
}

#[test]
fn ex5_the_attempt_that_has_run_longest_goes_first_then_one_backup_per_task() {
    let mut c = coordinator(15, 1, true);
    for i in 0..12 {
        let a = attempt_of(&c.start(TaskId::map(i), "early", 0, false), "a map");
        c.mark_done(TaskId::map(i), a, "early", 0);
    }
    // Three maps of fifteen left, a fifth: map 14 started first, then maps 12 and 13.
    c.start(TaskId::map(14), "w14", 0, false);
    c.start(TaskId::map(12), "w12", 5, false);
    c.start(TaskId::map(13), "w13", 5, false);
    let first = c.request("x", 10);
    assert!(
        matches!(first, Assignment::Map { task: 14, .. }),
        "map 14 has run longest (since 0 ms): its attempt is backed up first; got {first:?}"
    );
    let second = c.request("y", 11);
    assert!(
        matches!(second, Assignment::Map { task: 12, .. }),
        "maps 12 and 13 started at the same time: the lower number goes first; got {second:?}"
    );
    let third = c.request("z", 12);
    assert!(
        matches!(third, Assignment::Map { task: 13, .. }),
        "map 13 has no backup yet: it is next; got {third:?}"
    );
    assert_eq!(
        c.request("v", 13),
        Assignment::Wait,
        "every map has a backup: a task gets one backup at most"
    );
}

#[test]
fn ex5_a_backup_never_runs_on_the_worker_it_backs_up() {
    let mut c = coordinator(1, 1, true);
    c.request("w1", 0);
    assert_eq!(
        c.backup("w1", 10),
        None,
        "the only attempt left runs on w1: a backup on w1 itself would be no backup at all"
    );
}

#[test]
fn ex5_a_task_already_done_gets_no_backup() {
    let mut c = coordinator(2, 1, true);
    let slow = attempt_of(&c.request("w1", 0), "map 0");
    let quick = attempt_of(&c.start(TaskId::map(0), "w2", 1, true), "map 0's backup");
    let other = attempt_of(&c.request("w3", 2), "map 1");
    finish(&mut c, "w2", TaskId::map(0), quick, 20);
    let _ = (slow, other);
    // Map 0 is done (its first attempt still runs on w1); map 1 runs on w3.
    let got = c.request("w2", 21);
    assert!(
        matches!(got, Assignment::Map { task: 1, .. }),
        "map 0 is done, even though its first attempt still runs: the backup goes to map 1; \
         got {got:?}"
    );
}

#[test]
fn ex5_backups_follow_the_phase() {
    let mut c = coordinator(1, 5, true);
    let m = attempt_of(&c.request("w0", 0), "map 0");
    finish(&mut c, "w0", TaskId::map(0), m, 1);
    let mut reduces = Vec::new();
    for i in 0..5 {
        reduces.push(attempt_of(
            &c.request(&format!("r{i}"), 2 + i as u64),
            "a reduce",
        ));
    }
    assert_eq!(
        c.request("idle", 10),
        Assignment::Wait,
        "five reduces of five left: no backup"
    );
    for (i, &attempt) in reduces.iter().enumerate().take(3) {
        finish(&mut c, &format!("r{i}"), TaskId::reduce(i), attempt, 20);
    }
    assert_eq!(
        c.request("idle", 25),
        Assignment::Wait,
        "two reduces of five are left, more than a fifth of the reduce phase: no backup yet \
         (the window counts the current phase's tasks, not the whole job's)"
    );
    finish(&mut c, "r3", TaskId::reduce(3), reduces[3], 26);
    assert!(
        matches!(c.request("idle", 30), Assignment::Reduce { task: 4, .. }),
        "the reduce phase is near its end (one of five left): the last reduce gets a backup"
    );
}
