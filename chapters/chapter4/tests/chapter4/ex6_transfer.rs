//! Exercise 4.6: handing keys over and pulling them in.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use chapter4::api::HandoffResponse;
use chapter4::membership::Change;
use chapter4::ring::{Member, Ring};
use chapter4::transfer::owned_by;

use crate::common::{
    CONSISTENT, PATIENCE, TestCluster, call, get, join, leave, put, status, view, wait_keys,
};
use crate::old_owner::{Script, pull_from};

/// Writes `n` keys through node 1; returns key -> version.
async fn fill(cluster: &TestCluster, n: usize) -> BTreeMap<String, u64> {
    let mut versions = BTreeMap::new();
    for i in 0..n {
        let key = format!("key-{i}");
        versions.insert(
            key.clone(),
            put(&cluster.url(1), &key, &format!("v{i}")).await,
        );
    }
    versions
}

/// Every key is readable through every node listed, with its value and version.
async fn assert_all_there(cluster: &TestCluster, ids: &[u64], versions: &BTreeMap<String, u64>) {
    for (i, (key, version)) in versions.iter().enumerate() {
        let id = ids[i % ids.len()];
        let answer = get(&cluster.url(id), key).await;
        assert_eq!(
            answer.status, 200,
            "GET {key} through node {id}: {}",
            answer.body
        );
        let value = format!("v{}", key.trim_start_matches("key-"));
        assert_eq!(answer.body["value"], value.as_str(), "{key}");
        assert_eq!(
            answer.body["version"].as_u64(),
            Some(*version),
            "{key} keeps its version when it moves"
        );
    }
}

