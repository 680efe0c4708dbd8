//! Exercise 9.1: a key's partition, a partition's group.

use chapter9::{group_of, partition_for};

#[test]
fn ex1_a_keys_partition_is_its_xxh3_hash_modulo_the_partitions() {
    for partitions in [1, 2, 3, 7, 16] {
        for i in 0..200 {
            let key = format!("user-{i}");
            let want = (xxhash_rust::xxh3::xxh3_64(key.as_bytes()) % partitions as u64) as u32;
            assert_eq!(
                partition_for(&key, partitions),
                want,
                "partition_for({key:?}, {partitions}): a key's partition is its whole 64-bit \
                 XXH3 hash modulo the partitions, the same in every producer and every run \
                 (another hash, or the hash cut to 32 bits first, sends keys elsewhere)"
            );
        }
    }
}

#[test]
fn ex1_keys_spread_over_every_partition() {
    let mut seen = [0u32; 8];
    for i in 0..800 {
        seen[partition_for(&format!("k{i}"), 8) as usize] += 1;
    }
    assert!(
        seen.iter().all(|&n| n > 50),
        "800 keys over 8 partitions landed {seen:?}: a hash spreads keys over every partition"
    );
}

#[test]
fn ex1_no_partitions_or_groups_is_taken_as_one_not_a_panic() {
    let p = std::panic::catch_unwind(|| partition_for("k", 0));
    assert_eq!(
        p.ok(),
        Some(0),
        "partition_for(.., 0) must not panic (a count from the network or the command \
         line): 0 partitions is taken as 1"
    );
    let g = std::panic::catch_unwind(|| group_of(5, 0));
    assert_eq!(
        g.ok(),
        Some(0),
        "group_of(.., 0) must not panic: 0 groups is taken as 1"
    );
}

#[test]
fn ex1_partitions_are_dealt_out_to_groups_in_turn() {
    let got: Vec<u32> = (0..7).map(|i| group_of(i, 3)).collect();
    assert_eq!(
        got,
        vec![0, 1, 2, 0, 1, 2, 0],
        "partitions 0..7 over 3 groups: dealt out in turn, partition 3 back to group 0"
    );
    assert_eq!(
        (0..4).map(|i| group_of(i, 1)).collect::<Vec<_>>(),
        vec![0; 4],
        "one group holds every partition"
    );
}
