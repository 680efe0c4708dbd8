//! Helpers shared by chapter 8's tests: inputs, coordinators, and the checks every
//! simulated job must pass.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use chapter8::{
    Assignment, AttemptId, Coordinator, Event, Grep, Input, InvertedIndex, Job, Join, Kind, Spec,
    TaskId, WordCount, backup_window,
};

use crate::sim::Ran;
use crate::timeline::timeline;

/// A coordinator for `maps` maps and `reduces` reduces, a 500 ms worker timeout.
pub fn coordinator(maps: usize, reduces: usize, backups: bool) -> Coordinator {
    Coordinator::new(Spec {
        maps,
        reduces,
        worker_timeout: 500,
        backups,
    })
}

/// A report that `attempt` of `task` finished.
pub fn finished(task: TaskId, attempt: AttemptId) -> chapter8::Report {
    chapter8::Report {
        task,
        attempt,
        outcome: chapter8::Outcome::Finished,
    }
}

/// The attempt number of a map or reduce assignment (panics, naming `what`, on others).
pub fn attempt_of(assignment: &Assignment, what: &str) -> AttemptId {
    match assignment {
        Assignment::Map { attempt, .. } | Assignment::Reduce { attempt, .. } => *attempt,
        other => panic!("{what}: expected a task, got {other:?}"),
    }
}

const WORDS: &[&str] = &[
    "the",
    "log",
    "is",
    "a",
    "sequence",
    "of",
    "records",
    "leader",
    "follower",
    "term",
    "vote",
    "shard",
    "group",
    "map",
    "reduce",
    "worker",
    "task",
    "attempt",
    "crash",
    "partition",
    "replica",
    "commit",
    "an",
    "and",
    "or",
    "not",
    "Quorum",
    "RAFT",
    "disk",
    "fsync",
    "network",
    "clock",
    "snapshot",
    "index",
    "key",
    "value",
    "banana",
    "ant",
    "1984",
    "42",
];

/// `files` text files of random words, some lines long, some empty, the last line of
/// some without its `\n`.
pub fn corpus(rng: &mut fastrand::Rng, files: usize) -> Vec<Input> {
    (0..files)
        .map(|f| {
            let mut text = String::new();
            for _ in 0..rng.usize(0..60) {
                let words: Vec<&str> = (0..rng.usize(0..9))
                    .map(|_| WORDS[rng.usize(..WORDS.len())])
                    .collect();
                text.push_str(&words.join(if rng.bool() { " " } else { ", " }));
                text.push('\n');
            }
            if rng.bool() {
                text.pop();
            }
            Input::new(format!("doc{f}.txt"), text)
        })
        .collect()
}

/// Users and orders for the join: some users without orders, some orders of unknown
/// users, a few lines that do not parse.
pub fn shop(rng: &mut fastrand::Rng) -> Vec<Input> {
    let users: usize = rng.usize(1..30);
    let mut people = String::new();
    for id in 0..users {
        people.push_str(&format!("u{id},{}\n", WORDS[rng.usize(..WORDS.len())]));
    }
    let mut inputs = vec![Input::new("users.csv", people)];
    for f in 0..rng.usize(1..3) {
        let mut orders = String::new();
        for o in 0..rng.usize(0..40) {
            match rng.usize(0..20) {
                0 => orders.push_str("not,a,number\n"),
                1 => orders.push_str("half a line\n"),
                _ => orders.push_str(&format!(
                    "o{f}-{o},u{},{}\n",
                    rng.usize(0..users + 3),
                    rng.u32(1..5_000)
                )),
            }
        }
        inputs.push(Input::new(format!("orders{f}.csv"), orders));
    }
    inputs
}

/// A job and its input, drawn from `rng`: the four jobs in turn.
pub fn any_job(rng: &mut fastrand::Rng) -> (Box<dyn Job>, Vec<Input>) {
    let files = rng.usize(1..5);
    match rng.usize(0..4) {
        0 => (Box::new(WordCount), corpus(rng, files)),
        1 => (Box::new(InvertedIndex), corpus(rng, files)),
        2 => (
            Box::new(Grep {
                pattern: "an".into(),
            }),
            corpus(rng, files),
        ),
        _ => (Box::new(Join), shop(rng)),
    }
}

/// A job by its name (as `chapter8 worker --job-name` takes it) and its input, drawn
/// from `rng`.
pub fn any_job_named(rng: &mut fastrand::Rng) -> (String, Vec<Input>) {
    let files = rng.usize(1..5);
    match rng.usize(0..4) {
        0 => ("wordcount".into(), corpus(rng, files)),
        1 => ("index".into(), corpus(rng, files)),
        2 => ("grep:an".into(), corpus(rng, files)),
        _ => ("join".into(), shop(rng)),
    }
}

