//! Exercise 8.2: handing out tasks phase by phase, and what a lost worker takes with it.

use chapter8::{Assignment, TaskId};

use crate::common::{attempt_of, coordinator};

#[test]
fn ex2_idle_maps_are_handed_out_lowest_first_then_workers_wait() {
    let mut c = coordinator(3, 2, false);
    for (i, worker) in ["w1", "w2", "w3"].iter().enumerate() {
        let got = c.request(worker, 10);
        assert!(
            matches!(got, Assignment::Map { task, .. } if task == i),
            "{worker} asked for work with maps {i}.. idle and got {got:?}: the lowest numbered \
             idle map goes first"
        );
    }
    let got = c.request("w4", 20);
    assert_eq!(
        got,
        Assignment::Wait,
        "every map is running and none is done: a fourth worker must wait (a reduce needs \
         every map's output, and the maps are not idle)"
    );
    assert_eq!(
        c.request("w1", 30),
        c.request("w1", 31),
        "a worker that asks again while its attempt runs gets the same attempt (given)"
    );
}

#[test]
fn ex2_reduces_start_only_once_every_map_is_done() {
    let mut c = coordinator(2, 2, false);
    let a = attempt_of(&c.request("w1", 0), "w1's map");
    let b = attempt_of(&c.request("w2", 0), "w2's map");
    c.mark_done(TaskId::map(0), a, "w1", 5);
    let got = c.request("w1", 6);
    assert_eq!(
        got,
        Assignment::Wait,
        "map 1 is still running: no reduce may start yet, and map 1 is not idle"
    );
    c.mark_done(TaskId::map(1), b, "w2", 7);
    match c.request("w1", 8) {
        Assignment::Reduce { task, sources, .. } => {
            assert_eq!(task, 0, "the lowest numbered idle reduce goes first");
            assert_eq!(
                sources,
                vec!["w1".to_string(), "w2".to_string()],
                "each map's output is where it was done"
            );
        }
        other => panic!(
            "every map is done and the reduces are idle: a worker asking must get reduce 0, got {other:?}"
        ),
    }
    assert!(
        matches!(c.request("w3", 9), Assignment::Reduce { task: 1, .. }),
        "reduce 1 is idle: the next worker gets it"
    );
    assert_eq!(
        c.request("w4", 9),
        Assignment::Wait,
        "every reduce is running: wait"
    );
}

#[test]
fn ex2_a_lost_workers_running_attempt_goes_to_another_worker() {
    let mut c = coordinator(1, 1, false);
    let first = attempt_of(&c.request("w1", 0), "w1's map");
    c.request("w2", 0);
    c.heartbeat("w2", 400);
    c.tick(600); // w1 silent for 600 ms > 500
    assert!(
        c.task(TaskId::map(0)).is_some_and(|t| t.is_idle()),
        "w1 was lost while it ran map 0: the map must be idle again, got {:?}",
        c.task(TaskId::map(0))
    );
    let again = attempt_of(&c.request("w2", 601), "map 0 handed out again");
    assert_ne!(
        again, first,
        "a new attempt has a new number (`start` gives one)"
    );
}

#[test]
fn ex2_a_lost_workers_finished_maps_must_be_done_again() {
    let mut c = coordinator(3, 2, false);
    let m0 = attempt_of(&c.request("w1", 0), "map 0");
    let m1 = attempt_of(&c.request("w2", 0), "map 1");
    let m2 = attempt_of(&c.request("w3", 0), "map 2");
    c.mark_done(TaskId::map(0), m0, "w1", 10);
    c.mark_done(TaskId::map(1), m1, "w2", 10);
    c.mark_done(TaskId::map(2), m2, "w3", 10);
    let r0 = c.request("w2", 20);
    assert!(
        matches!(r0, Assignment::Reduce { .. }),
        "the reduce phase began"
    );
    c.heartbeat("w2", 550);
    c.heartbeat("w3", 550);
    c.tick(600); // w1 lost: map 0's output was on its disk only
    assert!(
        c.task(TaskId::map(0)).is_some_and(|t| t.is_idle()),
        "w1 was lost, and map 0's output lived only on its disk while reduces still need it: \
         map 0 must be idle again (the paper's rule), got {:?}",
        c.task(TaskId::map(0))
    );
    assert_eq!(c.maps_done(), 2, "map 0 no longer counts as done");
    assert!(
        c.task(TaskId::map(1)).is_some_and(|t| t.done.is_some()),
        "map 1 was done by w2, which is alive: it stays done"
    );
    assert!(
        matches!(c.request("w3", 601), Assignment::Map { task: 0, .. }),
        "with map 0 idle again, the map phase is back: a worker gets map 0, not a reduce"
    );
}

#[test]
fn ex2_a_lost_workers_finished_reduces_stay_done() {
    let mut c = coordinator(1, 2, false);
    let m = attempt_of(&c.request("w1", 0), "map 0");
    c.mark_done(TaskId::map(0), m, "w1", 1);
    let r0 = attempt_of(&c.request("w2", 2), "reduce 0");
    c.mark_done(TaskId::reduce(0), r0, "w2", 3);
    c.heartbeat("w1", 550);
    c.tick(600); // w2 lost
    assert!(
        c.task(TaskId::reduce(0)).is_some_and(|t| t.done.is_some()),
        "reduce 0's output is in the job's store, not on w2: it must stay done when w2 is lost"
    );
    assert_eq!(c.reduces_done(), 1, "reduce 0 still counts as done");
    let r1 = attempt_of(&c.request("w1", 601), "reduce 1");
    c.mark_done(TaskId::reduce(1), r1, "w1", 602);
    c.heartbeat("w3", 1_200);
    c.tick(1_200); // w1 lost after the job is done
    assert_eq!(
        c.maps_done(),
        1,
        "once every reduce is done nothing needs the maps' outputs: losing their worker \
         changes nothing"
    );
    assert_eq!(
        c.request("w3", 1_201),
        Assignment::Exit,
        "the job is done: exit"
    );
}
