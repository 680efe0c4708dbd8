//! Exercise 7.8: the controller's loop, against a fake store over HTTP (`fake.rs`) whose
//! faults each test sets: a pending change left by a crashed controller, a competitor's
//! proposal, a lost answer, a group that does not answer for a while.

use std::time::{Duration, Instant};

use chapter7::{Change, Configuration};

use crate::common::SHARDS;
use crate::fake::Fake;

/// How long a test lets a controller work before it gives up.
const DEADLINE: Duration = Duration::from_secs(5);

/// A fake whose groups `ids` are set up, group 1 joined (and serving every shard).
async fn fake_with_group_1(ids: &[u64]) -> Fake {
    let fake = Fake::start(ids).await;
    let join = fake.join(&[1]);
    fake.with(|inner| inner.world.change(join));
    fake
}

/// Runs `change` with a fresh controller; the configuration it returns, or a panic that
/// says which rule the run broke, with what the fake heard.
async fn change(fake: &Fake, change: &Change, rule: &str) -> Configuration {
    let mut controller = fake.controller(DEADLINE);
    match tokio::time::timeout(DEADLINE * 2, controller.change(change)).await {
        Ok(Ok(config)) => config,
        Ok(Err(e)) => panic!(
            "{rule}\nthe controller gave up: {e:#}\nwhat the fake heard:\n{}",
            fake.transcript()
        ),
        Err(_) => panic!(
            "{rule}\nthe controller did not return within {:?}\nwhat the fake heard:\n{}",
            DEADLINE * 2,
            fake.transcript()
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex8_a_pending_change_left_by_a_crashed_controller_is_finished_before_yours() {
    let fake = fake_with_group_1(&[1, 2, 3]).await;
    // A controller proposed group 2's join and crashed before it moved anything.
    let theirs = fake.join(&[2]);
    let pending = fake.with(|inner| inner.world.propose(theirs));
    let made = change(
        &fake,
        &fake.join(&[3]),
        "a controller that finds a change pending carries it out before it proposes its own \
         (the service takes nothing new while a change is moving)",
    )
    .await;
    assert_eq!(
        made.num,
        pending.num + 1,
        "your change comes after the pending one, numbered one more: it was made on the \
         configuration the pending change led to\nwhat the fake heard:\n{}",
        fake.transcript()
    );
    let heard = fake.heard();
    let first_proposal = heard
        .iter()
        .position(|h| h.op.starts_with("propose"))
        .expect("the controller proposed its change");
    let finished = heard
        .iter()
        .position(|h| h.op == format!("finish {}", pending.num));
    assert!(
        finished.is_some_and(|f| f < first_proposal),
        "the pending configuration {} is finished before any proposal is sent (a proposal \
         while one moves is refused, and this one's shards would wait)\nwhat the fake \
         heard:\n{}",
        pending.num,
        fake.transcript()
    );
    fake.with(|inner| {
        assert_eq!(
            inner.world.service.latest(),
            &made,
            "your change is in effect"
        );
        assert!(
            inner.world.service.latest().groups.contains_key(&2),
            "the crashed controller's change (group 2 joins) is in effect too"
        );
        inner.world.assert_settled();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex8_a_refused_proposal_reads_again_and_proposes_on_the_latest() {
    let fake = fake_with_group_1(&[1, 2, 3]).await;
    // Another controller's proposal reaches the service just before yours.
    let competitor = fake.join(&[2]);
    fake.with(|inner| inner.faults.competitor = Some(competitor));
    let made = change(
        &fake,
        &fake.join(&[3]),
        "a proposal refused because another controller moved first is not a failure: the \
         controller reads the service again (finishing the other's change) and proposes on \
         the latest configuration",
    )
    .await;
    assert_eq!(
        made.num,
        3,
        "group 1's join was 1, the competitor's 2: yours is 3\nwhat the fake heard:\n{}",
        fake.transcript()
    );
    fake.with(|inner| {
        let latest = inner.world.service.latest();
        assert!(
            [1, 2, 3].iter().all(|g| latest.groups.contains_key(g)),
            "both controllers' changes are in effect: {:?}",
            latest.groups.keys()
        );
        inner.world.assert_settled();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex8_a_proposal_whose_answer_was_lost_is_carried_out_not_made_twice() {
    let fake = fake_with_group_1(&[1, 2]).await;
    fake.with(|inner| inner.faults.lose_proposals = 1);
    let made = change(
        &fake,
        &fake.join(&[2]),
        "a proposal whose answer was lost may have been taken: the controller finds it \
         pending (or in effect) when it reads again, carries it out, and returns it, instead \
         of failing or proposing it again",
    )
    .await;
    assert_eq!(
        made.num,
        2,
        "the one configuration this change made is 2\nwhat the fake heard:\n{}",
        fake.transcript()
    );
    fake.with(|inner| {
        assert_eq!(
            inner.world.service.latest(),
            &made,
            "the change is in effect, once"
        );
        inner.world.assert_settled();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex8_unanswered_steps_are_sent_again_after_a_pause_that_grows() {
    let fake = fake_with_group_1(&[1, 2]).await;
    let silence = Duration::from_millis(400);
    let start = Instant::now();
    fake.with(|inner| inner.faults.silent = Some((2, start + silence)));
    let made = change(
        &fake,
        &fake.join(&[2]),
        "a step that gets no answer (a group electing a leader) is sent again, round after \
         round, until it is answered",
    )
    .await;
    assert_eq!(made.num, 2, "group 2's join went through");
    let unanswered: Vec<Instant> = fake
        .heard()
        .iter()
        .filter(|h| h.group == Some(2) && !h.applied)
        .map(|h| h.at)
        .collect();
    assert!(
        !unanswered.is_empty(),
        "group 2 was silent for its first {silence:?}: some step went unanswered"
    );
    // Backing off from 5 ms, doubling to 500 ms, makes about seven rounds in 400 ms, each
    // sending one install per shard moving to group 2. Without a pause, a loopback round
    // trip is well under a millisecond: hundreds of rounds.
    let rounds = unanswered.len().div_ceil(SHARDS / 2);
    assert!(
        rounds <= 20,
        "while group 2 was silent for {silence:?} the controller sent it {} unanswered steps \
         (about {rounds} rounds of {} installs): a round with no answer at all is followed by a \
         pause, doubled each time (5 ms up to 500 ms), not an immediate retry that floods \
         a group busy electing a leader\nwhat the fake heard (first 40):\n{}",
        unanswered.len(),
        SHARDS / 2,
        fake.transcript()
            .lines()
            .take(40)
            .collect::<Vec<_>>()
            .join("\n")
    );
    fake.with(|inner| inner.world.assert_settled());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex8_a_change_that_cannot_fit_is_an_error_not_a_retry() {
    let fake = fake_with_group_1(&[1, 2]).await;
    let mut controller = fake.controller(DEADLINE);
    let started = Instant::now();
    let result = controller.change(&Change::Leave(vec![7])).await;
    let err = result.expect_err(
        "group 7 never joined: its leaving cannot fit any configuration, and the \
         controller says so instead of returning a configuration",
    );
    assert!(
        started.elapsed() < DEADLINE,
        "a change that does not fit the latest configuration is an error at once (the \
         service's own rule, `next_config`), not retried until the deadline: {err:#}"
    );
    let proposals = fake
        .heard()
        .iter()
        .filter(|h| h.op.starts_with("propose"))
        .count();
    assert_eq!(
        proposals,
        0,
        "a change that cannot fit is never proposed\nwhat the fake heard:\n{}",
        fake.transcript()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex8_a_change_someone_else_made_is_an_error_not_yours() {
    let fake = fake_with_group_1(&[1, 2]).await;
    let theirs = fake.join(&[2]);
    fake.with(|inner| inner.world.change(theirs));
    let mut controller = fake.controller(DEADLINE);
    let result = controller.change(&fake.join(&[2])).await;
    assert!(
        result.is_err(),
        "group 2 had joined before this controller ran: its join does not fit the latest \
         configuration and is an error (the service's own rule, `next_config`). Only a \
         change this controller proposed itself, and whose answer was lost, may be found in \
         effect and returned as made: remember that you sent it. Returned: {result:?}\nwhat \
         the fake heard:\n{}",
        fake.transcript()
    );
    let proposals = fake
        .heard()
        .iter()
        .filter(|h| h.op.starts_with("propose"))
        .count();
    assert_eq!(proposals, 0, "a change that cannot fit is never proposed");
}
