//! A stand-in old owner for exercise 4.6's tests: a real new owner, node 2, pulls from
//! it, and the test scripts how it answers, so a failure, a crash or a client write can
//! land exactly between two steps of the pull.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use chapter4::api::{HandoffResponse, Status};
use chapter4::holds::Holds;
use chapter4::membership::Change;
use chapter4::ring::{Member, Ring};
use chapter4::store::MovedEntry;
use chapter4::transfer::owned_by;
use tokio::sync::watch;

use crate::common::{CONSISTENT, PATIENCE, TestCluster, call, random_keys};

/// How the stand-in answers.
pub struct Script {
    /// The epoch its handoffs claim (`None`: the change's own).
    pub epoch: Option<u64>,
    /// Handoffs refused with 503 before one is answered.
    pub failed_handoffs: usize,
    /// Releases refused with 503 (all of them with `usize::MAX`).
    pub failed_releases: usize,
    /// Every release is held until this is true.
    pub hold_release: watch::Receiver<bool>,
    /// Where node 2, the new owner, stops for the test.
    pub holds: Holds,
}

impl Script {
    /// Answers every handoff for the change's epoch, and every release at once.
    pub fn answering() -> Script {
        Script {
            epoch: None,
            failed_handoffs: 0,
            failed_releases: 0,
            hold_release: watch::channel(true).1,
            holds: Holds::default(),
        }
    }
}

/// The stand-in, as a test sees it.
pub struct OldOwner {
    pub handoffs: Arc<AtomicUsize>,
    /// Node 2's status at the moment it asked for its first release, if it has.
    pub released: Arc<Mutex<Option<Status>>>,
    /// The keys handed over: `(key, value, version)`.
    pub keys: Vec<(String, String, u64)>,
    /// Node 2's URL.
    pub new_owner: String,
}

impl OldOwner {
    /// Node 2's status when it first asked for a release, once it has.
    pub fn status_at_release(&self) -> Option<Status> {
        self.released
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits until node 2 asks for a release (its keys stored and served by then), and
    /// returns its status at that moment.
    pub async fn until_release_asked(&self) -> Status {
        harness::eventually(PATIENCE, "node 2 to ask node 1 to release", || async {
            self.status_at_release().ok_or_else(|| {
                format!(
                    "{} handoff(s) asked, no release yet",
                    self.handoffs.load(Ordering::SeqCst)
                )
            })
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Starts node 2 outside any cluster and a stand-in node 1, answering as `script` says,
/// that owns keys node 2 gains; installs on node 2 the change (epoch 1 -> 2) that adds
/// it beside node 1, which makes node 2 pull from node 1.
pub async fn pull_from(cluster: &mut TestCluster, script: Script) -> OldOwner {
    let new_owner = cluster.start_outside_holding(2, &script.holds);
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
    let keys: Vec<(String, String, u64)> = random_keys(10, 200)
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
    let handoffs = Arc::new(AtomicUsize::new(0));
    let releases = Arc::new(AtomicUsize::new(0)); // counted to refuse the first ones
    let released: Arc<Mutex<Option<Status>>> = Arc::default();
    let epoch = script.epoch.unwrap_or(to.epoch());
    let handoff = {
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
    };
    let release = {
        let (releases, released) = (Arc::clone(&releases), Arc::clone(&released));
        let (new_owner, fail, hold) = (
            new_owner.clone(),
            script.failed_releases,
            script.hold_release,
        );
        move || {
            let n = releases.fetch_add(1, Ordering::SeqCst);
            let (released, new_owner, mut hold) =
                (Arc::clone(&released), new_owner.clone(), hold.clone());
            async move {
                // What node 2 has at the moment it lets node 1 forget the keys.
                let answer = call(reqwest::Method::GET, &format!("{new_owner}/status"), None).await;
                if let Ok(status) = answer.and_then(|a| Ok(serde_json::from_value(a.body)?)) {
                    let mut released = released.lock().unwrap_or_else(|e| e.into_inner());
                    released.get_or_insert(status);
                }
                let _ = hold.wait_for(|go| *go).await;
                if n < fail {
                    return Err(StatusCode::SERVICE_UNAVAILABLE);
                }
                Ok(axum::Json(serde_json::json!({ "removed": 0 })))
            }
        }
    };
    let app = axum::Router::new()
        .route("/internal/handoff", axum::routing::post(handoff))
        .route("/internal/release", axum::routing::post(release));
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
        released,
        keys,
        new_owner,
    }
}
