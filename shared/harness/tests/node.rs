//! The node lifecycle: start, graceful stop, crash, restart, and panics reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use harness::{TestNode, eventually};

fn http() -> reqwest::Client {
    // No pooled connection may outlive a crash in these tests: the harness's client keeps none.
    harness::cluster::http_client(Duration::from_secs(10)).expect("a plain client builds")
}

/// A node whose `/slow` handler marks `entered` and then never finishes.
fn start_node(entered: Arc<AtomicBool>) -> TestNode {
    TestNode::start(7, move |ctx| {
        let entered = Arc::clone(&entered);
        async move {
            let app = Router::new()
                .route("/health", get(|| async { "ok" }))
                .route(
                    "/slow",
                    get(move || async move {
                        entered.store(true, Ordering::SeqCst);
                        std::future::pending::<&str>().await
                    }),
                );
            axum::serve(ctx.listener, app)
                .with_graceful_shutdown(ctx.shutdown)
                .await?;
            Ok(())
        }
    })
    .expect("a node starts")
}

#[tokio::test]
async fn a_stopped_node_refuses_connections() -> anyhow::Result<()> {
    let mut node = start_node(Arc::default());
    assert_eq!(
        http()
            .get(format!("{}/health", node.url()))
            .send()
            .await?
            .text()
            .await?,
        "ok",
        "a started node serves its routes"
    );
    node.stop().await?;
    assert!(!node.is_running(), "a stopped node is not running");
    let after = http().get(format!("{}/health", node.url())).send().await;
    assert!(
        after.is_err_and(|e| e.is_connect()),
        "nothing listens after a stop"
    );
    Ok(())
}

#[tokio::test]
async fn a_crash_kills_an_in_flight_request() -> anyhow::Result<()> {
    let entered = Arc::new(AtomicBool::new(false));
    let mut node = start_node(Arc::clone(&entered));
    let request = tokio::spawn(http().get(format!("{}/slow", node.url())).send());
    eventually(Duration::from_secs(5), "the slow handler to start", || {
        let entered = entered.load(Ordering::SeqCst);
        async move {
            if entered {
                Ok(())
            } else {
                Err("not entered yet".into())
            }
        }
    })
    .await?;
    node.crash();
    let outcome = request.await?;
    let error = outcome.expect_err("a request in flight when its node crashes gets no answer");
    assert!(
        !error.is_timeout(),
        "the connection dies with the node; nobody waits for a timeout: {error}"
    );
    Ok(())
}

#[tokio::test]
async fn a_restarted_node_serves_on_the_same_address() -> anyhow::Result<()> {
    let mut node = start_node(Arc::default());
    let addr = node.addr();
    node.crash();
    node.restart().await?;
    assert_eq!(
        node.addr(),
        addr,
        "a restarted node listens on the address it had"
    );
    assert_eq!(
        http()
            .get(format!("{}/health", node.url()))
            .send()
            .await?
            .text()
            .await?,
        "ok",
        "a restarted node serves again"
    );
    node.stop().await
}

#[tokio::test]
async fn a_panic_on_a_node_thread_is_recorded_with_its_place() -> anyhow::Result<()> {
    let node = TestNode::start(3, |ctx| async move {
        let app = Router::new().route(
            "/todo",
            get(|| async {
                todo!("exercise 9.1 is not implemented yet: edit exercises/chapter9/x.rs");
                #[allow(unreachable_code)]
                ""
            }),
        );
        axum::serve(ctx.listener, app).await?;
        Ok(())
    })?;
    let _ = http().get(format!("{}/todo", node.url())).send().await;
    let panics = eventually(
        Duration::from_secs(5),
        "the handler's panic to be recorded",
        || {
            let panics = node.panics();
            async move {
                if panics.is_empty() {
                    Err("no panic yet".into())
                } else {
                    Ok(panics)
                }
            }
        },
    )
    .await?;
    assert!(
        panics[0]
            .message
            .contains("exercise 9.1 is not implemented yet"),
        "{:?}",
        panics[0]
    );
    assert!(
        panics[0]
            .location
            .as_deref()
            .is_some_and(|l| l.contains("node.rs")),
        "{:?}",
        panics[0]
    );
    Ok(())
}

#[tokio::test]
async fn stop_reports_a_panic_of_the_nodes_main_task() {
    let mut node = TestNode::start(4, |ctx| async move {
        let _shutdown = ctx.shutdown.await;
        panic!("exercise 9.2 is not implemented yet: edit exercises/chapter9/y.rs");
    })
    .expect("a node starts");
    let error = node
        .stop()
        .await
        .expect_err("a panicking node does not stop cleanly");
    assert!(
        error.to_string().contains("node 4 panicked: exercise 9.2"),
        "{error}"
    );
}

/// Not a test on its own: the process the next tests start, with or without `RUST_LOG`.
#[tokio::test]
#[ignore = "run by the tests of RUST_LOG below"]
async fn node_event_child() -> anyhow::Result<()> {
    let node = TestNode::start(4, |ctx| async move {
        let app = Router::new().route(
            "/hello",
            get(|| async {
                tracing::info!(answer = 42, "a node's event");
                "ok"
            }),
        );
        axum::serve(ctx.listener, app)
            .with_graceful_shutdown(ctx.shutdown)
            .await?;
        Ok(())
    })?;
    http().get(format!("{}/hello", node.url())).send().await?;
    Ok(())
}

fn run_node_event_child(rust_log: Option<&str>) -> String {
    let mut child = std::process::Command::new(std::env::current_exe().expect("the test binary"));
    child.args(["--ignored", "--exact", "node_event_child", "--nocapture"]);
    match rust_log {
        Some(filter) => child.env("RUST_LOG", filter),
        None => child.env_remove("RUST_LOG"),
    };
    let out = child.output().expect("running the test binary again");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "the child test passes: {stdout}");
    stdout
}

#[test]
fn with_rust_log_a_nodes_events_are_printed_with_its_thread() {
    let out = run_node_event_child(Some("info"));
    let line = out
        .lines()
        .find(|l| l.contains("a node's event"))
        .unwrap_or_else(|| panic!("the event is printed: {out}"));
    assert!(
        line.contains("node-4#") && line.contains("answer=42"),
        "the line names the node's thread and the event's fields: {line}"
    );
}

#[test]
fn without_rust_log_nothing_is_printed() {
    let out = run_node_event_child(None);
    assert!(!out.contains("a node's event"), "{out}");
}
