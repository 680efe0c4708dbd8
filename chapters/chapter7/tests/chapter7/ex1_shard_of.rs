//! Exercise 7.1: a key's shard.

use chapter7::placement::shard_of;

#[test]
fn ex1_every_key_has_a_shard_in_range_and_always_the_same() {
    for shards in [1, 2, 12, 16] {
        for i in 0..1_000 {
            let key = format!("user:{i}");
            let shard = shard_of(&key, shards);
            assert!(
                shard < shards,
                "shard_of({key:?}, {shards}) = {shard}: out of range"
            );
            assert_eq!(
                shard,
                shard_of(&key, shards),
                "the same key must always give the same shard"
            );
        }
    }
}

#[test]
fn ex1_the_shard_is_the_specified_hash_modulo_the_shard_count() {
    // Every node computes a key's shard itself: it must be XXH3-64 (seed 0) of the key's
    // bytes (the values chapter 4 pins), modulo the number of shards, or two nodes
    // could disagree.
    for (key, hash) in [
        ("a", 0xe6c6_32b6_1e96_4e1f_u64),
        ("", 0x2d06_8005_38d3_94c2),
        ("user:42", 0x9fc1_e605_fa71_74aa),
    ] {
        for shards in [7_usize, 12, 16] {
            assert_eq!(
                shard_of(key, shards),
                (hash % shards as u64) as usize,
                "shard_of({key:?}, {shards}) must be xxh3_64(key) % {shards}"
            );
        }
    }
}

#[test]
fn ex1_keys_spread_evenly_over_the_shards() {
    let shards = 16;
    let mut counts = vec![0_u32; shards];
    for i in 0..16_000 {
        counts[shard_of(&format!("key-{i}"), shards)] += 1;
    }
    for (shard, &n) in counts.iter().enumerate() {
        assert!(
            (800..=1_200).contains(&n),
            "shard {shard} got {n} of 16,000 keys (expected about 1,000): {counts:?}"
        );
    }
}
