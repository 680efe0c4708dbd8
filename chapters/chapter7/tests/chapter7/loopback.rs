//! The store on real replicas: the service and the groups as chapter 6's nodes on
//! loopback, a controller and clients over HTTP (see `chapter7::system`).

use std::time::Duration;

use chapter7::api::Status;
use chapter7::client::ShardedClient;
use chapter7::controller::Controller;
use chapter7::placement::shard_of;
use chapter7::raft::{Compaction, Timing};
use chapter7::service::Change;
use chapter7::system::{self, Settings, nodes_of, servers};
use chapter7::{Answer, Configuration};
use harness::cluster::{Cluster, http_client};

use crate::common::SHARDS;

/// How long anything a test waits for may take (generous for a loaded 2-core machine;
/// the waits poll and usually end in milliseconds).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Snapshots every 50 entries, so moves cross snapshots too.
pub fn settings(seed: u64) -> Settings {
    Settings {
        shards: SHARDS,
        timing: Timing::default(),
        compaction: Compaction {
            every: 50,
            chunk_bytes: 4096,
        },
        seed,
    }
}

/// The service and `groups` groups, none joined yet.
pub fn start(groups: u64, seed: u64) -> Cluster {
    system::start(groups, settings(seed)).expect("starting a loopback system should work")
}

/// The same, with replicas that snapshot every `every` entries.
fn start_snapshotting(groups: u64, seed: u64, every: u64) -> Cluster {
    let mut settings = settings(seed);
    settings.compaction.every = every;
    system::start(groups, settings).expect("starting a loopback system should work")
}

/// A controller of `cluster` that gives up on a change after [`PATIENCE`].
pub fn controller(cluster: &Cluster) -> Controller {
    Controller::new(&servers(cluster, 0), cluster.cluster_key(), PATIENCE)
        .expect("building a controller")
}

/// A client of `cluster` called `name`, giving up on a call after `deadline`.
pub fn client(cluster: &Cluster, name: &str, deadline: Duration) -> ShardedClient {
    ShardedClient::new(name, &servers(cluster, 0), deadline).expect("building a client")
}

