//! Exercise 7.9: a big shard moved in pieces. What a group keeps of the pieces
//! (`staging.rs`: `stage` and `take`, through the group's machine), and the controller's
//! step that sends them (`controller.rs`: `step`), against the fake store (`fake.rs`).

use std::time::Duration;

use chapter7::Change;
use chapter7::group::{Group, GroupOp, GroupReply, ShardState};
use chapter7::placement::shard_of;
use chapter7::shard::{Answer, ShardData};
use chapter7::staging::split;

use crate::common::{SHARDS, World, key_in, put_as};
use crate::fake::Fake;
use crate::staging::big_shard;

#[test]
fn ex9_pieces_staged_then_installed_serve_the_whole_shard() {
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
fn ex9_late_or_forged_pieces_are_fenced_and_an_install_takes_only_its_own() {
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
        assert!(
            matches!(late, GroupReply::Stale { .. }),
            "a piece of configuration {num} for a shard serving since configuration 3 is stale: \
             that move is over, nothing is kept: {late:?}"
        );
    }
    // A piece of a shard that does not exist.
    let forged = group.apply(GroupOp::Stage {
        shard: SHARDS + 5,
        num: 9,
        piece: ShardData::default(),
    });
    assert!(
        matches!(forged, GroupReply::Refused { .. }),
        "a piece of a shard that does not exist is refused: {forged:?}"
    );
    assert_eq!(group, before, "nothing changed");
    assert_eq!(
        group.states()[shard],
        ShardState::Serving { num: 3 },
        "late and forged pieces leave the shard serving as before"
    );

    // An older move's pieces are stale once a newer one's are kept.
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
    assert!(
        matches!(older, GroupReply::Stale { .. }),
        "a piece of move 3 after move 4's pieces is stale: only one configuration's pieces \
         are kept, the newest: {older:?}"
    );
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

    // A shard absent since configuration 3 (it served 2, froze and left for 3): a piece
    // of 3 is stale, one of 4 is kept; a stale install of 3 leaves move 4's pieces, which
    // move 4's install then takes.
    let mut group = Group::new(2, SHARDS);
    for op in [
        GroupOp::Install {
            shard,
            num: 2,
            data: ShardData::default(),
        },
        GroupOp::Freeze { shard, num: 3 },
        GroupOp::Delete { shard, num: 3 },
    ] {
        group.apply(op);
    }
    assert_eq!(
        group.states()[shard],
        ShardState::Absent { num: 3 },
        "set-up"
    );
    let same = group.apply(GroupOp::Stage {
        shard,
        num: 3,
        piece: big_shard(shard, 2),
    });
    assert!(
        matches!(same, GroupReply::Stale { .. }),
        "a piece of configuration 3 for a shard absent since 3 is stale: 3 took the shard \
         away from this group, it will never install it: {same:?}"
    );
    let whole = big_shard(shard, 6);
    let mut pieces = split(whole.clone(), 2 * 1024);
    let last = pieces.pop().expect("pieces");
    for piece in pieces {
        let kept = group.apply(GroupOp::Stage {
            shard,
            num: 4,
            piece,
        });
        assert_eq!(
            kept,
            GroupReply::Staged { shard, num: 4 },
            "a piece of configuration 4 for a shard absent since 3 is kept"
        );
    }
    let stale = group.apply(GroupOp::Install {
        shard,
        num: 3,
        data: ShardData::default(),
    });
    assert!(
        matches!(stale, GroupReply::Stale { .. }),
        "an install of 3 for a shard absent since 3 is stale: {stale:?}"
    );
    group.apply(GroupOp::Install {
        shard,
        num: 4,
        data: last,
    });
    assert_eq!(
        group.data().get(&shard),
        Some(&whole),
        "a stale install (of 3) leaves move 4's pieces staged: move 4's install then takes \
         them all, and the shard arrives whole"
    );

    // A piece for a shard served or frozen here since an older configuration: that
    // shard is not waiting for an install, so the piece is refused, not kept.
    let mut served = Group::new(2, SHARDS);
    served.apply(GroupOp::Install {
        shard,
        num: 2,
        data: ShardData::default(),
    });
    let mut frozen = served.clone();
    frozen.apply(GroupOp::Freeze { shard, num: 3 });
    for (what, mut group, num) in [("served since 2", served, 3), ("frozen for 3", frozen, 4)] {
        let reply = group.apply(GroupOp::Stage {
            shard,
            num,
            piece: big_shard(shard, 1),
        });
        assert!(
            matches!(reply, GroupReply::Refused { .. }),
            "a piece of configuration {num} for a shard {what} is refused: the shard is not \
             waiting for an install here: {reply:?}"
        );
    }

    // The staging area is bounded: a piece that would take it past its limit is refused.
    let mut group = Group::new(2, SHARDS);
    let mut huge = ShardData::default();
    huge.kv.insert(
        key_in(shard),
        ("x".repeat(chapter7::staging::MAX_STAGED_BYTES), 1),
    );
    let full = group.apply(GroupOp::Stage {
        shard,
        num: 3,
        piece: huge,
    });
    assert!(
        matches!(full, GroupReply::Refused { .. }),
        "a piece that would take the staged bytes past MAX_STAGED_BYTES is refused (a peer's \
         bytes are bounded like any input): {full:?}"
    );

    // A newer move's pieces replace an older one's, and an install of the newer move
    // takes none of the older.
    let mut group = Group::new(2, SHARDS);
    group.apply(GroupOp::Stage {
        shard,
        num: 3,
        piece: big_shard(shard, 9),
    });
    let newer = group.apply(GroupOp::Stage {
        shard,
        num: 4,
        piece: big_shard(shard, 2),
    });
    assert_eq!(
        newer,
        GroupReply::Staged { shard, num: 4 },
        "a piece of move 4 is kept though move 3's pieces are staged: the newer move wins"
    );
    let only = big_shard(shard, 1);
    group.apply(GroupOp::Install {
        shard,
        num: 5,
        data: only.clone(),
    });
    assert_eq!(
        group.data().get(&shard),
        Some(&only),
        "an install of configuration 5 takes no pieces of move 4 (nor 3): they were staged for \
         another configuration, so the shard is the install's own data"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex9_a_big_shard_moves_as_staged_pieces_then_the_install_of_the_last() {
    let (fake, shard, original) = fake_with_a_full_shard().await;
    let piece_bytes = 8 * 1024;
    let mut controller = fake
        .controller(Duration::from_secs(5))
        .with_piece_bytes(piece_bytes);
    let moved = controller
        .change(&Change::Move { shard, group: 2 })
        .await
        .unwrap_or_else(|e| {
            panic!(
                "a big shard moves in pieces: {e:#}\nwhat the fake heard:\n{}",
                fake.transcript()
            )
        });
    assert_eq!(moved.owner(shard), 2, "group 2 owns the shard");
    let to_two: Vec<_> = fake
        .heard()
        .into_iter()
        .filter(|h| h.group == Some(2) && h.applied)
        .collect();
    let stages = to_two.iter().filter(|h| h.op.starts_with("stage")).count();
    let expected = split(original.clone(), piece_bytes).len();
    assert!(
        stages + 1 >= expected,
        "a shard of {} bytes in pieces of {piece_bytes} is {expected} pieces: every piece \
         but the last goes as a Stage step, the last as the Install; group 2 heard {stages} \
         stages\nwhat the fake heard:\n{}",
        original.bytes(),
        fake.transcript()
    );
    let biggest = to_two.iter().map(|h| h.bytes).max().unwrap_or(0);
    assert!(
        biggest <= piece_bytes + 2048,
        "no step to group 2 is much bigger than a piece ({piece_bytes} bytes of keys and values, \
         plus one key and its envelope): the biggest was {biggest} bytes (a whole shard in one \
         install could be bigger than a log entry may be)"
    );
    fake.with(|inner| {
        assert_eq!(
            inner.world.groups[&2].data().get(&shard),
            Some(&original),
            "group 2 holds the whole shard, every key and every client's answer, as group 1 \
             froze it: the pieces staged and the install's own"
        );
        inner.world.assert_settled();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex9_a_piece_without_an_answer_ends_the_step_and_the_pieces_go_again() {
    let (fake, shard, original) = fake_with_a_full_shard().await;
    // The second piece is lost on its way: not applied, no answer.
    fake.with(|inner| inner.faults.drop_stages = vec![2]);
    let mut controller = fake
        .controller(Duration::from_secs(5))
        .with_piece_bytes(8 * 1024);
    controller
        .change(&Change::Move { shard, group: 2 })
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the move finishes, its pieces sent again: {e:#}\nwhat the fake heard:\n{}",
                fake.transcript()
            )
        });
    fake.with(|inner| {
        assert_eq!(
            inner.world.groups[&2].data().get(&shard),
            Some(&original),
            "group 2 holds the whole shard although one piece was lost: a piece with no \
             answer ends the step unanswered (`None`), and the next round sends every piece \
             again before the install; an install sent after an unanswered piece takes a \
             shard with keys missing\nwhat the fake heard:\n{}",
            inner.transcript()
        );
    });
}

/// A fake whose groups 1 and 2 have joined, and a shard of group 1 filled with 40 keys
/// of 1000 bytes (several pieces of 8 KiB): the shard and its data as group 1 holds it.
async fn fake_with_a_full_shard() -> (Fake, usize, ShardData) {
    let fake = Fake::start(&[1, 2]).await;
    let (one, two) = (fake.join(&[1]), fake.join(&[2]));
    let (shard, original) = fake.with(|inner| {
        inner.world.change(one);
        let config = inner.world.change(two);
        let shard = (0..SHARDS)
            .find(|&s| config.owner(s) == 1)
            .expect("group 1 keeps some shards");
        fill(&mut inner.world, shard, 40);
        (shard, inner.world.groups[&1].data()[&shard].clone())
    });
    (fake, shard, original)
}

/// Writes `n` keys of shard `shard`, 1000 bytes each, each by a client of its own (so
/// the shard's table of answers moves too).
fn fill(world: &mut World, shard: usize, n: usize) {
    let keys = (0..)
        .map(|i| format!("big-{i}"))
        .filter(|k| shard_of(k, SHARDS) == shard)
        .take(n);
    for (i, key) in keys.enumerate() {
        world.client(put_as(&key, &"v".repeat(1000), &format!("c{i}"), 1));
    }
}
