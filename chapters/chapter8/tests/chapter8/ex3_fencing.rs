//! Exercise 8.3: a report counts only if its attempt is still running, on its worker.

use chapter8::{Outcome, Report, TaskId, Verdict};

use crate::common::{attempt_of, coordinator, finished};

#[test]
fn ex3_a_report_from_a_reassigned_attempt_changes_nothing() {
    let mut c = coordinator(1, 1, false);
    let old = attempt_of(&c.request("w1", 0), "w1's map");
    c.heartbeat("w2", 550);
    c.tick(600); // w1 lost: map 0 goes back
    let new = attempt_of(&c.request("w2", 601), "w2's map");
    let report = finished(TaskId::map(0), old);
    assert!(
        !c.is_live("w1", &report),
        "attempt #{old} ended when w1 was lost; map 0 now runs as #{new}: w1's late report is \
         not about a running attempt"
    );
    let before = c.clone();
    assert_eq!(
        c.report("w1", 700, &report),
        Verdict::Stale,
        "a report from a reassigned attempt must be Stale"
    );
    assert_eq!(
        c.maps_done(),
        0,
        "a stale report must not mark the map done"
    );
    assert_eq!(
        c.task(TaskId::map(0)),
        before.task(TaskId::map(0)),
        "a stale report must change nothing of the task"
    );
}

#[test]
fn ex3_only_the_attempts_own_worker_may_report_it() {
    let mut c = coordinator(2, 1, false);
    let a = attempt_of(&c.request("w1", 0), "w1's map");
    c.request("w2", 0);
    let report = finished(TaskId::map(0), a);
    assert!(
        !c.is_live("w2", &report),
        "attempt #{a} runs on w1: a report of it from w2 must not count"
    );
    assert_eq!(
        c.report("w2", 1, &report),
        Verdict::Stale,
        "another worker's attempt: Stale"
    );
    assert!(
        c.is_live("w1", &report),
        "attempt #{a} of map 0 is running on w1: its report counts"
    );
    assert!(
        !c.is_live("w1", &finished(TaskId::map(1), a)),
        "attempt #{a} is map 0's, not map 1's: a report naming the wrong task must not count"
    );
    assert!(
        !c.is_live("w1", &finished(TaskId::reduce(0), a)),
        "attempt #{a} is a map's: a report naming a reduce must not count"
    );
}

#[test]
fn ex3_a_report_about_a_task_the_job_does_not_have_is_stale_not_a_panic() {
    let mut c = coordinator(2, 1, false);
    let a = attempt_of(&c.request("w1", 0), "w1's map");
    for task in [TaskId::map(2), TaskId::map(usize::MAX), TaskId::reduce(1)] {
        let report = finished(task, a);
        assert!(
            !c.is_live("w1", &report),
            "{task} is not a task of this job"
        );
        assert_eq!(
            c.report("w1", 1, &report),
            Verdict::Stale,
            "a report about {task}, which the job does not have, comes from the network: \
             it must be Stale, not a panic"
        );
    }
    assert_eq!(
        c.report("w1", 1, &finished(TaskId::map(0), a + 100)),
        Verdict::Stale,
        "an attempt never started"
    );
}

#[test]
fn ex3_a_live_reduce_that_cannot_fetch_a_map_output_gets_that_map_done_again() {
    let mut c = coordinator(1, 1, false);
    let m = attempt_of(&c.request("w1", 0), "map 0");
    c.mark_done(TaskId::map(0), m, "w1", 1);
    let r = attempt_of(&c.request("w2", 2), "reduce 0");
    let missing = Report {
        task: TaskId::reduce(0),
        attempt: r,
        outcome: Outcome::OutputMissing {
            map: 0,
            at: "w1".into(),
        },
    };
    assert!(
        c.is_live("w2", &missing),
        "attempt #{r} of reduce 0 runs on w2: its report counts"
    );
    assert_eq!(
        c.report("w2", 3, &missing),
        Verdict::Noted,
        "a live attempt's fetch failure is noted"
    );
    assert!(
        c.task(TaskId::map(0)).is_some_and(|t| t.is_idle()),
        "map 0's output could not be fetched from w1: the map must be done again"
    );
}
