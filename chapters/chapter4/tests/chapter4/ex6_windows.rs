//! Exercise 4.6, between its steps: a new owner pulls from a stand-in old owner that the
//! test scripts, so a failure, a crash or a client write lands exactly between two
//! steps of the pull (ask for the keys / store them / serve them / let the old owner
//! release them). Wherever it lands, no key is lost and none goes back in time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode;
use chapter4::api::HandoffResponse;
use chapter4::membership::Change;
use chapter4::ring::{Member, Ring};
use chapter4::store::MovedEntry;
use chapter4::transfer::owned_by;
use tokio::sync::watch;

use crate::common::{CONSISTENT, PATIENCE, TestCluster, call, get, put, random_keys, status};

/// How the stand-in old owner answers.
struct Script {
    /// Handoffs refused with 503 before one is answered.
    failed_handoffs: usize,
    /// Releases refused with 503 (all of them with `usize::MAX`).
    failed_releases: usize,
    /// Hold every release until this turns true.
    hold_release: watch::Receiver<bool>,
}

/// The stand-in, as the test sees it.
struct OldOwner {
    handoffs: Arc<AtomicUsize>,
    releases: Arc<AtomicUsize>,
    /// The keys it hands over: `(key, value, version)`.
    keys: Vec<(String, String, u64)>,
    new_owner: String,
}

