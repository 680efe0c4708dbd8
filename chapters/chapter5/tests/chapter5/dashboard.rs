//! The live cluster's state API, driven directly (the page itself is driven in a real
//! browser by `cargo xtask browser`): the page's buttons crash, restart, cut and heal
//! through these routes, and every answer is JSON.

use std::net::SocketAddr;
use std::time::Duration;

use chapter5::raft::Timing;
use harness::dashboard::{Frame, Options};
use serde_json::Value;

use crate::common::PATIENCE;

fn options(nodes: usize) -> Options {
    Options {
        nodes,
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        clients: 2,
        seed: 7,
        title: "test".into(),
        ..Options::default()
    }
}

async fn state(http: &reqwest::Client, url: &str) -> Result<Frame, String> {
    let response = http
        .get(format!("{url}api/state"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    response.json().await.map_err(|e| e.to_string())
}

/// Polls the state until `ok` picks something out of it.
async fn until<T>(
    http: &reqwest::Client,
    url: &str,
    what: &str,
    ok: impl Fn(&Frame) -> Option<T>,
) -> T {
    harness::eventually(PATIENCE, what, || async {
        let frame = state(http, url).await?;
        // A node whose core stopped (an unfinished exercise) will not get there: say so
        // now, in its words, instead of waiting out the deadline.
        let stopped = frame.nodes.iter().find_map(|n| {
            n.status
                .fault
                .as_ref()
                .map(|fault| format!("node {} stopped: {fault}", n.id))
        });
        if let Some(why) = stopped.or_else(|| frame.workload.fault.clone()) {
            panic!("waiting for {what}: {why}");
        }
        ok(&frame).ok_or_else(|| {
            let roles: Vec<String> = frame
                .nodes
                .iter()
                .map(|n| format!("{}:{}/t{}", n.id, n.status.role, n.status.term))
                .collect();
            format!(
                "leader {:?}, nodes {roles:?}, workload {} ({} windows, {} lost)",
                frame.leader,
                frame.workload.verdict,
                frame.workload.checked_windows,
                frame.workload.lost_writes
            )
        })
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn post(http: &reqwest::Client, url: &str, path: &str) -> (u16, Value) {
    let response = http
        .post(format!("{url}{path}"))
        .send()
        .await
        .expect("the dashboard answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("every answer is JSON"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_the_live_clusters_buttons_crash_restart_cut_and_heal_through_its_api() {
    let dashboard = chapter5::demo::start(options(3), Timing::FAST)
        .await
        .expect("the live cluster starts");
    let url = dashboard.url().to_string();
    let http = harness::cluster::http_client(Duration::from_secs(5)).expect("a client");

    let first = until(&http, &url, "a leader", |f| f.leader).await;
    let (status, body) = post(&http, &url, &format!("api/nodes/{first}/crash")).await;
    assert_eq!((status, body["ok"].as_bool()), (200, Some(true)), "{body}");
    let (status, body) = post(&http, &url, &format!("api/nodes/{first}/crash")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("already_crashed")),
        "{body}"
    );
    let second = until(&http, &url, "another leader", |f| {
        f.leader.filter(|&l| l != first)
    })
    .await;
    let frame = state(&http, &url).await.expect("state");
    assert!(
        !frame.nodes[first].running,
        "the crashed node shows as crashed"
    );
    assert!(
        frame.events.iter().any(|e| e.kind == "crash"),
        "the crash is an event: {:?}",
        frame.events
    );

    let (status, body) = post(&http, &url, &format!("api/links/{first}/{second}/cut")).await;
    assert_eq!(status, 200, "{body}");
    until(&http, &url, "the cut link shown as cut", |f| {
        f.links.iter().find(|l| l.cut).map(|l| (l.a, l.b))
    })
    .await;
    let (status, _) = post(&http, &url, "api/heal").await;
    assert_eq!(status, 200, "healing every link answers 200");
    let (status, body) = post(&http, &url, &format!("api/nodes/{first}/restart")).await;
    assert_eq!(status, 200, "{body}");
    until(&http, &url, "the restarted node back and following", |f| {
        let node = &f.nodes[first];
        (node.running && node.reachable && node.status.role == "follower").then_some(())
    })
    .await;

    let frame = until(
        &http,
        &url,
        "a window checked, linearizable, nothing lost",
        |f| {
            let w = &f.workload;
            (w.checked_windows >= 1 && w.acknowledged_writes > 0).then(|| f.clone())
        },
    )
    .await;
    assert_eq!(
        frame.workload.verdict, "linearizable",
        "{:?}",
        frame.workload
    );
    assert_eq!(frame.workload.lost_writes, 0, "{:?}", frame.workload);

    let recording: Value = http
        .get(format!("{url}api/recording"))
        .send()
        .await
        .expect("recording")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        recording["format"], 1,
        "a recording states its format, so a page can refuse one it cannot read"
    );
    assert!(
        recording["frames"]
            .as_array()
            .is_some_and(|f| !f.is_empty()),
        "a recording keeps the frames of the run"
    );
    assert!(
        recording["history"]
            .as_array()
            .is_some_and(|h| !h.is_empty()),
        "a recording keeps the workload's history of client calls"
    );
    assert!(
        recording["events"].as_array().is_some_and(|e| e.len() >= 3),
        "a recording keeps every event: here the crash, the cut and the heal at least"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_the_live_clusters_page_stream_and_bad_requests_answer_as_documented() {
    let dashboard = chapter5::demo::start(options(3), Timing::FAST)
        .await
        .expect("the live cluster starts");
    let url = dashboard.url().to_string();
    let http = harness::cluster::http_client(Duration::from_secs(5)).expect("a client");

    let page = http
        .get(&url)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    assert!(
        page.contains("Live cluster") && page.contains("/app.js"),
        "{page}"
    );
    let script = http
        .get(format!("{url}app.js"))
        .send()
        .await
        .expect("script");
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript",
        "app.js is served as JavaScript, or the browser will not run it"
    );

    let mut events = http
        .get(format!("{url}api/events"))
        .send()
        .await
        .expect("the event stream opens");
    let chunk = tokio::time::timeout(PATIENCE, events.chunk())
        .await
        .expect("a frame arrives at once")
        .expect("readable")
        .expect("not the end");
    let text = String::from_utf8_lossy(&chunk);
    assert!(text.starts_with("data: {"), "{text}");

    for (path, status, code) in [
        ("api/nodes/9/crash", 404, "no_such_node"),
        ("api/nodes/x/restart", 400, "not_a_node"),
        ("api/links/1/1/cut", 400, "same_node"),
        ("api/links/0/7/heal", 404, "no_such_node"),
        ("api/nodes/0/restart", 409, "running"),
        ("api/nowhere", 404, "not_found"),
    ] {
        let (got, body) = post(&http, &url, path).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(code)),
            "{path}: {body}"
        );
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{path}: {body}"
        );
    }
    let timeline = http
        .get(format!("{url}timeline"))
        .send()
        .await
        .expect("answers");
    assert_eq!(timeline.status().as_u16(), 404, "no violation, no timeline");

    let public = Options {
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        ..options(3)
    };
    let refused = chapter5::demo::start(public, Timing::FAST).await;
    let error = refused.expect_err("a page that crashes nodes is not served beyond loopback");
    assert!(error.to_string().contains("loopback"), "{error}");
    let too_many = chapter5::demo::start(options(10), Timing::FAST).await;
    assert!(
        too_many
            .expect_err("10 nodes")
            .to_string()
            .contains("3 to 9"),
        "the live cluster refuses 10 nodes and says it runs 3 to 9"
    );
}
