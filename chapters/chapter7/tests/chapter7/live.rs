//! The live cluster's page for the sharded store, through its JSON API (the browser
//! drives the page itself in `cargo xtask browser`): the frame names every node's group
//! and shows the shards; a button makes a change, whose outcome the frame shows; a button
//! that does not exist is a JSON error.

use std::time::Duration;

use chapter7::demo::{DemoOptions, start};
use chapter7::raft::Timing;
use harness::cluster::http_client;
use harness::dashboard::Frame;

use crate::loopback::PATIENCE;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_the_live_page_shows_groups_and_shards_and_its_buttons_move_them() {
    let demo = start(DemoOptions {
        seed: 4,
        timing: Timing::default(),
        clients: 2,
        shards: 12,
        addr: "127.0.0.1:0".parse().expect("an address"),
    })
    .await
    .expect("the demo starts");
    let page = demo.dashboard.url().to_string();
    let http = http_client(Duration::from_secs(5)).expect("an HTTP client");
    let frame = |http: reqwest::Client, page: String| async move {
        http.get(format!("{page}api/state"))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json::<Frame>()
            .await
            .map_err(|e| e.to_string())
    };

    let first = harness::eventually(PATIENCE, "the shards of groups 1 and 2", || {
        let (http, page) = (http.clone(), page.clone());
        async move {
            let f = frame(http, page).await?;
            match &f.shards {
                Some(s) if s.num >= 1 && s.owners.iter().all(|&o| o == 1 || o == 2) => Ok(f),
                other => Err(format!("shards: {other:?}")),
            }
        }
    })
    .await
    .expect("the first frame");
    assert_eq!(
        first.nodes.len(),
        12,
        "the frame shows every node: the service's 3 replicas and 3 groups of 3"
    );
    assert_eq!(
        first.groups[0], "service",
        "the frame names each node's group: the first nodes are the service's"
    );
    assert_eq!(
        first.groups[11], "group 3",
        "the frame names each node's group: the last node is group 3's"
    );
    let join = first
        .actions
        .iter()
        .position(|a| a == "group 3 joins")
        .expect("a button for group 3 to join");

    let answer: serde_json::Value = http
        .post(format!("{page}api/actions/{join}"))
        .send()
        .await
        .expect("the page answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(answer["ok"], true, "{answer}");
    harness::eventually(PATIENCE, "shards on group 3, the change finished", || {
        let (http, page) = (http.clone(), page.clone());
        async move {
            let f = frame(http, page).await?;
            match &f.shards {
                Some(s) if s.owners.contains(&3) && s.pending.is_none() => Ok(()),
                other => Err(format!("shards: {other:?}")),
            }
        }
    })
    .await
    .expect("group 3 joined");

    let missing = http
        .post(format!("{page}api/actions/99"))
        .send()
        .await
        .expect("the page answers");
    assert_eq!(
        missing.status(),
        404,
        "a button that does not exist is answered 404"
    );
    let body: serde_json::Value = missing.json().await.expect("a JSON error");
    assert_eq!(
        body["error"], "no_such_action",
        "with a JSON error naming what is wrong: {body}"
    );
}
