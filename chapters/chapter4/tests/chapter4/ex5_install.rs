//! Exercise 4.5: installing a membership change (and the given `last_change` and
//! `is_member`, which report what 4.5 installed).

use chapter4::bench;
use chapter4::membership::{Change, InstallError, Membership};
use chapter4::ring::{Placement, moved_arcs};

use crate::common::{CONSISTENT, ring};

fn change(from: u64, n_from: usize, n_to: usize, placement: Placement) -> Change {
    Change {
        from: ring(from, placement, n_from),
        to: ring(from + 1, placement, n_to),
    }
}

#[test]
fn ex5_a_new_node_pulls_from_every_old_owner_of_an_arc_it_gains() {
    let join = change(1, 3, 4, CONSISTENT);
    let mut newcomer = Membership::new(4, CONSISTENT);
    let installed = newcomer
        .install(&join)
        .expect("a fresh node accepts any change");
    assert!(installed.changed, "a fresh node's first ring is a change");
    let mut expected: Vec<u64> = moved_arcs(&join.from, &join.to)
        .expect("arcs")
        .iter()
        .map(|m| m.from)
        .collect();
    expected.sort_unstable();
    expected.dedup();
    let got: Vec<u64> = installed.pull_from.iter().map(|m| m.id).collect();
    assert_eq!(got, expected, "one pull per old owner, in id order");
    assert_eq!(newcomer.pending(), expected, "each is pending until pulled");
    assert_eq!(
        newcomer.ring(),
        &join.to,
        "after the install the node routes by the change's new ring"
    );
    assert_eq!(
        newcomer.previous(),
        Some(&join.from),
        "the node keeps the ring before the change, to know where keys still are"
    );
}

#[test]
fn ex5_an_old_owner_that_only_loses_keys_pulls_nothing() {
    let join = change(1, 3, 4, CONSISTENT);
    let mut old = Membership::founding(2, join.from.clone());
    let installed = old.install(&join).expect("the next epoch is accepted");
    assert!(
        installed.changed,
        "the next epoch's ring is a change for an old owner too"
    );
    assert!(
        installed.pull_from.is_empty(),
        "node 2 only loses keys to the new node 4: it pulls from nobody (it pulls only from \
         the old owners of arcs that come to it): {installed:?}"
    );
    assert_eq!(
        old.ring(),
        &join.to,
        "after the install the node routes by the change's new ring"
    );
}

#[test]
fn ex5_when_a_node_leaves_the_others_pull_its_keys_from_it() {
    let leave = change(1, 4, 3, CONSISTENT);
    let mut stayer = Membership::founding(1, leave.from.clone());
    let installed = stayer.install(&leave).expect("accepted");
    let from: Vec<u64> = installed.pull_from.iter().map(|m| m.id).collect();
    assert_eq!(
        from,
        vec![4],
        "only node 4's keys move, and some come to node 1"
    );
    let mut leaver = Membership::founding(4, leave.from.clone());
    let installed = leaver.install(&leave).expect("accepted");
    assert!(
        installed.pull_from.is_empty(),
        "the leaving node gains nothing"
    );
    assert!(
        !leaver.is_member(),
        "a node missing from the new ring is no longer a member"
    );
}

#[test]
fn ex5_with_mod_n_a_node_pulls_from_every_other_member() {
    let join = change(1, 3, 4, Placement::ModN);
    let mut old = Membership::founding(1, join.from.clone());
    let installed = old.install(&join).expect("accepted");
    let from: Vec<u64> = installed.pull_from.iter().map(|m| m.id).collect();
    assert_eq!(
        from,
        vec![2, 3],
        "almost every key moves with mod-N, from everyone"
    );
}

#[test]
fn ex5_the_same_change_twice_is_harmless() {
    let join = change(1, 3, 4, CONSISTENT);
    let mut newcomer = Membership::new(4, CONSISTENT);
    newcomer.install(&join).expect("accepted");
    let pending = newcomer.pending();
    let again = newcomer.install(&join).expect("a repeat is not an error");
    assert!(
        !again.changed,
        "the same change installed twice changes nothing the second time"
    );
    assert!(
        again.pull_from.is_empty(),
        "the pulls are already under way"
    );
    assert_eq!(
        newcomer.pending(),
        pending,
        "a repeated change leaves the pending pulls as they were"
    );
}

