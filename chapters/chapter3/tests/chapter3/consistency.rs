//! What a read promises, on real groups: a follower's read may be stale (for another
//! client, and for the writer itself), a leader's read never shows a write that is not
//! committed. The stale histories are recorded, checked, and kept for the book's
//! timelines (`KEEP_HISTORIES`, see `Recorder::keep`).

use std::time::Duration;

use chapter3::replication::AckMode;
use chapter3::{Client, ClientError};
use harness::eventually;
use harness::history::{KvOp, KvOutput, Operation, Outcome, Recorder, keep};
use harness::linearizability::{Verdict, check};

use crate::common::{PATIENCE, group, wait_status};

/// The checker's budget: these histories have a handful of operations.
const BUDGET: Duration = Duration::from_secs(5);

/// A put by `client`, recorded; an error answer is a test failure.
async fn put(recorder: &Recorder, client: usize, node: &Client, value: &str) -> u64 {
    let op = KvOp::Put {
        key: "colour".into(),
        value: value.into(),
        if_version: None,
    };
    let call = recorder.invoke(client, op);
    let entry = node
        .put("colour", value)
        .await
        .unwrap_or_else(|e| panic!("put(colour, {value}): {e:#}"));
    call.finish(Outcome::Ok(KvOutput::Written {
        version: entry.version,
    }));
    entry.version
}

/// A get by `client`, recorded; returns the value and how far the node had applied.
async fn get(recorder: &Recorder, client: usize, node: &Client) -> (String, Option<u64>) {
    let call = recorder.invoke(
        client,
        KvOp::Get {
            key: "colour".into(),
        },
    );
    let entry = node
        .get("colour")
        .await
        .unwrap_or_else(|e| panic!("get(colour): {e:#}"))
        .expect("the key exists");
    call.finish(Outcome::Ok(KvOutput::Value(Some((
        entry.value.clone(),
        entry.version,
    )))));
    (entry.value, entry.applied_index)
}

/// The checker must reject `history`, a real one, as `what`.
fn assert_rejected(history: &[Operation], what: &str) {
    match check(history, BUDGET) {
        Verdict::Violation { .. } => {}
        other => panic!("{what} must not be linearizable, the checker says: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_an_async_follower_behind_a_cut_link_serves_stale_reads_then_catches_up() {
    let cluster = group(3, AckMode::Async, |_| {});
    let recorder = Recorder::new();
    let (writer, reader) = (0, 1);
    let leader = Client::new(&cluster.url(0)).expect("a valid address");
    let follower = Client::new(&cluster.url(2)).expect("a valid address");
    put(&recorder, writer, &leader, "red").await;
    wait_status(&cluster, 2, "node 2 to apply the first write", |s| {
        s.applied_index >= 1
    })
    .await;
    cluster.cut(0, 2);
    for colour in ["green", "blue"] {
        put(&recorder, writer, &leader, colour).await; // acknowledged: async needs only the leader
    }
    let stale = get(&recorder, reader, &follower).await;
    assert_eq!(
        stale,
        ("red".to_string(), Some(1)),
        "behind the cut link, node 2 still answers, with the value of index 1: a stale read, and it says so"
    );
    // The writer reads its own key from the same follower: it does not see its write.
    let own = get(&recorder, writer, &follower).await;
    assert_eq!(
        own.0, "red",
        "the writer's own read from node 2 is stale too"
    );

    let history = recorder.operations();
    let (others, own): (Vec<Operation>, Vec<Operation>) = (
        history
            .iter()
            .filter(|op| op.client == reader || !matches!(op.op, KvOp::Get { .. }))
            .cloned()
            .collect(),
        history
            .iter()
            .filter(|op| op.client == writer)
            .cloned()
            .collect(),
    );
    assert_rejected(
        &others,
        "another client's read of red after blue was acknowledged",
    );
    assert_rejected(&own, "the writer's read of red after its own blue");
    keep("chapter3-stale-read", &others).expect("keeping the history");
    keep("chapter3-read-your-writes", &own).expect("keeping the history");

    cluster.heal();
    wait_status(&cluster, 2, "node 2 to catch up once healed", |s| {
        s.applied_index >= 3
    })
    .await;
    let fresh = get(&recorder, reader, &follower).await;
    assert_eq!(fresh.0, "blue", "once healed, node 2 has caught up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_leader_read_never_returns_an_uncommitted_write() {
    let cluster = group(3, AckMode::Quorum, |config| {
        config.write_timeout = Duration::from_millis(300);
    });
    let leader = Client::new(&cluster.url(0)).expect("a valid address");
    leader
        .put("colour", "red")
        .await
        .expect("a write with every node up");
    cluster.cut(0, 1);
    cluster.cut(0, 2);
    // The leader appends blue and applies it to its map, but no follower can store it:
    // it is not committed, and the writer hears that its outcome is unknown.
    let blue = leader.put("colour", "blue").await;
    assert!(
        matches!(blue, Err(ClientError::Server { .. })),
        "a quorum write with both followers cut off is not acknowledged: {blue:?}"
    );
    // A read on the leader must not show blue: a failover now could lose it.
    match leader.get("colour").await {
        Ok(Some(entry)) => assert_ne!(
            entry.value, "blue",
            "the leader served a write that is on no other node: {entry:?}"
        ),
        Ok(None) => panic!("the key exists"),
        Err(e) => assert!(
            matches!(e, ClientError::Server { .. }),
            "a read that cannot be served committed is a server error, not {e:?}"
        ),
    }
    // Healed, the leader replicates blue, commits it, and serves it.
    cluster.heal();
    eventually(
        PATIENCE,
        "the leader to serve blue once it is committed",
        || {
            let leader = leader.clone();
            async move {
                match leader.get("colour").await {
                    Ok(Some(entry)) if entry.value == "blue" => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}
