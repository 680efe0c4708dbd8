//! Clusters on loopback: nodes reach each other through the harness's proxies, and the
//! test partitions, cuts, delays, drops, isolates and kills.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use harness::cluster::{Cluster, http_client};
use harness::{NodeContext, Peer, eventually};

/// A node that says who it is (`/id`) and asks a peer who it is (`/ask/{peer}`).
async fn node(ctx: NodeContext) -> anyhow::Result<()> {
    #[derive(Clone)]
    struct Node {
        id: u64,
        peers: Vec<Peer>,
        http: reqwest::Client,
    }
    async fn ask(State(node): State<Node>, Path(peer): Path<u64>) -> String {
        let Some(peer) = node.peers.iter().find(|p| p.id == peer) else {
            return "no such peer".into();
        };
        match node.http.get(format!("{}/id", peer.url)).send().await {
            Ok(response) => response
                .text()
                .await
                .unwrap_or_else(|e| format!("error: {e}")),
            Err(e) => format!("error: {e}"),
        }
    }
    let state = Node {
        id: ctx.id,
        peers: ctx.peers,
        http: http_client(Duration::from_secs(5))?,
    };
    let app = Router::new()
        .route(
            "/id",
            get(|State(node): State<Node>| async move { node.id.to_string() }),
        )
        .route("/ask/{peer}", get(ask))
        .with_state(state);
    axum::serve(ctx.listener, app)
        .with_graceful_shutdown(ctx.shutdown)
        .await?;
    Ok(())
}

async fn ask(cluster: &Cluster, from: usize, to: usize) -> anyhow::Result<String> {
    let client = http_client(Duration::from_secs(5))?;
    Ok(client
        .get(format!("{}/ask/{to}", cluster.url(from)))
        .send()
        .await?
        .text()
        .await?)
}

#[tokio::test]
async fn every_node_reaches_every_peer_through_the_network() -> anyhow::Result<()> {
    let mut cluster = Cluster::start(3, 1, node)?;
    for from in 0..3 {
        for to in (0..3).filter(|&to| to != from) {
            assert_eq!(
                ask(&cluster, from, to).await?,
                to.to_string(),
                "{from} asks {to}"
            );
        }
    }
    cluster.stop_all().await
}

#[tokio::test]
async fn a_partition_blocks_traffic_both_ways_and_healing_restores_it() -> anyhow::Result<()> {
    let mut cluster = Cluster::start(3, 2, node)?;
    cluster.partition(&[&[0], &[1, 2]]);
    assert!(
        ask(&cluster, 0, 1).await?.starts_with("error"),
        "0 cannot reach 1"
    );
    assert!(
        ask(&cluster, 1, 0).await?.starts_with("error"),
        "1 cannot reach 0"
    );
    assert_eq!(
        ask(&cluster, 1, 2).await?,
        "2",
        "inside a group, traffic flows"
    );
    cluster.heal();
    assert_eq!(ask(&cluster, 0, 1).await?, "1", "healed");
    assert_eq!(ask(&cluster, 1, 0).await?, "0", "healed");
    cluster.stop_all().await
}

#[tokio::test]
async fn a_directed_cut_loses_requests_one_way_and_answers_the_other() -> anyhow::Result<()> {
    let mut cluster = Cluster::start(3, 3, node)?;
    cluster.cut(0, 1);
    assert!(
        ask(&cluster, 0, 1).await?.starts_with("error"),
        "0's request to 1 is lost"
    );
    assert!(
        ask(&cluster, 1, 0).await?.starts_with("error"),
        "1's request reaches 0, 0's answer is lost"
    );
    assert_eq!(ask(&cluster, 2, 1).await?, "1", "other links are untouched");
    cluster.heal_link(0, 1);
    assert_eq!(
        ask(&cluster, 0, 1).await?,
        "1",
        "the delayed request still arrives: a delay is not a loss"
    );
    cluster.stop_all().await
}

#[tokio::test]
async fn a_delayed_link_delivers_late_and_a_lossy_one_drops_by_seed() -> anyhow::Result<()> {
    let mut cluster = Cluster::start(2, 4, node)?;
    cluster.set_delay(0, 1, Duration::from_millis(150));
    let started = Instant::now();
    assert_eq!(
        ask(&cluster, 0, 1).await?,
        "1",
        "healing the link restores both directions"
    );
    // A lower bound only: the delay is added to every request; nothing says how fast
    // the rest is, so no upper bound is asserted.
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "the request waited on the link"
    );
    cluster.set_delay(0, 1, Duration::ZERO);

    cluster.set_drop(0, 1, 1.0);
    assert!(
        ask(&cluster, 0, 1).await?.starts_with("error"),
        "p = 1 drops everything"
    );
    cluster.set_drop(0, 1, 0.5);
    let mut delivered = 0;
    for _ in 0..40 {
        delivered += usize::from(ask(&cluster, 0, 1).await? == "1");
    }
    assert!(
        (1..40).contains(&delivered),
        "p = 0.5 drops some and lets some through: {delivered}/40"
    );
    cluster.stop_all().await
}

#[tokio::test]
async fn an_isolated_client_cannot_reach_its_node_while_the_nodes_still_talk() -> anyhow::Result<()>
{
    let mut cluster = Cluster::start(3, 5, node)?;
    cluster.isolate_client(1);
    let client = http_client(Duration::from_secs(5))?;
    assert!(
        client
            .get(format!("{}/id", cluster.url(1)))
            .send()
            .await
            .is_err(),
        "the client is cut off"
    );
    assert_eq!(
        ask(&cluster, 0, 1).await?,
        "1",
        "node 0 still reaches node 1"
    );
    cluster.reconnect_client(1);
    assert_eq!(
        client
            .get(format!("{}/id", cluster.url(1)))
            .send()
            .await?
            .text()
            .await?,
        "1",
        "a reconnected client reaches its node again"
    );
    cluster.stop_all().await
}

#[tokio::test]
async fn a_killed_node_comes_back_and_no_stale_connection_survives() -> anyhow::Result<()> {
    let mut cluster = Cluster::start(3, 6, node)?;
    let client = http_client(Duration::from_secs(5))?;
    let id = |url: String| {
        let client = client.clone();
        async move { client.get(format!("{url}/id")).send().await?.text().await }
    };
    assert_eq!(
        id(cluster.url(2)).await?,
        "2",
        "node 2 answers before it is killed"
    );
    cluster.kill(2);
    assert!(
        id(cluster.url(2)).await.is_err(),
        "a killed node answers nothing"
    );
    assert!(
        ask(&cluster, 0, 2).await?.starts_with("error"),
        "not even to its peers"
    );
    cluster.restart(2).await?;
    // The very first request after the restart succeeds: nothing reuses a dead connection.
    assert_eq!(
        id(cluster.url(2)).await?,
        "2",
        "the first request after a restart is answered: no stale connection is reused"
    );
    assert_eq!(
        ask(&cluster, 0, 2).await?,
        "2",
        "peers reach the restarted node at once too"
    );
    let data = cluster.node(2).data_dir().to_path_buf();
    assert!(
        data.ends_with("node-2") && data.exists(),
        "the node keeps its data directory"
    );
    eventually(Duration::from_secs(5), "node 1 to reach node 2", || async {
        match ask(&cluster, 1, 2).await {
            Ok(answer) if answer == "2" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await?;
    cluster.stop_all().await
}
