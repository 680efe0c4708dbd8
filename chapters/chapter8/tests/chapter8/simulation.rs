//! Whole jobs in the simulator, under failures: every output file equals a sequential
//! run's, byte for byte, and every attempt is explained. These need every exercise.

use harness::runs::check_seeds;

use chapter8::{Event, Kind, WordCount, sequential};

use crate::common::{any_job, check_job, corpus};
use crate::sim::{Faults, Setup, WORKER_TIMEOUT, run};
use crate::timeline::timeline;

/// A job drawn from `seed`, with faults drawn from it too.
fn faulty(seed: u64) -> Setup {
    let mut rng = fastrand::Rng::with_seed(seed);
    let (job, inputs) = any_job(&mut rng);
    let workers = rng.usize(1..7);
    let mut faults = Faults {
        delay: (1, rng.u64(2..40)),
        loss: [0.0, 0.02, 0.1][rng.usize(0..3)],
        duplicate: [0.0, 0.05, 0.2][rng.usize(0..3)],
        straggler: rng.bool().then(|| rng.usize(0..workers)),
        ..Faults::default()
    };
    for _ in 0..rng.usize(0..4) {
        faults
            .crashes
            .push((rng.u64(0..3_000), rng.usize(0..workers), rng.u64(50..1_500)));
    }
    for _ in 0..rng.usize(0..3) {
        faults
            .failovers
            .push((rng.u64(0..3_000), rng.u64(50..1_200)));
    }
    Setup {
        job,
        inputs,
        split_bytes: rng.usize(20..300),
        reduces: rng.usize(1..6),
        workers,
        backups: rng.bool(),
        map_cost: rng.u64(5..60),
        reduce_cost: rng.u64(5..60),
        faults,
    }
}

fn expected(setup: &Setup) -> Vec<String> {
    sequential(
        setup.job.as_ref(),
        &setup.inputs,
        setup.split_bytes,
        setup.reduces,
    )
}

#[test]
fn chapter_every_job_matches_a_sequential_run_under_failures() {
    check_seeds(0..2_000, |seed| {
        let setup = faulty(seed);
        let ran = run(&setup, seed);
        check_job(&ran, &expected(&setup)).map_err(|problem| {
            format!(
                "{} job, {} maps, {} reduces, {} workers, backups {}: {problem}",
                setup.job.name(),
                ran.coordinator.spec().maps,
                setup.reduces,
                setup.workers,
                if setup.backups { "on" } else { "off" }
            )
        })
    });
}

/// A word count on four workers, no faults.
fn calm(seed: u64, backups: bool) -> Setup {
    let mut rng = fastrand::Rng::with_seed(seed);
    Setup {
        job: Box::new(WordCount),
        inputs: corpus(&mut rng, 4),
        split_bytes: 150,
        reduces: 4,
        workers: 4,
        backups,
        map_cost: 30,
        reduce_cost: 30,
        faults: Faults {
            delay: (1, 5),
            ..Faults::default()
        },
    }
}

#[test]
fn chapter_the_coordinators_leader_fails_over_at_every_step_of_a_job() {
    // Count the coordinator's commands in a calm run, then fail its leader over right
    // after each one in turn, for longer than a worker's timeout.
    let commands = run(&calm(7, true), 7).commands;
    let runs: Vec<u64> = (1..=commands as u64).collect();
    check_seeds(0..runs.len() as u64, |i| {
        let mut setup = calm(7, true);
        setup.faults.failover_after_command = Some((i as usize + 1, 800));
        let ran = run(&setup, 7);
        check_job(&ran, &expected(&setup)).map_err(|problem| {
            format!(
                "leader lost after command {} of {commands}: {problem}",
                i + 1
            )
        })
    });
}

