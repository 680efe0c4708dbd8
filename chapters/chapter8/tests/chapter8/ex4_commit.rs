//! Exercise 8.4: a task's result is exactly one attempt's, the first to finish.

use chapter8::{Assignment, TaskId, Verdict};

use crate::common::{attempt_of, coordinator, finished};

#[test]
fn ex4_the_first_attempt_to_finish_is_committed_the_second_discarded() {
    let mut c = coordinator(2, 1, false);
    let first = attempt_of(&c.request("w1", 0), "map 0");
    // A second attempt of map 0 on w2, as a backup would be.
    let second = attempt_of(&c.start(TaskId::map(0), "w2", 5, true), "map 0's backup");
    assert_eq!(
        c.report("w2", 50, &finished(TaskId::map(0), second)),
        Verdict::Committed,
        "the backup #{second} finished first: its result is map 0's"
    );
    assert_eq!(c.maps_done(), 1, "map 0 counts as done, once");
    let done = c.task(TaskId::map(0)).and_then(|t| t.done.clone());
    assert!(
        done.as_ref()
            .is_some_and(|d| d.attempt == second && d.worker == "w2"),
        "map 0's result is attempt #{second}, on w2 (reducers fetch it there); got {done:?}"
    );
    assert_eq!(
        c.report("w1", 60, &finished(TaskId::map(0), first)),
        Verdict::Discarded,
        "attempt #{first} finished after #{second} was committed: it must be discarded"
    );
    assert_eq!(
        c.maps_done(),
        1,
        "a discarded attempt must not count map 0 done a second time"
    );
    let done_after = c.task(TaskId::map(0)).and_then(|t| t.done.clone());
    assert_eq!(
        done_after, done,
        "a discarded attempt must not replace the committed result"
    );
}

#[test]
fn ex4_a_reduce_committed_twice_would_end_the_job_with_a_file_missing() {
    let mut c = coordinator(1, 2, false);
    let m = attempt_of(&c.request("w1", 0), "map 0");
    assert_eq!(
        c.report("w1", 1, &finished(TaskId::map(0), m)),
        Verdict::Committed,
        "map 0 finished"
    );
    let r0 = attempt_of(&c.request("w1", 2), "reduce 0");
    let backup = attempt_of(
        &c.start(TaskId::reduce(0), "w2", 3, true),
        "reduce 0's backup",
    );
    assert_eq!(
        c.report("w1", 10, &finished(TaskId::reduce(0), r0)),
        Verdict::Committed,
        "reduce 0 finished"
    );
    c.report("w2", 11, &finished(TaskId::reduce(0), backup));
    assert_eq!(
        c.reduces_done(),
        1,
        "reduce 0 finished twice but is one task: counted twice, the job would look done with \
         reduce 1's file never written"
    );
    assert!(!c.is_done(), "reduce 1 has not run: the job is not done");
    assert!(
        matches!(c.request("w3", 12), Assignment::Reduce { task: 1, .. }),
        "reduce 1 is still to run"
    );
}

#[test]
fn ex4_a_committed_or_discarded_attempt_frees_its_worker() {
    let mut c = coordinator(2, 1, false);
    let first = attempt_of(&c.request("w1", 0), "map 0");
    let second = attempt_of(&c.start(TaskId::map(0), "w2", 1, true), "map 0's backup");
    c.report("w1", 10, &finished(TaskId::map(0), first));
    let next = c.request("w1", 11);
    assert!(
        matches!(next, Assignment::Map { task: 1, .. }),
        "w1's attempt was committed: w1 is free and gets map 1, got {next:?} (a committed attempt \
         no longer runs)"
    );
    c.report("w2", 12, &finished(TaskId::map(0), second));
    assert!(
        c.task(TaskId::map(0)).is_some_and(|t| t.running.is_empty()),
        "attempt #{second} was discarded: it no longer runs, got {:?}",
        c.task(TaskId::map(0))
    );
    assert_ne!(
        c.request("w2", 13),
        Assignment::Map {
            task: 0,
            attempt: second
        },
        "w2's discarded attempt must not be handed to it again"
    );
}

#[test]
fn ex4_the_winner_saying_it_again_gets_the_same_answer() {
    let mut c = coordinator(1, 1, false);
    let a = attempt_of(&c.request("w1", 0), "map 0");
    assert_eq!(
        c.report("w1", 1, &finished(TaskId::map(0), a)),
        Verdict::Committed,
        "first report"
    );
    assert_eq!(
        c.report("w1", 2, &finished(TaskId::map(0), a)),
        Verdict::Committed,
        "the same report again (its answer was lost): the same answer, counted once"
    );
    assert_eq!(
        c.maps_done(),
        1,
        "a repeated report must not count the map twice"
    );
}
