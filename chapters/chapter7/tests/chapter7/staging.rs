//! A shard too big for one log entry moves in pieces: `Stage` entries, then the
//! `Install` of the last piece (given code: `staging.rs`, `ShardData::split`).

use chapter7::group::{Group, GroupOp, GroupReply, ShardState};
use chapter7::shard::{Answer, ShardData};
use chapter7::staging::{merge, split};

use crate::common::{SHARDS, key_in, put_as};

/// Shard `shard` with `n` keys of 1 KiB and one client's answer.
fn big_shard(shard: usize, n: usize) -> ShardData {
    let mut data = ShardData::default();
    for i in 0..n {
        let key = format!("{}-{i}", key_in(shard));
        data.kv.insert(key, ("x".repeat(1024), i as u64 + 1));
    }
    data.version = n as u64;
    data.answered
        .insert("alice".into(), (7, Answer::Written { version: 3 }));
    data
}

#[test]
fn chapter_a_split_shard_merges_back_whole_in_any_order() {
    let shard = big_shard(1, 100);
    let mut pieces = split(shard.clone(), 10 * 1024);
    assert!(pieces.len() >= 10, "{} pieces", pieces.len());
    assert!(
        pieces.iter().all(|p| p.bytes() <= 11 * 1024),
        "a piece holds at most the bytes asked for, plus one key and value"
    );
    pieces.reverse();
    let mut whole = ShardData::default();
    for piece in pieces {
        merge(&mut whole, piece);
    }
    assert_eq!(
        whole, shard,
        "the pieces merged back, in any order, are the whole shard: keys, version and answers"
    );
    assert_eq!(
        split(ShardData::default(), 10).len(),
        1,
        "an empty shard is one piece"
    );
}

#[test]
fn chapter_pieces_staged_then_installed_serve_the_whole_shard() {
    let shard = 1;
    let data = big_shard(shard, 50);
    let mut pieces = split(data.clone(), 8 * 1024);
    let last = pieces.pop().expect("pieces");
    let mut group = Group::new(2, SHARDS);
    for piece in pieces.clone() {
        let staged = group.apply(GroupOp::Stage {
            shard,
            num: 3,
            piece,
        });
        assert_eq!(
            staged,
            GroupReply::Staged { shard, num: 3 },
            "a piece of a shard absent here since an older configuration is kept aside for its \
             install"
        );
    }
    // A piece sent twice (a replaced controller) changes nothing.
    group.apply(GroupOp::Stage {
        shard,
        num: 3,
        piece: pieces[0].clone(),
    });
    let installed = group.apply(GroupOp::Install {
        shard,
        num: 3,
        data: last,
    });
    assert_eq!(
        installed,
        GroupReply::Installed { shard, num: 3 },
        "the install of the last piece takes the staged pieces: the shard is installed"
    );
    assert_eq!(
        group.data().get(&shard),
        Some(&data),
        "the installed shard is the staged pieces and the last one: the whole shard, a piece \
         staged twice counted once"
    );
    // The same as one whole install: nothing is left staged.
    let mut whole = Group::new(2, SHARDS);
    whole.apply(GroupOp::Install {
        shard,
        num: 3,
        data,
    });
    assert_eq!(
        group, whole,
        "installing in pieces leaves the group as one whole install does: nothing stays staged"
    );
    // The shard serves its keys and its answers.
    let retry = group.apply(GroupOp::Client(put_as(&key_in(shard), "v", "alice", 7)));
    assert_eq!(
        retry,
        GroupReply::Answer(Answer::Written { version: 3 }),
        "the table of answers moved with the shard: alice's retry gets her first answer, not a \
         second write"
    );
}

#[test]
fn chapter_late_or_forged_pieces_are_fenced() {
    let shard = 1;
    let mut group = Group::new(2, SHARDS);
    group.apply(GroupOp::Install {
        shard,
        num: 3,
        data: big_shard(shard, 2),
    });
    let before = group.clone();
    // A piece of the move that already happened, and of an older one.
    for num in [3, 2] {
        let late = group.apply(GroupOp::Stage {
            shard,
            num,
            piece: big_shard(shard, 5),
        });
        assert!(matches!(late, GroupReply::Stale { .. }), "{late:?}");
    }
    // A piece of a shard that does not exist.
    let forged = group.apply(GroupOp::Stage {
        shard: SHARDS + 5,
        num: 9,
        piece: ShardData::default(),
    });
    assert!(matches!(forged, GroupReply::Refused { .. }), "{forged:?}");
    assert_eq!(group, before, "nothing changed");
    assert_eq!(
        group.states()[shard],
        ShardState::Serving { num: 3 },
        "late and forged pieces leave the shard serving as before"
    );

    // An older move's pieces give way to a newer one's; a stale install takes none.
    let mut group = Group::new(2, SHARDS);
    group.apply(GroupOp::Stage {
        shard,
        num: 4,
        piece: big_shard(shard, 3),
    });
    let older = group.apply(GroupOp::Stage {
        shard,
        num: 3,
        piece: big_shard(shard, 9),
    });
    assert!(matches!(older, GroupReply::Stale { .. }), "{older:?}");
    group.apply(GroupOp::Install {
        shard,
        num: 4,
        data: ShardData::default(),
    });
    assert_eq!(
        group.data().get(&shard),
        Some(&big_shard(shard, 3)),
        "the install of move 4 takes move 4's staged pieces, and none of the stale move 3's"
    );
}

#[test]
fn chapter_a_piece_is_never_bigger_as_json_than_asked_for_plus_one_key() {
    // Values that JSON escapes: quotes, newlines and control characters.
    let mut data = ShardData::default();
    for i in 0..200 {
        data.kv
            .insert(format!("k{i}"), ("\"\n\u{1}".repeat(300 + i), i as u64));
    }
    let largest = data
        .kv
        .iter()
        .map(|(k, v)| serde_json::to_string(&(k, v)).expect("json").len())
        .max()
        .unwrap_or_default();
    for piece in split(data, 64 * 1024) {
        let json = serde_json::to_string(&piece).expect("json").len();
        assert!(
            json <= 64 * 1024 + largest + 200,
            "a piece of {json} bytes as JSON"
        );
    }
}
