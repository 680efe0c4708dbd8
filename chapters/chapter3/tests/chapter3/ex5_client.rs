//! Exercise 3.5: the client follows `421 not_leader` to the leader.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chapter3::client::MAX_REDIRECTS;
use chapter3::replication::AckMode;
use chapter3::{ApiError, Client, ClientError, Config};
use harness::TestNode;

use crate::common::{call, group, wait_status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex5_a_write_sent_to_a_follower_is_answered_421_with_the_leader() {
    let cluster = group(3, AckMode::Quorum, |_| {});
    let (code, body) = call(
        reqwest::Method::PUT,
        &format!("{}/kv/k", cluster.url(1)),
        Some(serde_json::json!({ "value": "v" })),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        (code, body["error"].as_str()),
        (421, Some("not_leader")),
        "{body}"
    );
    // The follower names the leader by the address it knows: the leader's advertised
    // one once an append has arrived, its own route to it before. Both reach the leader.
    let leader = body["leader"]
        .as_str()
        .unwrap_or_else(|| panic!("no leader address: {body}"));
    let there = crate::common::status(leader)
        .await
        .unwrap_or_else(|e| panic!("the 421 named {leader}: {e:#}"));
    assert_eq!(
        (there.role.as_str(), there.id),
        ("leader", 0),
        "the 421 named {leader}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex5_the_client_follows_the_redirect_and_remembers_the_leader() {
    let cluster = group(3, AckMode::Quorum, |_| {});
    let client = Client::new(&cluster.url(2)).expect("a valid address");
    let written = client
        .put("greeting", "hello")
        .await
        .unwrap_or_else(|e| panic!("a put through a follower should reach the leader: {e:#}"));
    assert_eq!(
        written.version, 1,
        "the first write in a fresh group has version 1"
    );
    // The follower names the leader by the address it knows (its own route to it, or
    // the one the leader advertises); either way, that is where the next write goes.
    let remembered = client.leader().as_str().trim_end_matches('/').to_string();
    assert_ne!(
        remembered,
        cluster.url(2),
        "the client should remember the leader, not the follower"
    );
    let there = crate::common::status(&remembered)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        there.role, "leader",
        "the remembered address {remembered} is not the leader's"
    );
    let swapped = client
        .put_if("greeting", "bonjour", 1)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        swapped.version, 2,
        "a compare-and-set through the remembered leader succeeds with the next version"
    );
    assert_eq!(
        client.delete("greeting").await.map_err(|e| e.to_string()),
        Ok(3),
        "a delete goes to the remembered leader and takes the next version"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex5_a_follower_read_is_served_locally_and_says_how_far_it_has_applied() {
    let cluster = group(3, AckMode::All, |_| {});
    let client = Client::new(&cluster.url(1)).expect("a valid address");
    client
        .put("k", "v")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    wait_status(&cluster, 1, "node 1 to apply the write", |s| {
        s.applied_index >= 1
    })
    .await;
    let entry = client
        .get("k")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
        .expect("the key exists");
    assert_eq!(
        entry.served_by.as_deref(),
        Some("follower"),
        "a read on a follower is served there, not redirected, and says so"
    );
    assert_eq!(
        entry.applied_index,
        Some(1),
        "a follower read says how far the follower has applied, so the client can judge its staleness"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex5_no_known_leader_is_a_typed_error_not_a_loop() {
    let data = tempfile::tempdir().expect("a temp dir");
    let config = Config {
        id: 1,
        leader_id: 0, // not among its peers (it has none): it cannot know the address
        data_dir: data.path().to_path_buf(),
        ..Config::default()
    };
    let node = TestNode::start(1, move |ctx| {
        chapter3::run(ctx.listener, config.clone(), ctx.shutdown)
    })
    .expect("starting a node");
    let client = Client::new(&node.url()).expect("a valid address");
    match client.put("k", "v").await {
        Err(ClientError::NotLeader { leader: None }) => {}
        other => panic!("expected ClientError::NotLeader {{ leader: None }}, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex5_redirects_are_bounded() {
    // Two followers that name each other as the leader: a misconfiguration, or a moment
    // during a failover. The client must give up, not bounce forever.
    let data = tempfile::tempdir().expect("a temp dir");
    let addrs = harness::node::free_addrs(2).expect("free ports");
    let mut nodes = Vec::new();
    for i in 0..2usize {
        let other = 1 - i;
        let config = Config {
            id: i as u64 + 1,
            leader_id: other as u64 + 10,
            peers: vec![chapter3::Peer {
                id: other as u64 + 10,
                url: format!("http://{}", addrs[other]),
            }],
            data_dir: data.path().join(format!("n{i}")),
            ..Config::default()
        };
        let setup = harness::NodeSetup {
            id: i as u64,
            peers: Vec::new(),
            data_dir: None,
            addr: Some(addrs[i]),
            cluster_key: None,
        };
        nodes.push(
            TestNode::start_with(setup, move |ctx| {
                chapter3::run(ctx.listener, config.clone(), ctx.shutdown)
            })
            .expect("starting a node"),
        );
    }
    let client = Client::new(&nodes[0].url()).expect("a valid address");
    match bounded(client.put("k", "v")).await {
        Err(ClientError::NotLeader { leader: Some(_) }) => {}
        other => panic!("expected NotLeader after a bounded number of hops, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex5_a_redirect_loop_is_followed_exactly_max_redirects_times() {
    // A node that names itself as the leader and refuses every write: the first try and
    // MAX_REDIRECTS redirects, then the last `NotLeader`. A request past those is
    // answered 500, so a client without a bound stops at once instead of looping.
    let hits = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind((harness::loopback::fresh(), 0))
        .await
        .expect("binding a port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    let app = axum::Router::new().fallback({
        let (hits, url) = (Arc::clone(&hits), url.clone());
        move || {
            let n = hits.fetch_add(1, Ordering::SeqCst) + 1;
            let leader = Some(url.clone());
            async move {
                if n > 1 + MAX_REDIRECTS {
                    ApiError::Internal("a redirect past MAX_REDIRECTS".into())
                } else {
                    ApiError::NotLeader { leader }
                }
            }
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = Client::new(&url).expect("a valid address");
    let outcome = bounded(client.put("k", "v")).await;
    let requests = hits.load(Ordering::SeqCst);
    assert!(
        requests == 1 + MAX_REDIRECTS
            && matches!(outcome, Err(ClientError::NotLeader { leader: Some(_) })),
        "a write follows at most MAX_REDIRECTS ({MAX_REDIRECTS}) redirects, then returns the \
         last 421 as NotLeader: {} requests expected (the first try and {MAX_REDIRECTS} \
         redirects), got {requests}, ending in {outcome:?}",
        1 + MAX_REDIRECTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex5_the_next_write_goes_straight_to_the_remembered_leader() {
    // A follower that redirects every write to a leader that accepts every write; the
    // test counts the requests each receives.
    let serve = |app: axum::Router| async move {
        let listener = tokio::net::TcpListener::bind((harness::loopback::fresh(), 0))
            .await
            .expect("binding a port");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    };
    let (to_leader, to_follower) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let leader = serve(axum::Router::new().fallback({
        let hits = Arc::clone(&to_leader);
        move || {
            let version = hits.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                axum::Json(serde_json::json!({ "key": "k", "value": "v", "version": version }))
            }
        }
    }))
    .await;
    let follower = serve(axum::Router::new().fallback({
        let (hits, leader) = (Arc::clone(&to_follower), leader.clone());
        move || {
            hits.fetch_add(1, Ordering::SeqCst);
            let leader = Some(leader.clone());
            async move { ApiError::NotLeader { leader } }
        }
    }))
    .await;
    let client = Client::new(&follower).expect("a valid address");
    for value in ["v1", "v2", "v3"] {
        bounded(client.put("k", value)).await.unwrap_or_else(|e| {
            panic!("a write through a follower should reach the leader: {e:#}")
        });
    }
    assert_eq!(
        (
            to_follower.load(Ordering::SeqCst),
            to_leader.load(Ordering::SeqCst)
        ),
        (1, 3),
        "the client remembers the leader a 421 named: only the first of three writes goes \
         to the follower, the next ones go straight to the leader (requests to the \
         follower, to the leader)"
    );
}

/// Awaits a client call, failing the test if it never ends (redirects without a bound).
async fn bounded<T>(call: impl std::future::Future<Output = T>) -> T {
    harness::eventually::within(Duration::from_secs(10), "a client call", call)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}
