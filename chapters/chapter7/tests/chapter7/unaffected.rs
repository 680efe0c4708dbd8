//! While a shard moves, every other shard keeps serving; the moving shard is unavailable
//! only until it is installed.
//!
//! To hold a move open without timing anything, the destination group is down: the
//! controller freezes the shard at its old owner and then cannot install it. During
//! that window the clients of every other shard must complete their calls, and nobody
//! may serve the frozen shard. Once the destination is back, the move finishes and the
//! shard serves its data again.

use std::time::{Duration, Instant};

use chapter7::placement::shard_of;
use chapter7::service::Change;
use chapter7::system::{self, nodes_of};
use chapter7::{Answer, Configuration};

use crate::common::{SHARDS, key_in};
use crate::loopback::{PATIENCE, client, controller, start};

/// Calls each client completes during the move.
const CALLS: usize = 100;

/// One key in every shard of groups 1 and 2 but `moving` (group 3 will be down: its
/// shards are unavailable for that reason, not because of the move).
fn unaffected(config: &Configuration, moving: usize) -> Vec<String> {
    (0..SHARDS)
        .filter(|&s| s != moving && config.owner(s) != 3)
        .map(key_in)
        .collect()
}

/// Runs [`CALLS`] calls over `keys`, a write then a read of each in turn; every one must succeed. Returns the
/// calls per second.
async fn serve_all(client: &mut chapter7::client::ShardedClient, keys: &[String]) -> f64 {
    let started = Instant::now();
    for i in 0..CALLS {
        let key = &keys[(i / 2) % keys.len()];
        if i % 2 == 0 {
            let put = client.put(key, &format!("v{i}"), None).await;
            assert!(
                matches!(put, Ok(Answer::Written { .. })),
                "a write to {key} (shard {}) failed during another shard's move: {put:?}",
                shard_of(key, SHARDS)
            );
        } else {
            let got = client.get(key).await;
            assert!(
                matches!(got, Ok(Some(_))),
                "a read of {key} (shard {}) failed during another shard's move: {got:?}",
                shard_of(key, SHARDS)
            );
        }
    }
    CALLS as f64 / started.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_unaffected_shards_keep_serving_while_a_shard_moves_and_it_is_unavailable_only_until_installed()
 {
    let mut cluster = start(3, 5);
    let mut admin = controller(&cluster);
    let config: Configuration = admin
        .change(&system::join(&cluster, &[1, 2, 3]))
        .await
        .expect("three groups join");
    let moving = (0..SHARDS)
        .find(|&s| config.owner(s) == 1)
        .expect("group 1 owns a shard");
    let moving_key = key_in(moving);
    let others = unaffected(&config, moving);
    let mut writer = client(&cluster, "writer", PATIENCE);
    writer
        .put(&moving_key, "kept", None)
        .await
        .expect("a write before the move");
    let steady = serve_all(&mut writer, &others).await;

    // Group 3 goes down; the shard moves to it: frozen at group 1, not installable.
    for node in nodes_of(3) {
        cluster.kill(node);
    }
    let mut mover = controller(&cluster);
    let move_task = tokio::spawn(async move {
        mover
            .change(&Change::Move {
                shard: moving,
                group: 3,
            })
            .await
    });
    let mut probe = client(&cluster, "probe", Duration::from_millis(300));
    // Polled: the shard stops being served once the controller has frozen it.
    let frozen_by = Instant::now() + PATIENCE;
    loop {
        match probe.get(&moving_key).await {
            Err(_) => break, // nobody serves it: it is frozen
            Ok(found) => {
                assert!(
                    Instant::now() < frozen_by,
                    "shard {moving} is still served ({found:?}) long after its move began"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    let during = serve_all(&mut writer, &others).await;
    println!(
        "unaffected shards: {steady:.0} calls/s before the move, {during:.0} calls/s while \
         shard {moving} was frozen ({:.0} %)",
        100.0 * during / steady
    );
    assert!(
        probe.get(&moving_key).await.is_err(),
        "shard {moving} must not be served between its freeze and its install"
    );

    // Group 3 is back: the move finishes and the shard serves what it held.
    for node in nodes_of(3) {
        cluster.restart(node).await.expect("restarting group 3");
    }
    let config = move_task
        .await
        .expect("the controller task")
        .expect("the move finishes once its destination is back");
    assert_eq!(
        config.owner(moving),
        3,
        "once its destination is back, the move finishes: group 3 owns shard {moving}"
    );
    let mut reader = client(&cluster, "reader", PATIENCE);
    let found = reader
        .get(&moving_key)
        .await
        .expect("a read after the move");
    assert_eq!(
        found.map(|(v, _)| v),
        Some("kept".to_string()),
        "the moved shard serves what it held before the move"
    );
    cluster.stop_all().await.expect("stopping");
}