#[test]
fn chapter_map_and_reduce_tasks_really_run_in_parallel() {
    check_seeds(0..20, |seed| {
        let setup = calm(seed, false);
        let ran = run(&setup, seed);
        check_job(&ran, &expected(&setup))?;
        let events = ran.coordinator.events();
        for kind in [Kind::Map, Kind::Reduce] {
            let (mut now, mut most) = (0_usize, 0_usize);
            for event in events {
                match event {
                    Event::Started { task, .. } if task.kind == kind => now += 1,
                    Event::Committed { task, .. } | Event::Ended { task, .. }
                        if task.kind == kind =>
                    {
                        now -= 1
                    }
                    _ => {}
                }
                most = most.max(now);
            }
            let tasks = match kind {
                Kind::Map => ran.coordinator.spec().maps,
                Kind::Reduce => setup.reduces,
            };
            if most < tasks.min(setup.workers) {
                return Err(format!(
                    "at most {most} {kind:?} tasks ran at once, with {} workers and {tasks} tasks: \
                     every idle worker must get one of the phase's idle tasks\n{}",
                    setup.workers,
                    timeline(events)
                ));
            }
        }
        let started = events
            .iter()
            .filter(|e| matches!(e, Event::Started { .. }))
            .count();
        let tasks = ran.coordinator.spec().maps + setup.reduces;
        if started != tasks {
            return Err(format!(
                "{started} attempts started for {tasks} tasks: with no failure and no backups \
                 every task runs exactly once\n{}",
                timeline(events)
            ));
        }
        Ok(())
    });
}

#[test]
fn chapter_a_crashed_workers_finished_maps_are_done_again() {
    // Worker 0 crashes once it has finished two maps (the first reported and committed,
    // the second not), while reduces still need them, and is slow to come back.
    check_seeds(0..30, |seed| {
        let mut setup = calm(seed, false);
        setup.faults.crash_after_maps = Some((0, 2, 2_000));
        let ran = run(&setup, seed);
        check_job(&ran, &expected(&setup))?;
        let events = ran.coordinator.events();
        if !events
            .iter()
            .any(|e| matches!(e, Event::OutputLost { worker, .. } if worker == "w0.0"))
        {
            return Err(format!(
                "worker w0.0 crashed after finishing two maps while reduces still needed them, \
                 yet no map's output was lost: a lost worker's finished maps must be done again \
                 (exercise 8.2)\n{}",
                timeline(events)
            ));
        }
        Ok(())
    });
}

#[test]
fn chapter_backups_shorten_a_job_held_back_by_a_straggler() {
    let (mut with, mut without) = (0, 0);
    for seed in 0..20 {
        for backups in [true, false] {
            let mut setup = calm(seed, backups);
            setup.faults.straggler = Some((seed % 4) as usize);
            let ran = run(&setup, seed);
            check_job(&ran, &expected(&setup)).unwrap_or_else(|p| panic!("seed {seed}: {p}"));
            let took = ran.finished_at.expect("checked");
            if backups {
                with += took
            } else {
                without += took
            }
        }
    }
    assert!(
        with * 10 < without * 8,
        "20 jobs with one worker ten times slower took {with} ms of virtual time with backups and \
         {without} ms without: backups should save at least a fifth (exercise 8.5)"
    );
}

#[test]
fn chapter_a_coordinator_outage_costs_time_not_workers() {
    // Two of the coordinator's three replicas crash mid-job, for longer than a worker's
    // timeout: no majority, no leader, every heartbeat lost. The leader elected after
    // proposes that it took over, which gives every worker a whole timeout from then:
    // no worker may be taken for lost because the coordinator was silent.
    check_seeds(0..20, |seed| {
        let mut setup = calm(seed, false);
        setup.faults.outage = Some((400, 3 * WORKER_TIMEOUT));
        let ran = run(&setup, seed);
        check_job(&ran, &expected(&setup))?;
        let events = ran.coordinator.events();
        if let Some(lost) = events
            .iter()
            .find(|e| matches!(e, Event::WorkerLost { .. }))
        {
            return Err(format!(
                "{lost:?} after a coordinator outage of {} ms in a job whose workers all ran: \
                 a new leader gives every worker a whole timeout (`Coordinator::took_over`)\n{}",
                3 * WORKER_TIMEOUT,
                timeline(events)
            ));
        }
        Ok(())
    });
}