/// Starts node 2 outside any cluster and a scripted stand-in node 1 that owns the keys
/// node 2 gains; installs on node 2 the change that adds it, which starts its pull.
async fn pull_from(cluster: &mut TestCluster, script: Script) -> OldOwner {
    let new_owner = cluster.start_outside(2);
    let listener = tokio::net::TcpListener::bind((harness::loopback::fresh(), 0))
        .await
        .expect("binding a port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    let from = Ring::new(1, CONSISTENT, vec![Member { id: 1, url }]).expect("a valid ring");
    let to = from
        .with_member(Member {
            id: 2,
            url: new_owner.clone(),
        })
        .expect("a valid ring");
    let keys: Vec<(String, String, u64)> = random_keys(11, 200)
        .into_iter()
        .filter(|k| owned_by(&to, k, 2))
        .take(20)
        .enumerate()
        .map(|(i, key)| (key, format!("moved {i}"), 10 + i as u64))
        .collect();
    assert!(!keys.is_empty(), "node 2 gains some keys");
    let entries: Vec<MovedEntry> = keys
        .iter()
        .map(|(key, value, version)| MovedEntry {
            key: key.clone(),
            value: value.clone(),
            version: *version,
        })
        .collect();
    let (handoffs, releases) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let epoch = to.epoch();
    let app = axum::Router::new()
        .route(
            "/internal/handoff",
            axum::routing::post({
                let (handoffs, fail) = (Arc::clone(&handoffs), script.failed_handoffs);
                move || {
                    let n = handoffs.fetch_add(1, Ordering::SeqCst);
                    let response = HandoffResponse {
                        epoch,
                        entries: entries.clone(),
                    };
                    async move {
                        if n < fail {
                            return Err(StatusCode::SERVICE_UNAVAILABLE);
                        }
                        Ok(axum::Json(response))
                    }
                }
            }),
        )
        .route(
            "/internal/release",
            axum::routing::post({
                let (releases, fail) = (Arc::clone(&releases), script.failed_releases);
                let hold = script.hold_release;
                move || {
                    let n = releases.fetch_add(1, Ordering::SeqCst);
                    let mut hold = hold.clone();
                    async move {
                        let _ = hold.wait_for(|go| *go).await;
                        if n < fail {
                            return Err(StatusCode::SERVICE_UNAVAILABLE);
                        }
                        Ok(axum::Json(serde_json::json!({ "removed": 0 })))
                    }
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let answer = call(
        reqwest::Method::POST,
        &format!("{new_owner}/internal/ring"),
        Some(serde_json::to_value(Change { from, to }).expect("a change as JSON")),
    )
    .await
    .unwrap_or_else(|e| panic!("POST /internal/ring at node 2: {e:#}"));
    assert_eq!(
        answer.status, 200,
        "a node outside any cluster installs the change that adds it: {}",
        answer.body
    );
    OldOwner {
        handoffs,
        releases,
        keys,
        new_owner,
    }
}

/// Node 2 serves every moved key with the value and version it arrived with.
async fn serves_every_key(old: &OldOwner, when: &str) {
    for (key, value, version) in &old.keys {
        let answer = get(&old.new_owner, key).await;
        assert_eq!(
            (
                answer.status,
                answer.body["value"].as_str(),
                answer.body["version"].as_u64()
            ),
            (200, Some(value.as_str()), Some(*version)),
            "{when}: node 2 serves moved key {key} with the value and version it arrived with"
        );
    }
}

/// Waits until node 2 asks for a release (so its keys are stored and served).
async fn until_release_asked(old: &OldOwner) {
    harness::eventually(PATIENCE, "node 2 to ask node 1 to release", || async {
        match old.releases.load(Ordering::SeqCst) {
            0 => Err(format!(
                "{} handoff(s) asked, no release yet",
                old.handoffs.load(Ordering::SeqCst)
            )),
            _ => Ok(()),
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

/// Node 2 pulling from a stand-in that refuses `failed_handoffs` handoffs and
/// `failed_releases` releases, and holds every release while the sender says `false`
/// (`held`: it starts so); returns once node 2 has asked for its first release.
async fn until_release(
    failed_handoffs: usize,
    failed_releases: usize,
    held: bool,
) -> (TestCluster, OldOwner, watch::Sender<bool>) {
    let mut cluster = TestCluster {
        dir: tempfile::tempdir().expect("a temporary directory"),
        nodes: Vec::new(),
    };
    let (go, hold_release) = watch::channel(!held);
    let script = Script {
        failed_handoffs,
        failed_releases,
        hold_release,
    };
    let old = pull_from(&mut cluster, script).await;
    until_release_asked(&old).await;
    (cluster, old, go)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex6_a_failed_handoff_is_asked_again_and_a_failed_release_loses_nothing() {
    let (cluster, old, _go) = until_release(2, usize::MAX, false).await;
    assert!(
        old.handoffs.load(Ordering::SeqCst) >= 3,
        "two refused handoffs, then one answered: the pull asks again until it gets the keys"
    );
    serves_every_key(&old, "after its release was refused").await;
    assert_eq!(
        status(&old.new_owner).await.pending,
        Vec::<u64>::new(),
        "a refused release leaves a copy at the old owner, and nothing pending here"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex6_a_write_after_the_keys_are_served_and_before_the_release_is_kept() {
    let (cluster, old, go) = until_release(0, 0, true).await;
    // The release is held at the old owner: a client writes a moved key meanwhile.
    let (key, _, moved) = &old.keys[0];
    let version = put(&old.new_owner, key, "written during the release").await;
    assert!(
        version > *moved,
        "a write to a moved key continues its versions ({version} after {moved})"
    );
    go.send_replace(true);
    let answer = get(&old.new_owner, key).await;
    assert_eq!(
        (
            answer.body["value"].as_str(),
            answer.body["version"].as_u64()
        ),
        (Some("written during the release"), Some(version)),
        "the write made between serving the keys and the old owner's release stays"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex6_a_crash_before_the_release_loses_no_key_and_the_pull_is_not_redone() {
    let (mut cluster, old, _go) = until_release(0, 0, true).await;
    // The keys are stored and served, the release is in flight: power goes.
    let handoffs = old.handoffs.load(Ordering::SeqCst);
    let node = cluster.node_mut(2);
    node.crash();
    node.restart().await.expect("node 2 restarts");
    serves_every_key(&old, "after a crash just before the release").await;
    assert_eq!(
        (
            status(&old.new_owner).await.pending,
            old.handoffs.load(Ordering::SeqCst)
        ),
        (Vec::<u64>::new(), handoffs),
        "what node 2 stored and marked served before it asked for the release survives a \
         crash: nothing is pending and the keys are not pulled again"
    );
    cluster.stop().await;
}
