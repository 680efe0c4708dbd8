//! Exercise 4.2: the consistent-hash ring and its lookup (and the given shares, which
//! are measured on the tokens 4.2 places).

use chapter4::ring::{Placement, Ring, Token, build_tokens, key_hash, lookup, token_hash};

use crate::common::{CONSISTENT, members, random_keys, ring};

fn tokens_at(hashes: &[u64]) -> Vec<Token> {
    hashes
        .iter()
        .enumerate()
        .map(|(member, &hash)| Token { hash, member })
        .collect()
}

#[test]
fn ex2_each_member_places_vnodes_tokens_in_hash_order() {
    let tokens = build_tokens(&members(3), 16);
    assert_eq!(tokens.len(), 48, "3 members x 16 vnodes");
    assert!(
        tokens.windows(2).all(|w| w[0].hash <= w[1].hash),
        "tokens must be sorted by hash for the binary search"
    );
    for member in 0..3 {
        let mine: Vec<u64> = tokens
            .iter()
            .filter(|t| t.member == member)
            .map(|t| t.hash)
            .collect();
        let mut expected: Vec<u64> = (0..16).map(|v| token_hash(member as u64 + 1, v)).collect();
        expected.sort_unstable();
        assert_eq!(
            mine, expected,
            "member index {member}'s tokens are token_hash(id, 0..16)"
        );
    }
    assert_eq!(
        build_tokens(&members(3), 16),
        tokens,
        "the same ring every time"
    );
}

#[test]
fn ex2_a_hash_belongs_to_the_first_token_at_or_after_it() {
    let tokens = tokens_at(&[100, 200, 300]);
    assert_eq!(lookup(&tokens, 50), 0, "below the first token");
    assert_eq!(lookup(&tokens, 100), 0, "exactly on a token: that token");
    assert_eq!(
        lookup(&tokens, 101),
        1,
        "a hash between two tokens belongs to the next token"
    );
    assert_eq!(
        lookup(&tokens, 250),
        2,
        "a hash between two tokens belongs to the next token"
    );
    assert_eq!(
        lookup(&tokens, 300),
        2,
        "exactly on the last token: that token"
    );
}

#[test]
fn ex2_past_the_last_token_the_circle_wraps_around_to_the_first() {
    let tokens = tokens_at(&[100, 200, 300]);
    assert_eq!(lookup(&tokens, 301), 0, "just past the last token");
    assert_eq!(lookup(&tokens, u64::MAX), 0, "the top of the circle");
    assert_eq!(
        lookup(&tokens_at(&[7]), 8),
        0,
        "one token owns the whole circle"
    );
}

#[test]
fn ex2_the_lookup_agrees_with_a_linear_scan() {
    let ring = ring(1, Placement::Consistent { vnodes: 50 }, 7);
    let tokens = ring.tokens();
    for key in random_keys(3, 5_000) {
        let hash = key_hash(&key);
        let expected = tokens.iter().position(|t| t.hash >= hash).unwrap_or(0);
        assert_eq!(
            lookup(tokens, hash),
            expected,
            "key {key:?} (hash {hash:#x}): the first token at or after it"
        );
        assert_eq!(
            ring.owner(&key).map(|m| m.id),
            Some(tokens[expected].member as u64 + 1),
            "{key:?} belongs to the member of the first token at or after its hash"
        );
    }
}

/// The tolerance below is measured, not hoped for: `cargo run -p chapter4 --release
/// --features solution -- bench` prints max/mean for 10 nodes over 20 sets of ids; at 200
/// vnodes it measured 1.11 on average and 1.19 at worst, so 1.25 at 256 has room.
#[test]
fn ex2_with_enough_virtual_nodes_each_node_owns_close_to_one_nth() {
    let few = Ring::new(1, Placement::Consistent { vnodes: 1 }, members(10)).expect("a ring");
    let many = Ring::new(1, Placement::Consistent { vnodes: 256 }, members(10)).expect("a ring");
    let largest = |ring: &Ring| ring.shares().iter().map(|s| s.1).fold(0.0, f64::max);
    let total: f64 = many.shares().iter().map(|s| s.1).sum();
    assert!(
        (total - 1.0).abs() < 1e-9,
        "the shares cover the circle once: {total}"
    );
    assert!(
        largest(&many) < 0.1 * 1.25,
        "with 256 vnodes no node of 10 should own more than 12.5% (1.25 x its fair 10%): {:?}",
        many.shares()
    );
    assert!(
        largest(&few) > largest(&many),
        "one token per node leaves arcs of very unequal length: {:?}",
        few.shares()
    );
}

#[test]
fn ex2_every_members_share_adds_up_to_the_whole_circle() {
    for (placement, n) in [(CONSISTENT, 1), (CONSISTENT, 5), (Placement::ModN, 4)] {
        let shares = ring(1, placement, n).shares();
        let ids: Vec<u64> = shares.iter().map(|&(id, _)| id).collect();
        assert_eq!(ids, (1..=n as u64).collect::<Vec<_>>(), "in id order");
        let total: f64 = shares.iter().map(|&(_, s)| s).sum();
        assert!(
            (total - 1.0).abs() < 1e-9,
            "{placement}: the shares sum to {total}"
        );
        assert!(
            shares.iter().all(|&(_, s)| s > 0.0),
            "{placement}: everyone owns some"
        );
    }
    let even = ring(1, Placement::ModN, 4).shares();
    assert!(
        even.iter().all(|&(_, s)| (s - 0.25).abs() < 1e-12),
        "mod-N: 1/N each: {even:?}"
    );
}
