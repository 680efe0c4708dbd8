//! Exercise 4.3: where a request goes: served, forwarded, waited for, or refused.

use chapter4::ClusterClient;
use chapter4::membership::{MAX_HOPS, Membership, Route};
use chapter4::ring::Placement;

use crate::common::{CONSISTENT, TestCluster, get, put, random_keys, ring};

#[test]
fn ex3_a_key_this_node_owns_is_served_here_and_any_other_is_forwarded_to_its_owner() {
    let ring = ring(1, CONSISTENT, 3);
    let me = Membership::founding(2, ring.clone());
    for key in random_keys(4, 300) {
        let owner = ring.owner(&key).expect("an owner").clone();
        let route = me.route(&key, 0);
        if owner.id == 2 {
            assert_eq!(route, Route::Local, "node 2 owns {key:?}");
        } else {
            assert_eq!(route, Route::Forward(owner), "node 2 does not own {key:?}");
        }
    }
}

#[test]
fn ex3_a_request_forwarded_too_often_is_refused_not_passed_on() {
    let ring = ring(1, CONSISTENT, 3);
    let me = Membership::founding(1, ring.clone());
    let key = random_keys(5, 100)
        .into_iter()
        .find(|k| ring.owner(k).is_some_and(|m| m.id != 1))
        .expect("some key owned elsewhere");
    assert!(
        matches!(me.route(&key, MAX_HOPS - 1), Route::Forward(_)),
        "a request one hop short of MAX_HOPS is still forwarded"
    );
    assert_eq!(
        me.route(&key, MAX_HOPS),
        Route::TooManyHops { hops: MAX_HOPS },
        "nodes that disagree about the ring must not bounce a request forever"
    );
}

#[test]
fn ex3_a_request_that_reached_its_owner_is_served_however_many_hops_it_took() {
    let ring = ring(1, CONSISTENT, 3);
    let me = Membership::founding(1, ring.clone());
    let key = random_keys(5, 100)
        .into_iter()
        .find(|k| ring.owner(k).is_some_and(|m| m.id == 1))
        .expect("some key owned by node 1");
    for hops in [MAX_HOPS, MAX_HOPS + 5] {
        assert_eq!(
            me.route(&key, hops),
            Route::Local,
            "the hop limit stops forwarding, not serving: a request that reached the owner \
             of {key:?} after {hops} hops is served there"
        );
    }
}

#[test]
fn ex3_a_node_outside_any_cluster_says_so() {
    let me = Membership::new(9, Placement::ModN);
    assert_eq!(
        me.route("anything", 0),
        Route::NoCluster,
        "a node outside any cluster answers NoCluster rather than guessing an owner"
    );
}

#[test]
fn ex3_a_key_still_moving_here_waits_until_its_pull_is_done() {
    let before = ring(1, CONSISTENT, 3);
    let after = ring(2, CONSISTENT, 4);
    let key = random_keys(6, 500)
        .into_iter()
        .find(|k| after.owner(k).is_some_and(|m| m.id == 4))
        .expect("node 4 gains some key");
    let old_owner = before.owner(&key).expect("an owner").id;
    // Node 4 mid-change: the new ring installed, the pull from the old owner not done.
    // Built as `cluster.json` restores it, not by installing the change: working out
    // what to pull is exercise 4.5's, and 4.3's tests must not need it.
    let mut newcomer: Membership = serde_json::from_value(serde_json::json!({
        "me": 4,
        "ring": after,
        "previous": before,
        "pending": [old_owner],
    }))
    .expect("a membership reads back from JSON, as from cluster.json");
    assert_eq!(
        newcomer.route(&key, 0),
        Route::Wait { from: old_owner },
        "node 4 owns {key:?} but has not pulled it from node {old_owner} yet: serving now \
         would answer from an empty store"
    );
    newcomer.pulled(old_owner);
    assert_eq!(
        newcomer.route(&key, 0),
        Route::Local,
        "once the pull from node {old_owner} is done, node 4 serves {key:?} itself"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex3_any_node_serves_any_key_forwarding_it_in_one_hop() {
    let cluster = TestCluster::start(3, CONSISTENT);
    let ring = crate::common::view(&cluster.url(1)).await.ring;
    let keys = random_keys(7, 30);
    for (i, key) in keys.iter().enumerate() {
        let entry = cluster.url(1 + (i % 3) as u64);
        put(&entry, key, &format!("v{i}")).await;
    }
    for (i, key) in keys.iter().enumerate() {
        let owner = ring.owner(key).expect("an owner").id;
        for id in 1..=3 {
            let answer = get(&cluster.url(id), key).await;
            assert_eq!(
                answer.status, 200,
                "GET {key} at node {id}: {}",
                answer.body
            );
            assert_eq!(
                answer.body["value"],
                format!("v{i}"),
                "GET {key} at node {id} returns the last value written, wherever the request entered"
            );
            assert_eq!(
                answer.served_by,
                Some(owner),
                "only the owner serves {key:?}"
            );
            let hops = if id == owner { 0 } else { 1 };
            assert_eq!(
                answer.hops,
                Some(hops),
                "GET {key} entered at node {id}, owned by node {owner}"
            );
        }
    }
    // A client that routes by the map reaches the owner with no hop at all.
    let routed = ClusterClient::connect(&cluster.url(1))
        .await
        .expect("the map");
    for key in &keys {
        let owner = ring.owner(key).expect("an owner");
        assert_eq!(
            routed.client_for(key).base(),
            owner.url,
            "{key:?} goes to its owner"
        );
        let answer = get(&owner.url, key).await;
        assert_eq!(
            answer.hops,
            Some(0),
            "a client that routes by the map reaches the owner of {key:?} directly, with no hop"
        );
    }
    cluster.stop().await;
}

#[test]
fn ex3_keys_this_node_owned_before_the_change_are_served_while_it_pulls() {
    // Node 4 left: node 1 is pulling the keys it gains from node 4, and still owns the
    // keys it owned before. Built as `cluster.json` restores it (see above).
    let before = ring(1, CONSISTENT, 4);
    let after = ring(2, CONSISTENT, 3);
    let stayer: Membership = serde_json::from_value(serde_json::json!({
        "me": 1,
        "ring": after,
        "previous": before,
        "pending": [4],
    }))
    .expect("a membership reads back from JSON, as from cluster.json");
    let keys = random_keys(6, 2_000);
    let kept = keys
        .iter()
        .find(|k| before.owner(k).is_some_and(|m| m.id == 1))
        .expect("node 1 owned some key before");
    let gained = keys
        .iter()
        .find(|k| {
            before.owner(k).is_some_and(|m| m.id == 4) && after.owner(k).is_some_and(|m| m.id == 1)
        })
        .expect("node 1 gains some key from node 4");
    assert_eq!(
        stayer.route(kept, 0),
        Route::Local,
        "node 1 owned {kept:?} before the change and still has it: a pull from node 4 \
         holds up only the keys that come from node 4"
    );
    assert_eq!(
        stayer.route(gained, 0),
        Route::Wait { from: 4 },
        "{gained:?} is on its way from node 4: it waits until that pull is done"
    );
}