#[test]
fn ex5_changes_that_do_not_follow_this_nodes_ring_are_refused() {
    let mut node = Membership::founding(1, ring(2, CONSISTENT, 3));
    assert_eq!(
        node.install(&change(1, 3, 2, CONSISTENT)),
        Err(InstallError::Conflict { epoch: 2 }),
        "a different ring with this node's epoch: two changes at once"
    );
    let mut node = Membership::founding(1, ring(3, CONSISTENT, 3));
    assert_eq!(
        node.install(&change(1, 3, 4, CONSISTENT)),
        Err(InstallError::Stale {
            change: 1,
            current: 3
        }),
        "a change from an epoch before this node's ring is stale: it was already installed or superseded"
    );
    let mut node = Membership::founding(1, ring(1, CONSISTENT, 3));
    assert_eq!(
        node.install(&change(2, 3, 4, CONSISTENT)),
        Err(InstallError::Behind {
            change: 2,
            current: 1
        }),
        "this node missed the change to epoch 2"
    );
    let mut skipping = change(1, 3, 4, CONSISTENT);
    skipping.to = ring(3, CONSISTENT, 4);
    assert_eq!(
        node.install(&skipping),
        Err(InstallError::Malformed),
        "a change must go to the next epoch: from 1 straight to 3 is malformed"
    );
    assert_eq!(node.ring().epoch(), 1, "a refused change changes nothing");
}

#[test]
fn ex5_no_new_change_while_keys_of_the_last_one_are_still_moving() {
    let leave = change(1, 4, 3, CONSISTENT);
    let mut stayer = Membership::founding(1, leave.from.clone());
    stayer.install(&leave).expect("accepted");
    let next = change(2, 3, 4, CONSISTENT);
    assert_eq!(
        stayer.install(&next),
        Err(InstallError::Busy {
            epoch: 2,
            pending: vec![4]
        }),
        "a node still pulling keys of the last change refuses the next one as Busy, naming what is pending"
    );
    stayer.pulled(4);
    assert!(
        stayer.install(&next).is_ok(),
        "once settled, the next change goes in"
    );
}

#[test]
fn ex5_a_node_remembers_its_last_change_and_whether_it_is_a_member() {
    let join = Change {
        from: ring(1, CONSISTENT, 3),
        to: ring(2, CONSISTENT, 4),
    };
    let mut newcomer = Membership::new(4, CONSISTENT);
    assert_eq!(newcomer.last_change(), None, "no change yet");
    assert!(!newcomer.is_member(), "a node outside any ring");
    newcomer
        .install(&join)
        .expect("a fresh node accepts any change");
    assert_eq!(
        newcomer.last_change(),
        Some(join.clone()),
        "a node remembers the last change it installed"
    );
    assert!(newcomer.is_member(), "a node in the new ring is a member");
    let leave = Change {
        from: join.to.clone(),
        to: join.to.without_member(4).expect("a valid ring"),
    };
    for from in newcomer.pending() {
        newcomer.pulled(from);
    }
    newcomer.install(&leave).expect("the next change");
    assert!(!newcomer.is_member(), "after leaving, not a member");
}

#[test]
fn ex5_a_change_from_another_ring_of_this_epoch_is_a_conflict() {
    // Two coordinators each made epoch 2 from epoch 1: one added node 4, the other node 5.
    // This node installed the first; a change that builds on the second is another history.
    let founding = ring(1, CONSISTENT, 3);
    let with = |ring: &chapter4::ring::Ring, id: u64| {
        let member = bench::members(id, 1).remove(0);
        ring.with_member(member).expect("a valid ring")
    };
    let mine = with(&founding, 4);
    let theirs = with(&founding, 5);
    let mut node = Membership::founding(1, mine.clone());
    let next = Change {
        from: theirs.clone(),
        to: with(&theirs, 6),
    };
    assert_eq!(
        node.install(&next),
        Err(InstallError::Conflict { epoch: 2 }),
        "a change must start from this node's own ring: one that starts from another ring \
         of the same epoch (node 5 joined, not node 4) is refused as a Conflict"
    );
    assert_eq!(node.ring(), &mine, "a refused change changes nothing");
}