fn owned(ring: &Ring, id: u64, versions: &BTreeMap<String, u64>) -> usize {
    versions
        .keys()
        .filter(|k| ring.owner(k).is_some_and(|m| m.id == id))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex6_a_joining_node_receives_its_keys_and_the_old_owners_let_go_of_them() {
    let mut cluster = TestCluster::start(3, CONSISTENT);
    let versions = fill(&cluster, 200).await;
    let url = cluster.start_outside(4);
    let settled = join(&cluster.url(1), 4, &url).await;
    assert_eq!(
        settled.ring.epoch(),
        2,
        "the join makes epoch 2, one after the founding ring"
    );
    assert!(
        settled.pending.is_empty(),
        "the join returns only once every pull it caused is done: {:?}",
        settled.pending
    );
    let ring = settled.ring;
    let gained = owned(&ring, 4, &versions);
    assert!(gained > 0, "node 4 owns some of the 200 keys");
    assert_eq!(
        status(&url).await.keys,
        gained,
        "the join returned: every key node 4 owns is on node 4"
    );
    for id in 1..=3 {
        wait_keys(
            &cluster.url(id),
            owned(&ring, id, &versions),
            &format!("node {id} to release the keys it handed over"),
        )
        .await;
    }
    assert_all_there(&cluster, &[1, 2, 3, 4], &versions).await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex6_a_leaving_node_hands_every_key_to_the_others() {
    let cluster = TestCluster::start(4, CONSISTENT);
    let versions = fill(&cluster, 200).await;
    let settled = leave(&cluster.url(1), 2).await;
    assert!(
        settled.ring.member(2).is_none(),
        "after the leave, node 2 is no longer in the ring"
    );
    wait_keys(&cluster.url(2), 0, "node 2 to release every key").await;
    for id in [1, 3, 4] {
        assert_eq!(
            status(&cluster.url(id)).await.keys,
            owned(&settled.ring, id, &versions),
            "node {id} holds exactly what it owns"
        );
    }
    // Node 2 is out of the ring but still running: it forwards what it receives.
    assert_all_there(&cluster, &[2, 1, 3, 4], &versions).await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex6_a_moved_key_keeps_growing_its_version_on_its_new_owner() {
    let mut cluster = TestCluster::start(2, CONSISTENT);
    let versions = fill(&cluster, 60).await;
    let url = cluster.start_outside(3);
    let ring = join(&cluster.url(1), 3, &url).await.ring;
    let (key, version) = versions
        .iter()
        .find(|(k, _)| ring.owner(k).is_some_and(|m| m.id == 3))
        .expect("node 3 gained a key");
    let newer = put(&url, key, "rewritten").await;
    assert!(
        newer > *version,
        "{key} was at version {version} on its old owner; a write on its new owner must \
         go higher, got {newer}"
    );
    assert_eq!(
        view(&url).await.ring.epoch(),
        2,
        "node 3 joined at epoch 2, one after the founding ring"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex6_a_restarted_node_keeps_its_ring_and_the_keys_it_gained() {
    let mut cluster = TestCluster::start(2, CONSISTENT);
    let versions = fill(&cluster, 60).await;
    let url = cluster.start_outside(3);
    let ring = join(&cluster.url(1), 3, &url).await.ring;
    let gained = owned(&ring, 3, &versions);
    cluster.node_mut(3).crash();
    cluster
        .node_mut(3)
        .restart()
        .await
        .expect("node 3 restarts");
    assert_eq!(view(&url).await.ring, ring, "the ring survives a crash");
    assert_eq!(status(&url).await.keys, gained, "so do the keys it pulled");
    assert_all_there(&cluster, &[3, 1, 2], &versions).await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex6_a_release_never_removes_what_the_node_itself_owns_or_what_an_old_ring_said() {
    let cluster = TestCluster::start(3, CONSISTENT);
    let versions = fill(&cluster, 60).await;
    let ring = view(&cluster.url(2)).await.ring;
    let own = owned(&ring, 2, &versions);
    assert!(own > 0, "node 2 owns some of the 60 keys");
    let url = format!("{}/internal/release", cluster.url(2));
    for (epoch, to, what) in [
        (ring.epoch(), 2, "a release naming node 2 itself"),
        (ring.epoch() - 1, 1, "a release for an older ring"),
        (
            ring.epoch() + 1,
            3,
            "a release for a ring node 2 has not seen",
        ),
    ] {
        let body = serde_json::json!({ "epoch": epoch, "to": to });
        let answer = crate::common::call(reqwest::Method::POST, &url, Some(body))
            .await
            .expect("an answer");
        assert_eq!(
            (answer.status, answer.body["removed"].as_u64()),
            (200, Some(0)),
            "{what} removes nothing: {}",
            answer.body
        );
    }
    assert_eq!(
        status(&cluster.url(2)).await.keys,
        own,
        "node 2 still has its keys"
    );
    assert_all_there(&cluster, &[1, 2, 3], &versions).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex6_the_old_owner_installs_the_change_before_it_hands_keys_over() {
    let mut cluster = TestCluster::start(2, CONSISTENT);
    let versions = fill(&cluster, 60).await;
    let url = cluster.start_outside(3);
    let from = view(&cluster.url(1)).await.ring;
    let to = from
        .with_member(Member { id: 3, url })
        .expect("a valid ring");
    // Node 3's side of a pull, played by hand: ask node 1 for what node 3 gains from it.
    let change = Change {
        from: from.clone(),
        to: to.clone(),
    };
    let answer = call(
        reqwest::Method::POST,
        &format!("{}/internal/handoff", cluster.url(1)),
        Some(serde_json::json!({ "change": change, "to": 3 })),
    )
    .await
    .unwrap_or_else(|e| panic!("POST /internal/handoff at node 1: {e:#}"));
    assert_eq!(
        answer.status, 200,
        "a handoff for the next epoch is answered: {}",
        answer.body
    );
    let handed: HandoffResponse = serde_json::from_value(answer.body).expect("a handoff response");
    let mut got: Vec<&str> = handed.entries.iter().map(|e| e.key.as_str()).collect();
    got.sort_unstable();
    let expected: Vec<&str> = versions
        .keys()
        .filter(|k| owned_by(&from, k, 1) && owned_by(&to, k, 3))
        .map(String::as_str)
        .collect();
    assert!(!expected.is_empty(), "node 3 gains some keys from node 1");
    assert_eq!(
        (handed.epoch, got),
        (to.epoch(), expected),
        "node 1 hands over, under the new epoch, exactly the keys it owned that node 3 gains"
    );
    assert_eq!(
        view(&cluster.url(1)).await.ring,
        to,
        "the old owner installs the change before it hands keys over: from then on it \
         forwards them to node 3, instead of accepting writes it would lose on release"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex6_the_new_owner_stores_and_serves_the_keys_before_it_lets_the_old_owner_release_them() {
    let mut cluster = TestCluster {
        dir: tempfile::tempdir().expect("a temporary directory"),
        nodes: Vec::new(),
    };
    let old = pull_from(&mut cluster, Script::answering()).await;
    let at_release = old.until_release_asked().await;
    assert_eq!(
        (at_release.keys, at_release.pending),
        (old.keys.len(), vec![]),
        "when it tells the old owner to release, the new owner already holds every key it \
         was handed ({} keys), durably, and serves them (no pull pending): released too \
         early, a crash or a full disk loses them (keys held, pulls pending)",
        old.keys.len()
    );
    let answer = get(&old.new_owner, &old.keys[0].0).await;
    assert_eq!(
        (
            answer.status,
            answer.body["value"].as_str(),
            answer.body["version"].as_u64()
        ),
        (200, Some("moved 0"), Some(10)),
        "node 2 serves a pulled key with the value and version it arrived with: {}",
        answer.body
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex6_keys_handed_over_for_another_epoch_are_refused() {
    let mut cluster = TestCluster {
        dir: tempfile::tempdir().expect("a temporary directory"),
        nodes: Vec::new(),
    };
    // The change makes epoch 2; the old owner answers as if for epoch 3.
    let script = Script {
        epoch: Some(3),
        ..Script::answering()
    };
    let old = pull_from(&mut cluster, script).await;
    harness::eventually(PATIENCE, "node 2 to ask for its keys again", || async {
        let asked = old.handoffs.load(Ordering::SeqCst);
        let released = old.status_at_release().is_some();
        if asked >= 2 || released {
            Ok(())
        } else {
            Err(format!("{asked} handoff(s) asked"))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let now = status(&old.new_owner).await;
    let released = old.status_at_release().is_some();
    assert_eq!(
        (now.keys, now.pending, released),
        (0, vec![1], false),
        "keys handed over for epoch 3 are not the keys the change to epoch 2 moves: the new \
         owner stores none of them, keeps the pull pending and releases nothing (keys held, \
         pulls pending, released)"
    );
    cluster.stop().await;
}