/// A replica's `/status`.
pub async fn status(url: &str) -> anyhow::Result<Status> {
    let http = http_client(Duration::from_secs(2))?;
    Ok(http
        .get(format!("{url}/status"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// Polls until every replica of group `group` reports `keys` keys (what it holds,
/// frozen shards included), and returns them.
async fn wait_keys(cluster: &Cluster, group: u64, keys: usize) {
    let urls: Vec<String> = nodes_of(group).map(|i| cluster.direct_url(i)).collect();
    harness::eventually(
        PATIENCE,
        &format!("group {group}'s replicas to hold {keys} keys"),
        || {
            let urls = urls.clone();
            async move {
                let mut held = Vec::new();
                for url in &urls {
                    held.push(status(url).await.map_err(|e| e.to_string())?.keys);
                }
                if held.iter().all(|&k| k == keys) {
                    Ok(())
                } else {
                    Err(format!("they hold {held:?}"))
                }
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

/// How many of `keys` configuration `config` gives `group`.
fn owned_by(config: &Configuration, group: u64, keys: &[String]) -> usize {
    keys.iter()
        .filter(|k| config.owner(shard_of(k, config.shards.len())) == group)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_after_a_move_settles_the_old_owner_holds_none_of_the_moved_keys() {
    // Snapshots every 5 entries: a replica's snapshot measures, in bytes, what its
    // machine holds.
    let mut cluster = start_snapshotting(2, 1, 5);
    let mut controller = controller(&cluster);
    controller
        .change(&system::join(&cluster, &[1]))
        .await
        .expect("group 1 joins");
    let mut client = client(&cluster, "gc", PATIENCE);
    let keys: Vec<String> = (0..40).map(|i| format!("key-{i}")).collect();
    for key in &keys {
        let answer = client.put(key, &"v".repeat(100), None).await;
        assert!(
            matches!(answer, Ok(Answer::Written { .. })),
            "{key}: {answer:?}"
        );
    }
    wait_keys(&cluster, 1, keys.len()).await;
    let full = snapshot_bytes_after(&cluster, 1, applied(&cluster, 1).await).await;

    let config = controller
        .change(&system::join(&cluster, &[2]))
        .await
        .expect("group 2 joins");
    let (mine, theirs) = (owned_by(&config, 1, &keys), owned_by(&config, 2, &keys));
    assert!(
        mine > 0 && theirs > 0,
        "the join moved no key (group 1 owns {mine}, group 2 {theirs})"
    );
    // Every replica of the old owner dropped what it gave away; the new owner has it.
    wait_keys(&cluster, 1, mine).await;
    wait_keys(&cluster, 2, theirs).await;
    for key in &keys {
        let found = client.get(key).await.expect("a read after the move");
        assert_eq!(
            found.map(|(v, _)| v.len()),
            Some(100),
            "{key} after the move"
        );
    }

    controller
        .change(&Change::Leave(vec![1]))
        .await
        .expect("group 1 leaves");
    wait_keys(&cluster, 1, 0).await;
    wait_keys(&cluster, 2, keys.len()).await;
    // In bytes: a snapshot of group 1's machine taken after the deletes is a few
    // hundred bytes (each shard's state, no data, no answers), down from the 40 keys.
    let empty = snapshot_bytes_after(&cluster, 1, applied(&cluster, 1).await).await;
    println!("group 1's snapshot: {full:?} bytes holding 40 keys, {empty:?} after it left");
    assert!(
        empty.iter().all(|&b| b < 1024) && full.iter().all(|&b| b > 4000),
        "group 1's replicas' snapshots: {full:?} bytes with 40 keys of 100 bytes, {empty:?} \
         after every shard left it"
    );
    cluster.stop_all().await.expect("stopping");
}

/// The index `group`'s leader has applied up to.
async fn applied(cluster: &Cluster, group: u64) -> u64 {
    let leader = leader_of(cluster, group).await;
    status(&cluster.direct_url(leader))
        .await
        .expect("a status")
        .applied_index
}

/// Each replica of `group`'s snapshot size, once every one has a snapshot past index
/// `after`. Sends reads to the group's replicas meanwhile: each read is an entry of its
/// log (answered `wrong_group` or not), so snapshots keep coming.
async fn snapshot_bytes_after(cluster: &Cluster, group: u64, after: u64) -> Vec<u64> {
    let urls: Vec<String> = nodes_of(group).map(|i| cluster.direct_url(i)).collect();
    let http = http_client(Duration::from_secs(2)).expect("an HTTP client");
    harness::eventually(
        PATIENCE,
        &format!("a snapshot past index {after} on every replica of group {group}"),
        || {
            let (urls, http) = (urls.clone(), http.clone());
            async move {
                // The leader, whichever replica it is, appends each read.
                for url in &urls {
                    let _ = http.get(format!("{url}/kv/key-0")).send().await;
                }
                let mut sizes = Vec::new();
                for url in &urls {
                    let s = status(url).await.map_err(|e| e.to_string())?;
                    if s.snapshot_index <= after {
                        return Err(format!("{url}: snapshot at {}", s.snapshot_index));
                    }
                    sizes.push(s.snapshot_bytes);
                }
                Ok(sizes)
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_write_retried_across_a_move_and_two_failovers_is_applied_once() {
    let mut cluster = start(2, 2);
    let mut controller = controller(&cluster);
    let config = controller
        .change(&system::join(&cluster, &[1, 2]))
        .await
        .expect("groups 1 and 2 join");
    let http = http_client(Duration::from_secs(5)).expect("an HTTP client");
    let key = "once";
    let shard = shard_of(key, SHARDS);
    let from = config.owner(shard);
    let to = 3 - from;
    // The write, named (client "w", request 1), answered by its shard's owner.
    let put = |url: String| {
        http.put(format!("{url}/kv/{key}"))
            .header("x-client-id", "w")
            .header("x-request-id", "1")
            .json(&serde_json::json!({ "value": "first" }))
            .send()
    };
    let first = write_at_leader(&cluster, from, &put).await;
    assert_eq!(first["version"], 1, "{first}");

    // The owner's leader crashes: the move must freeze the shard at its next leader.
    cluster.kill(leader_of(&cluster, from).await);
    controller
        .change(&Change::Move { shard, group: to })
        .await
        .expect("the shard moves while its old owner fails over");
    // The new owner's leader crashes right after the install.
    cluster.kill(leader_of(&cluster, to).await);

    // The client never heard the first answer; it sends the write again, same id. The
    // new owner answers from the table that moved with the shard: the same version.
    let retried = write_at_leader(&cluster, to, &put).await;
    assert_eq!(
        retried, first,
        "a retried write must be answered as the first time, not applied again"
    );
    let mut client = client(&cluster, "reader", PATIENCE);
    assert_eq!(
        client.get(key).await.expect("a read"),
        Some(("first".into(), 1)),
        "the write must have been applied once"
    );
    cluster.stop_all().await.expect("stopping");
}

/// Sends `put` to `group`'s replicas until one answers `200`; its body.
async fn write_at_leader<F, Fut>(cluster: &Cluster, group: u64, put: &F) -> serde_json::Value
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    let urls = servers(cluster, group);
    harness::eventually(
        PATIENCE,
        &format!("group {group} to take the write"),
        || {
            let urls = urls.clone();
            async move {
                let mut last = String::new();
                for url in urls {
                    match put(url.clone()).await {
                        Ok(r) if r.status() == 200 => {
                            return r.json().await.map_err(|e| e.to_string());
                        }
                        Ok(r) => last = format!("{url}: {}", r.text().await.unwrap_or_default()),
                        Err(e) => last = format!("{url}: {e}"),
                    }
                }
                Err(last)
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The cluster index of `group`'s leader, once one of its replicas says it leads.
pub async fn leader_of(cluster: &Cluster, group: u64) -> usize {
    let nodes: Vec<(usize, String)> = nodes_of(group)
        .map(|i| (i, cluster.direct_url(i)))
        .collect();
    harness::eventually(PATIENCE, &format!("group {group} to have a leader"), || {
        let nodes = nodes.clone();
        async move {
            for (i, url) in nodes {
                if let Ok(s) = status(&url).await
                    && s.role == "leader"
                {
                    return Ok(i);
                }
            }
            Err("no replica leads".to_string())
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_shard_moves_in_pieces_when_the_controller_splits_it() {
    // The controller splits a shard bigger than a piece (1 MiB in the running system,
    // which keeps every entry under the log's limit). Here pieces of 8 KiB, so that a
    // 400 KB shard goes as some fifty `Stage` steps and an `Install`, through the real
    // routes and logs, without carrying megabytes through a debug build.
    let mut cluster = start(2, 3);
    let mut controller = controller(&cluster).with_piece_bytes(8 * 1024);
    let config = controller
        .change(&system::join(&cluster, &[1, 2]))
        .await
        .expect("groups 1 and 2 join");
    let shard = (0..SHARDS)
        .find(|&s| config.owner(s) == 1)
        .expect("group 1 owns a shard");
    let keys: Vec<String> = (0..)
        .map(|i| format!("big-{i}"))
        .filter(|k| shard_of(k, SHARDS) == shard)
        .take(40)
        .collect();
    let value = "v".repeat(10_000);
    let mut client = client(&cluster, "big", PATIENCE);
    for key in &keys {
        let put = client.put(key, &value, None).await;
        assert!(matches!(put, Ok(Answer::Written { .. })), "{key}: {put:?}");
    }
    let moved = controller
        .change(&Change::Move { shard, group: 2 })
        .await
        .expect("the shard moves, in pieces");
    assert_eq!(
        moved.owner(shard),
        2,
        "a shard too big for one entry still moves, in pieces: group 2 owns it"
    );
    wait_keys(&cluster, 1, 0).await;
    wait_keys(&cluster, 2, keys.len()).await;
    for key in &keys {
        let found = client.get(key).await.expect("a read after the move");
        assert_eq!(found.map(|(v, _)| v.len()), Some(value.len()), "{key}");
    }
    cluster.stop_all().await.expect("stopping");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_kept_alive_connection_survives_every_refusal() -> anyhow::Result<()> {
    // Group 1 alone serves every shard: its leader takes every key.
    let cluster = start(1, 1);
    controller(&cluster)
        .change(&system::join(&cluster, &[1]))
        .await
        .expect("group 1 joins");
    let report = harness::keep_alive::survives_refusals_at_leader(
        || async { cluster.direct_url(leader_of(&cluster, 1).await) },
        |base| harness::keep_alive::Target {
            base,
            body_limit: chapter7::validate::MAX_BODY_BYTES,
            internal: Some("/internal/group".into()),
        },
        2_000,
        |i| format!("kept-{i}"),
    )
    .await?;
    assert_eq!(
        report.written + report.refused,
        2_000,
        "every request of the mix was answered on the one connection to group 1's leader: \
         {report:?}"
    );
    Ok(())
}