/// Every check a finished simulated job must pass, the timeline added to a failure.
pub fn check_job(ran: &Ran, expected: &[String]) -> Result<(), String> {
    let events = ran.coordinator.events();
    let explain = |problem: String| Err(format!("{problem}\n{}", timeline(events)));
    if ran.finished_at.is_none() {
        return explain(format!(
            "the job did not finish: {} of {} maps and {} of {} reduces done at the end",
            ran.coordinator.maps_done(),
            ran.coordinator.spec().maps,
            ran.coordinator.reduces_done(),
            ran.coordinator.spec().reduces
        ));
    }
    if let Err(problem) = attempts_are_explained(events, ran.coordinator.spec()) {
        return explain(problem);
    }
    for (r, want) in expected.iter().enumerate() {
        match &ran.outputs[r] {
            Some(got) if got == want => {}
            Some(got) => {
                return explain(format!(
                    "output file {r} differs from the sequential run's:\n  got:  {got:?}\n  want: {want:?}"
                ));
            }
            None => {
                return explain(format!(
                    "output file {r} is missing: no committed attempt of reduce {r} wrote it"
                ));
            }
        }
    }
    if !ran.all_exited {
        return explain(format!(
            "the job was done at {} ms but at {} ms not every worker had exited (once every \
             reduce is done, a worker asking for work is told to exit; one that never asks is \
             still busy with an attempt):\n  {}",
            ran.finished_at.unwrap_or_default(),
            ran.ended_at,
            ran.not_exited.join("\n  ")
        ));
    }
    Ok(())
}

/// Walks the timeline: every attempt started is explained (the task was idle, or it
/// is a backup of a task with one attempt running, near the end of its phase), reduces
/// start only after every map is done, and a task is committed at most once until its
/// output is lost; every reduce is committed exactly once.
pub fn attempts_are_explained(events: &[Event], spec: Spec) -> Result<(), String> {
    let (maps, backups) = (spec.maps, spec.backups);
    let mut running: BTreeMap<TaskId, BTreeMap<AttemptId, String>> = BTreeMap::new();
    let mut done: BTreeSet<TaskId> = BTreeSet::new();
    let mut reduce_commits: BTreeMap<usize, usize> = BTreeMap::new();
    for event in events {
        match event {
            Event::Started {
                at,
                task,
                attempt,
                backup,
                worker,
            } => {
                let live = running.entry(*task).or_default();
                if task.kind == Kind::Reduce
                    && done.iter().filter(|t| t.kind == Kind::Map).count() < maps
                {
                    return Err(format!(
                        "at {at} ms reduce {} started (attempt #{attempt}) before every map was done: a reduce needs every map's output (exercise 8.2)",
                        task.index
                    ));
                }
                if *backup {
                    let total = if task.kind == Kind::Map {
                        maps
                    } else {
                        spec.reduces
                    };
                    let left = total - done.iter().filter(|t| t.kind == task.kind).count();
                    if left > backup_window(total) {
                        return Err(format!(
                            "at {at} ms a backup of {task} (attempt #{attempt}) started with {left} of the phase's {total} tasks left: backups start only near a phase's end, with at most {} left (exercise 8.5)",
                            backup_window(total)
                        ));
                    }
                    if live.values().any(|w| w == worker) {
                        return Err(format!(
                            "at {at} ms a backup of {task} (attempt #{attempt}) started on {worker}, which runs the attempt it backs up: a backup runs on another worker (exercise 8.5)"
                        ));
                    }
                    if !backups || live.len() != 1 || done.contains(task) {
                        return Err(format!(
                            "at {at} ms a backup of {task} (attempt #{attempt}) started on {worker} while it had {} attempts running{}{}: a backup is a second copy of a task with one attempt running, not done (exercise 8.5)",
                            live.len(),
                            if done.contains(task) {
                                " and was done"
                            } else {
                                ""
                            },
                            if backups { "" } else { ", with backups off" }
                        ));
                    }
                } else if !live.is_empty() || done.contains(task) {
                    return Err(format!(
                        "at {at} ms {task} started again (attempt #{attempt}, on {worker}) while it was {}: only an idle task is handed out, or the task runs more often than failures and backups explain (exercise 8.2)",
                        if done.contains(task) {
                            "done"
                        } else {
                            "in progress"
                        }
                    ));
                }
                live.insert(*attempt, worker.clone());
            }
            Event::Committed { at, task, attempt } => {
                if running.entry(*task).or_default().remove(attempt).is_none() {
                    return Err(format!(
                        "at {at} ms {task} committed attempt #{attempt}, which was not running (exercise 8.4)"
                    ));
                }
                if !done.insert(*task) {
                    return Err(format!(
                        "at {at} ms {task} was committed a second time (attempt #{attempt}): a task's result is one attempt's, and it is counted once (exercise 8.4)"
                    ));
                }
                if task.kind == Kind::Reduce {
                    *reduce_commits.entry(task.index).or_default() += 1;
                }
            }
            Event::Ended { task, attempt, .. } => {
                running.entry(*task).or_default().remove(attempt);
            }
            Event::OutputLost { map, .. } => {
                done.remove(&TaskId::map(*map));
            }
            Event::WorkerLost { .. } => {}
        }
    }
    for r in 0..spec.reduces {
        let commits = reduce_commits.get(&r).copied().unwrap_or(0);
        if commits != 1 {
            return Err(format!(
                "reduce {r} was committed {commits} times: a finished job commits every reduce \
                 exactly once (exercise 8.4)"
            ));
        }
    }
    Ok(())
}
