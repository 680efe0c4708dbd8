//! Exercise 4.1: mod-N placement.

use chapter4::ring::{Placement, Ring, key_hash, mod_n};

use crate::common::{members, random_keys, ring};

#[test]
fn ex1_the_hash_is_fixed_by_its_specification_not_by_this_build() {
    // XXH3-64 with seed 0: these values are the same on every machine, run and Rust
    // version. (std's DefaultHasher may change between releases: never place data by it.)
    assert_eq!(
        key_hash(""),
        0x2d06_8005_38d3_94c2,
        "key_hash is XXH3-64 with seed 0: its values are fixed by the specification"
    );
    assert_eq!(
        key_hash("a"),
        0xe6c6_32b6_1e96_4e1f,
        "key_hash is XXH3-64 with seed 0: its values are fixed by the specification"
    );
    assert_eq!(
        key_hash("user:42"),
        0x9fc1_e605_fa71_74aa,
        "key_hash is XXH3-64 with seed 0: its values are fixed by the specification"
    );
}

#[test]
fn ex1_the_owner_is_member_number_hash_mod_n() {
    assert_eq!(
        mod_n(0, 3),
        0,
        "the owner is member number hash mod N: 0 mod 3 is 0"
    );
    assert_eq!(
        mod_n(7, 3),
        1,
        "the owner is member number hash mod N: 7 mod 3 is 1"
    );
    assert_eq!(
        mod_n(u64::MAX, 10),
        (u64::MAX % 10) as usize,
        "the whole 64-bit hash is reduced mod N, with nothing cut off first"
    );
    assert_eq!(
        (mod_n(1 << 32, 3), mod_n(u64::MAX, 7)),
        (1, 1),
        "the whole 64-bit hash is reduced mod N, with nothing cut off first: 2^32 mod 3 \
         is 1 (its low 32 bits alone give 0), and (2^64 - 1) mod 7 is 1"
    );
    assert_eq!(mod_n(12345, 1), 0, "a single member owns everything");
    for hash in [1u64, 99, 1 << 40, u64::MAX - 3] {
        assert!(
            mod_n(hash, 7) < 7,
            "mod_n({hash}, 7) must name one of 7 members"
        );
    }
}

#[test]
fn ex1_every_node_computes_the_same_owner_whatever_order_it_lists_members_in() {
    let mut shuffled = members(5);
    shuffled.reverse();
    let a = Ring::new(1, Placement::ModN, members(5)).expect("a ring");
    let b = Ring::new(1, Placement::ModN, shuffled).expect("a ring");
    for key in random_keys(1, 1000) {
        assert_eq!(
            a.owner(&key),
            b.owner(&key),
            "two nodes that list the same members in another order agree on the owner of {key:?}"
        );
    }
}

#[test]
fn ex1_mod_n_spreads_keys_evenly() {
    let ring = ring(1, Placement::ModN, 5);
    let keys = random_keys(2, 50_000);
    let mut counts = [0usize; 5];
    for key in &keys {
        let owner = ring.owner(key).expect("an owner");
        counts[(owner.id - 1) as usize] += 1;
    }
    for (i, &count) in counts.iter().enumerate() {
        let share = count as f64 / keys.len() as f64;
        assert!(
            (share - 0.2).abs() < 0.02,
            "node {} owns {:.1}% of 50,000 keys; mod-N should give each of 5 close to 20%: {counts:?}",
            i + 1,
            share * 100.0
        );
    }
}
