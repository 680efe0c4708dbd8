//! Exercise 9.3: joining, leaving and timing out of a consumer group; the assignment.

use chapter9::{ConsumerGroup, Membership, assign};

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("m{i}")).collect()
}

fn group() -> ConsumerGroup {
    ConsumerGroup::new("g", "t", 4, 100)
}

#[test]
fn ex3_partitions_are_dealt_in_ranges_the_first_members_one_more() {
    let got = assign(&names(2), 5);
    assert_eq!(
        (got["m0"].clone(), got["m1"].clone()),
        (vec![0, 1, 2], vec![3, 4]),
        "5 partitions over 2 members: ranges of 5/2, the first 5%2 members one more"
    );
    let got = assign(&names(3), 4);
    assert_eq!(
        (got["m0"].clone(), got["m1"].clone(), got["m2"].clone()),
        (vec![0, 1], vec![2], vec![3]),
        "4 partitions over 3 members: [0, 1], [2], [3]"
    );
    let got = assign(&names(3), 2);
    assert_eq!(
        got.get("m2"),
        Some(&vec![]),
        "with more members than partitions, the last members are in the map with none"
    );
    assert!(assign(&[], 4).is_empty(), "no members: an empty assignment");
    for members in 1..6 {
        for partitions in 0..12 {
            let got = assign(&names(members), partitions);
            let mut all: Vec<u32> = got.values().flatten().copied().collect();
            all.sort();
            assert_eq!(
                all,
                (0..partitions).collect::<Vec<_>>(),
                "assign({members} members, {partitions} partitions) gave {got:?}: every \
                 partition to exactly one member"
            );
            assert_eq!(got.len(), members, "every member is in the assignment");
        }
    }
}

#[test]
fn ex3_a_new_member_makes_a_new_generation_a_retried_join_does_not() {
    let mut g = group();
    assert_eq!(
        g.join("a", 0),
        Membership {
            generation: 1,
            partitions: vec![0, 1, 2, 3]
        },
        "the first member makes generation 1 and reads every partition"
    );
    assert_eq!(
        g.join("b", 10),
        Membership {
            generation: 2,
            partitions: vec![2, 3]
        },
        "a second member makes generation 2: the partitions are dealt again"
    );
    assert_eq!(
        g.join("b", 20),
        Membership {
            generation: 2,
            partitions: vec![2, 3]
        },
        "a join retried by a member already in the group must not rebalance (every retry \
         would stop the whole group): same generation, same partitions"
    );
    assert_eq!(
        g.members["b"].last_heard, 20,
        "a retried join is heard from"
    );
    assert_eq!(
        g.membership("a").partitions,
        vec![0, 1],
        "the first member keeps the first range"
    );
}

#[test]
fn ex3_a_leave_rebalances_only_if_the_member_was_in() {
    let mut g = group();
    g.join("a", 0);
    g.join("b", 0);
    assert!(g.leave("a"), "a member in the group leaves it");
    assert_eq!(
        g.membership("b"),
        Membership {
            generation: 3,
            partitions: vec![0, 1, 2, 3]
        },
        "a leave makes a new generation: the one left reads every partition"
    );
    assert!(
        !g.leave("a"),
        "leaving twice: it was not in the group any more"
    );
    assert_eq!(
        g.generation, 3,
        "a leave of a member not in the group (a retry) changes no generation"
    );
}

#[test]
fn ex3_a_member_not_heard_from_for_longer_than_the_timeout_is_taken_out() {
    let mut g = group(); // session timeout 100
    g.join("a", 0);
    g.join("b", 0);
    g.join("c", 50);
    assert_eq!(
        g.expire(100),
        Vec::<String>::new(),
        "heard exactly the timeout ago is still in"
    );
    assert_eq!(g.generation, 3, "no one went: no new generation");
    let _ = g.heartbeat("b", 100);
    assert_eq!(
        g.expire(101),
        vec!["a".to_string()],
        "heard 101 ms ago with a 100 ms timeout: out (a crashed member never says goodbye; \
         without this its partitions are read by nobody)"
    );
    assert_eq!(g.generation, 4, "a member timed out makes a new generation");
    assert_eq!(
        g.membership("b").partitions,
        vec![0, 1],
        "its partitions are dealt to the others"
    );
    assert_eq!(
        g.expire(300),
        vec!["b".to_string(), "c".to_string()],
        "two members out at once, in name order"
    );
    assert_eq!(
        g.generation, 5,
        "two members out at once: one new generation"
    );
    assert!(g.members.is_empty(), "every member timed out: none is left");
}
