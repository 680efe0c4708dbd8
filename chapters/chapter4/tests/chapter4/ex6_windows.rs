//! Exercise 4.6, between its steps: a new owner pulls from a stand-in old owner that the
//! test scripts ([`crate::old_owner`]), so a failure, a crash or a client write lands
//! exactly between two steps of the pull (ask for the keys / store them / serve them /
//! let the old owner release them). Wherever it lands, no key is lost and none goes
//! back in time. Where the window is inside node 2 (just after it marks the pull done),
//! the test holds node 2 there ([`chapter4::holds`]).

use std::sync::atomic::Ordering;

use tokio::sync::watch;

use chapter4::holds::{Hold, Holds, Step};

use crate::common::{PATIENCE, TestCluster, get, put, status};
use crate::old_owner::{OldOwner, Script, pull_from};

/// Node 2 serves every moved key with the value and version it arrived with.
async fn serves_every_key(old: &OldOwner, when: &str) {
    for (key, value, version) in &old.keys {
        let answer = get(&old.new_owner, key).await;
        assert_eq!(
            (
                answer.status,
                answer.body["value"].as_str(),
                answer.body["version"].as_u64()
            ),
            (200, Some(value.as_str()), Some(*version)),
            "{when}: node 2 serves moved key {key} with the value and version it arrived with"
        );
    }
}

/// Node 2 pulling from a stand-in that refuses `failed_handoffs` handoffs and
/// `failed_releases` releases, and holds every release while the sender says `false`
/// (`held`: it starts so); returns once node 2 has asked for its first release.
async fn until_release(
    failed_handoffs: usize,
    failed_releases: usize,
    held: bool,
) -> (TestCluster, OldOwner, watch::Sender<bool>) {
    let mut cluster = TestCluster {
        dir: tempfile::tempdir().expect("a temporary directory"),
        nodes: Vec::new(),
    };
    let (go, hold_release) = watch::channel(!held);
    let script = Script {
        failed_handoffs,
        failed_releases,
        hold_release,
        ..Script::answering()
    };
    let old = pull_from(&mut cluster, script).await;
    old.until_release_asked().await;
    (cluster, old, go)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex6_a_failed_handoff_is_asked_again_and_a_failed_release_loses_nothing() {
    let (cluster, old, _go) = until_release(2, usize::MAX, false).await;
    assert!(
        old.handoffs.load(Ordering::SeqCst) >= 3,
        "two refused handoffs, then one answered: the pull asks again until it gets the keys"
    );
    serves_every_key(&old, "after its release was refused").await;
    assert_eq!(
        status(&old.new_owner).await.pending,
        Vec::<u64>::new(),
        "a refused release leaves a copy at the old owner, and nothing pending here"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex6_a_write_after_the_keys_are_served_and_before_the_release_is_kept() {
    let (cluster, old, go) = until_release(0, 0, true).await;
    // The release is held at the old owner: a client writes a moved key meanwhile.
    let (key, _, moved) = &old.keys[0];
    let version = put(&old.new_owner, key, "written during the release").await;
    assert!(
        version > *moved,
        "a write to a moved key continues its versions ({version} after {moved})"
    );
    go.send_replace(true);
    let answer = get(&old.new_owner, key).await;
    assert_eq!(
        (
            answer.body["value"].as_str(),
            answer.body["version"].as_u64()
        ),
        (Some("written during the release"), Some(version)),
        "the write made between serving the keys and the old owner's release stays"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex6_a_crash_before_the_release_loses_no_key_and_the_pull_is_not_redone() {
    let (mut cluster, old, _go) = until_release(0, 0, true).await;
    // The keys are stored and served, the release is in flight: power goes.
    let handoffs = old.handoffs.load(Ordering::SeqCst);
    let node = cluster.node_mut(2);
    node.crash();
    node.restart().await.expect("node 2 restarts");
    serves_every_key(&old, "after a crash just before the release").await;
    assert_eq!(
        (
            status(&old.new_owner).await.pending,
            old.handoffs.load(Ordering::SeqCst)
        ),
        (Vec::<u64>::new(), handoffs),
        "what node 2 stored and marked served before it asked for the release survives a \
         crash: nothing is pending and the keys are not pulled again"
    );
    cluster.stop().await;
}

/// Node 2 pulling from a stand-in that answers at once, held just after it marks the pull
/// done (the moved keys served from then on).
async fn held_after_pulled() -> (TestCluster, OldOwner, Hold) {
    let mut cluster = TestCluster {
        dir: tempfile::tempdir().expect("a temporary directory"),
        nodes: Vec::new(),
    };
    let holds = Holds::default();
    let mut hold = holds.arm(Step::Pulled);
    let old = pull_from(
        &mut cluster,
        Script {
            holds,
            ..Script::answering()
        },
    )
    .await;
    assert!(
        hold.reached(PATIENCE).await,
        "node 2 marks its pull from node 1 done (Node::mark_pulled) within {PATIENCE:?}; \
         {} handoff(s) asked",
        old.handoffs.load(Ordering::SeqCst)
    );
    (cluster, old, hold)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex6_a_write_served_once_the_pull_is_marked_done_is_not_overwritten_by_it() {
    let (cluster, old, hold) = held_after_pulled().await;
    // Node 2 serves the moved keys from now on: a client writes one.
    let (key, _, _) = &old.keys[0];
    let version = put(&old.new_owner, key, "written once served").await;
    hold.release();
    old.until_release_asked().await;
    let answer = get(&old.new_owner, key).await;
    assert_eq!(
        (
            answer.body["value"].as_str(),
            answer.body["version"].as_u64()
        ),
        (Some("written once served"), Some(version)),
        "a write node 2 acknowledged once it served the moved key stays: store the pulled \
         keys before marking the pull done, or storing them later overwrites what clients \
         wrote in between"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex6_a_crash_just_after_the_pull_is_marked_done_loses_no_key() {
    let (mut cluster, old, hold) = held_after_pulled().await;
    // The pull is recorded as done, durably: power goes.
    let node = cluster.node_mut(2);
    node.crash();
    drop(hold);
    node.restart().await.expect("node 2 restarts");
    serves_every_key(
        &old,
        "after a crash just after node 2 marked its pull done (a done pull is never redone, \
         so its keys must be durable here before it is marked done)",
    )
    .await;
    cluster.stop().await;
}
