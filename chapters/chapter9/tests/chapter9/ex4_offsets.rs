//! Exercise 9.4: commits fenced by generation and owner, offsets that only go forward,
//! and where a member resumes.

use std::collections::BTreeMap;

use chapter9::{ConsumerGroup, GroupError, Record, offset_after, resume_at};

fn two_members() -> ConsumerGroup {
    let mut g = ConsumerGroup::new("g", "t", 4, 1_000);
    g.join("a", 0);
    g.join("b", 0); // generation 2: a has [0, 1], b has [2, 3]
    g
}

fn offsets(pairs: &[(u32, u64)]) -> BTreeMap<u32, u64> {
    pairs.iter().copied().collect()
}

#[test]
fn ex4_the_owner_commits_in_the_current_generation() {
    let mut g = two_members();
    assert_eq!(
        g.commit("a", 2, &offsets(&[(0, 5), (1, 7)])),
        Ok(()),
        "a commits its own partitions in generation 2"
    );
    assert_eq!(
        g.committed,
        offsets(&[(0, 5), (1, 7)]),
        "an accepted commit is the group's committed offsets"
    );
}

#[test]
fn ex4_a_commit_from_an_old_generation_is_refused() {
    let mut g = two_members();
    assert_eq!(
        g.commit("a", 1, &offsets(&[(0, 9)])),
        Err(GroupError::StaleGeneration {
            sent: 1,
            current: 2
        }),
        "a commit made in generation 1 when the group is at 2: the member worked from an \
         assignment that is over (its partition may be another's now); refused"
    );
    assert!(g.committed.is_empty(), "a refused commit changes nothing");
    assert_eq!(
        g.commit("zed", 2, &offsets(&[(0, 9)])),
        Err(GroupError::UnknownMember {
            member: "zed".into()
        }),
        "a member not in the group (it timed out) cannot commit"
    );
}

#[test]
fn ex4_only_a_partitions_owner_commits_it_and_all_or_nothing() {
    let mut g = two_members();
    assert_eq!(
        g.commit("a", 2, &offsets(&[(0, 3), (2, 4)])),
        Err(GroupError::NotAssigned {
            member: "a".into(),
            partition: 2,
            generation: 2
        }),
        "partition 2 is b's in generation 2: a may not commit it"
    );
    assert!(
        g.committed.is_empty(),
        "a refused commit changes nothing, not even a's own partition 0 (all or nothing)"
    );
}

#[test]
fn ex4_a_committed_offset_never_goes_back() {
    let mut g = two_members();
    g.commit("b", 2, &offsets(&[(2, 10)])).ok();
    assert_eq!(
        g.commit("b", 2, &offsets(&[(2, 6), (3, 1)])),
        Ok(()),
        "a late copy of an older commit is not an error"
    );
    assert_eq!(
        g.committed,
        offsets(&[(2, 10), (3, 1)]),
        "a commit keeps each offset that is ahead (partition 3's first, 1) and moves none \
         back (partition 2 stays at 10, not 6: the group would read 6..10 again)"
    );
}

#[test]
fn ex4_a_committed_offset_is_the_next_to_read() {
    let record = Record {
        offset: 7,
        key: "k".into(),
        value: "v".into(),
        time: 0,
    };
    assert_eq!(
        offset_after(&record),
        8,
        "having processed offset 7, a consumer commits 8: the next offset to read"
    );
    assert_eq!(
        resume_at(Some(8)),
        8,
        "a member given a partition committed at 8 reads 8 first (not 9: that would skip one)"
    );
    assert_eq!(
        resume_at(None),
        0,
        "a partition the group never committed is read from its start"
    );
    let mut g = two_members();
    g.commit("a", 2, &offsets(&[(0, offset_after(&record))]))
        .ok();
    g.leave("a");
    let b = g.membership("b");
    assert!(b.partitions.contains(&0), "b takes partition 0 over");
    assert_eq!(
        resume_at(g.committed.get(&0).copied()),
        8,
        "after a rebalance, the new owner resumes right after the last record committed"
    );
}
