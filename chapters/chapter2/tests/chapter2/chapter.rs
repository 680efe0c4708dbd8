//! Chapter-wide tests: restarts, crashes at random points, a real kill -9, bad input,
//! a full disk, a corrupt log.
//! Book: chapter 2, "The system".

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chapter2::store::StoreError;
use chapter2::validate::MAX_BODY_BYTES;
use chapter2::wal::FsyncPolicy;
use chapter2::{Client, Config};
use harness::disk::{CrashMode, SimDisk};
use harness::limits::check_body_limit;
use harness::process::ProcessNode;
use reqwest::Method;
use serde_json::json;

use crate::common::{bounded, call, open, put_json, sim_config, start_node, try_open};

#[tokio::test]
async fn chapter_a_restarted_node_keeps_every_acknowledged_write() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let config = Config {
        data_dir: data.path().to_path_buf(),
        ..Config::default()
    };
    let mut node = start_node(config.clone());
    let client = Client::new(&node.url())?;
    for i in 0..50 {
        client.put(&format!("k{i}"), &format!("v{i}")).await?;
    }
    client.delete("k7").await?;
    node.stop().await?;
    node.restart().await?;
    // A new client: the old one's pooled connections belong to the stopped server.
    let client = Client::new(&node.url())?;
    for i in (0..50).filter(|i| *i != 7) {
        let entry = client
            .get(&format!("k{i}"))
            .await?
            .unwrap_or_else(|| panic!("k{i} was acknowledged"));
        assert_eq!(
            entry.value,
            format!("v{i}"),
            "k{i} was acknowledged before the stop, so the restarted node still has it"
        );
    }
    assert!(
        client.get("k7").await?.is_none(),
        "the delete was acknowledged too"
    );
    assert_eq!(
        client.put("next", "x").await?.version,
        52,
        "versions continue from the log"
    );
    node.stop().await
}

/// The client body limit, from both sides: the largest valid value goes through the log
/// and comes back after a restart; one byte more is refused.
#[tokio::test]
async fn chapter_the_largest_valid_body_is_logged_and_one_byte_more_is_not() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let config = Config {
        data_dir: data.path().to_path_buf(),
        ..Config::default()
    };
    let mut node = start_node(config);
    let url = format!("{}/kv/big", node.url());
    let http = reqwest::Client::new();
    check_body_limit(&http, &url, &url, MAX_BODY_BYTES)
        .await
        .map_err(anyhow::Error::msg)?;
    node.stop().await?;
    node.restart().await?;
    let entry = Client::new(&node.url())?
        .get("big")
        .await?
        .expect("the largest value was acknowledged");
    assert_eq!(
        entry.value.len(),
        MAX_BODY_BYTES - r#"{"value":""}"#.len(),
        "the largest value is replayed whole from the log"
    );
    node.stop().await
}

/// Writers on distinct keys; the disk crashes at a random point (losing, tearing or
/// reordering what was not synced, as the seed decides); the store reopened from what
/// survived must have every write that was acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_crashes_at_random_points_never_lose_an_acknowledged_write() {
    for seed in 0..300u64 {
        crash_and_recover(seed, CrashMode::Seeded, false).await;
    }
}

/// The crash that real page caches allow: unsynced blocks reach the disk in any order,
/// so a damaged stretch can be followed by intact bytes. None of them was acknowledged,
/// so the node must start, and keep every write that was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_crash_that_reorders_unsynced_blocks_loses_nothing_acknowledged_and_the_node_starts()
 {
    for seed in 1000..1300u64 {
        crash_and_recover(seed, CrashMode::Reordered, true).await;
    }
}

/// One schedule: four writers, a crash after a random number of acknowledgements (or,
/// `during_sync`, in the middle of a random fsync: power lost with a batch written and
/// not yet synced), both fsync policies (by the seed's parity), frequent compactions
/// every third seed.
async fn crash_and_recover(seed: u64, mode: CrashMode, during_sync: bool) {
    let disk = SimDisk::new(seed);
    let mut rng = fastrand::Rng::with_seed(seed);
    let policy = if seed.is_multiple_of(2) {
        FsyncPolicy::Group
    } else {
        FsyncPolicy::Always
    };
    // Every third seed compacts often, so crashes also land inside compactions.
    let compact_after = if seed.is_multiple_of(3) {
        1024
    } else {
        u64::MAX
    };
    let store = Arc::new(open(&disk, policy, compact_after));
    let acked: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let crash_after = rng.usize(1..120);
    if during_sync {
        disk.crash_during_sync(rng.u64(1..40), mode);
    }
    let mut writers = Vec::new();
    for w in 0..4 {
        let (store, acked) = (Arc::clone(&store), Arc::clone(&acked));
        writers.push(tokio::spawn(async move {
            for i in 0..60 {
                let (key, value) = (format!("w{w}-{i}"), format!("value {w} {i}"));
                match bounded(store.put(&key, value.clone(), None)).await {
                    Ok(_) => {
                        acked
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(key, value);
                    }
                    Err(StoreError::Unavailable(_)) => return,
                    Err(e) => panic!("seed {seed}: unexpected {e}"),
                }
            }
        }));
    }
    let acked_before_crash = loop {
        let count = acked.lock().unwrap_or_else(|p| p.into_inner()).len();
        let done = if during_sync {
            disk.armed_crash().is_some()
        } else {
            count >= crash_after
        };
        if done || writers.iter().all(|w| w.is_finished()) {
            break count;
        }
        tokio::task::yield_now().await;
    };
    let report = match disk.armed_crash() {
        Some(report) => report,
        None => disk.crash_with(mode),
    };
    for writer in writers {
        let _ = writer.await;
    }
    let acknowledged = acked.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let reopened = try_open(&disk, policy, compact_after).unwrap_or_else(|e| {
        panic!("seed {seed} ({mode:?}, {policy:?}): recovery failed after {report:?}: {e}")
    });
    for (key, value) in &acknowledged {
        let found = bounded(reopened.get(key))
            .await
            .ok()
            .flatten()
            .map(|v| v.value);
        assert_eq!(
            found.as_ref(),
            Some(value),
            "seed {seed} ({mode:?}, {policy:?}, compact after {compact_after} bytes): {key} was \
             acknowledged ({acked_before_crash} acks when the disk crashed: {report:?}) but is \
             gone after recovery"
        );
    }
}

#[tokio::test]
async fn chapter_a_sigkilled_server_keeps_every_acknowledged_write() -> anyhow::Result<()> {
    let mut node = ProcessNode::start(env!("CARGO_BIN_EXE_chapter2"), |addr, dir| {
        let data = dir.join("data").display().to_string();
        [
            "serve",
            "--addr",
            &addr.to_string(),
            "--data-dir",
            &data,
            "--fsync",
            "group",
        ]
        .map(String::from)
        .to_vec()
    })
    .await?;
    let client = Arc::new(Client::new(&node.url())?);
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..8 {
        let (client, acked) = (Arc::clone(&client), Arc::clone(&acked));
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let (key, value) = (format!("w{w}-{i}"), format!("{w}:{i}"));
                if client.put(&key, &value).await.is_err() {
                    return; // the process is gone
                }
                acked
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((key, value));
            }
        }));
    }
    harness::eventually(Duration::from_secs(30), "200 acknowledged writes", || {
        let count = acked.lock().unwrap_or_else(|p| p.into_inner()).len();
        async move {
            if count >= 200 {
                Ok(())
            } else {
                Err(format!("{count} so far"))
            }
        }
    })
    .await?;
    node.kill();
    for writer in writers {
        writer.await?;
    }
    node.restart().await?;
    // A new client: the old one's pooled connections died with the killed process.
    let client = Client::new(&node.url())?;
    let acknowledged = acked.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for (key, value) in &acknowledged {
        let found = client.get(key).await?.map(|e| e.value);
        assert_eq!(
            found.as_ref(),
            Some(value),
            "{key} was acknowledged before kill -9; log:\n{}",
            node.log()
        );
    }
    Ok(())
}

// Chapter 1's table, unchanged: every bad input it rejects is still rejected.
/// One bad request and the error it must get.
struct BadInput {
    what: &'static str,
    method: Method,
    path: String,
    body: Option<(&'static str, Vec<u8>)>,
    status: u16,
    code: &'static str,
    hint: &'static str,
}

impl BadInput {
    fn new(what: &'static str, method: Method, path: impl Into<String>) -> Self {
        let path = path.into();
        Self {
            what,
            method,
            path,
            body: None,
            status: 0,
            code: "",
            hint: "",
        }
    }
    fn body(mut self, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some((content_type, body.into()));
        self
    }
    fn json(self, body: impl Into<Vec<u8>>) -> Self {
        self.body("application/json", body)
    }
    /// The status, error code, and a word the message must contain.
    fn expect(mut self, status: u16, code: &'static str, hint: &'static str) -> Self {
        (self.status, self.code, self.hint) = (status, code, hint);
        self
    }
}

#[tokio::test]
async fn chapter_every_bad_input_gets_its_documented_error_and_loses_nothing() -> anyhow::Result<()>
{
    use Method as M;
    let data = tempfile::tempdir()?;
    let mut node = start_node(Config {
        data_dir: data.path().to_path_buf(),
        ..Config::default()
    });
    let url = node.url();
    let (_, kept) = put_json(&format!("{url}/kv/kept"), &json!({"value": "precious"})).await?;

    let too_big = format!("{{\"value\": \"{}\"}}", "x".repeat(1024 * 1024));
    let cases = [
        BadInput::new(
            "key over 256 bytes",
            M::GET,
            format!("/kv/{}", "k".repeat(257)),
        )
        .expect(400, "invalid_key", "257"),
        BadInput::new("control character in key", M::GET, "/kv/a%0Ab").expect(
            400,
            "invalid_key",
            "control",
        ),
        BadInput::new("empty key", M::PUT, "/kv/")
            .json(r#"{"value":"v"}"#)
            .expect(400, "invalid_key", "empty"),
        BadInput::new("key not UTF-8", M::GET, "/kv/%FF").expect(400, "invalid_key", "UTF-8"),
        BadInput::new("body over 1 MiB", M::PUT, "/kv/k")
            .json(too_big)
            .expect(413, "too_large", "1 MiB"),
        BadInput::new("malformed JSON", M::PUT, "/kv/k")
            .json(r#"{"value": "#)
            .expect(400, "invalid_body", "not valid JSON"),
        BadInput::new("value not a string", M::PUT, "/kv/k")
            .json(r#"{"value": 5}"#)
            .expect(400, "invalid_body", "string"),
        BadInput::new("misspelt field", M::PUT, "/kv/k")
            .json(r#"{"valeu": "x"}"#)
            .expect(400, "invalid_body", "valeu"),
        BadInput::new("negative if_version", M::PUT, "/kv/k")
            .json(r#"{"value": "x", "if_version": -1}"#)
            .expect(400, "invalid_body", "if_version"),
        BadInput::new("no content type", M::PUT, "/kv/k")
            .body("", r#"{"value": "x"}"#)
            .expect(415, "invalid_body", "Content-Type"),
        BadInput::new("text content type", M::PUT, "/kv/k")
            .body("text/plain", "x")
            .expect(415, "invalid_body", "application/json"),
        BadInput::new("unknown route", M::GET, "/kv/a/b").expect(404, "not_found", "no route"),
        BadInput::new("unknown method", M::PATCH, "/kv/k")
            .json("{}")
            .expect(405, "method_not_allowed", "PATCH"),
    ];
    // Valid JSON that is not an object (serde alone would take the first three for one),
    // and a field given twice.
    let shapes = harness::json_body::NOT_OBJECTS.map(|body| {
        BadInput::new("a body that is not a JSON object", M::PUT, "/kv/k")
            .json(body)
            .expect(400, "invalid_body", "JSON object")
    });
    let twice = BadInput::new("a field given twice", M::PUT, "/kv/k")
        .json(r#"{"value": "a", "value": "b"}"#)
        .expect(400, "invalid_body", "duplicate");
    for case in cases.into_iter().chain(shapes).chain([twice]) {
        let what = case.what;
        let (status, body) = call(case.method, &format!("{url}{}", case.path), case.body).await?;
        assert_eq!(status, case.status, "{what}: status (body {body})");
        assert_eq!(body["error"], case.code, "{what}: error code (body {body})");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(case.hint),
            "{what}: the message should mention {:?}: {message:?}",
            case.hint
        );
        let (health, _) = call(Method::GET, &format!("{url}/health"), None).await?;
        assert_eq!(health, 200, "{what}: the node still answers /health");
    }
    let (status, after) = call(Method::GET, &format!("{url}/kv/kept"), None).await?;
    assert_eq!(
        (status, &after),
        (200, &kept),
        "bad requests changed nothing that was stored"
    );
    let (_, status_body) = call(Method::GET, &format!("{url}/status"), None).await?;
    assert_eq!(
        (
            status_body["last_version"].as_u64(),
            status_body["durable_version"].as_u64()
        ),
        (Some(1), Some(1)),
        "no bad request took a version or reached the log: {status_body}"
    );
    node.stop().await
}

#[tokio::test]
async fn chapter_a_full_disk_answers_503_and_acknowledges_nothing() -> anyhow::Result<()> {
    let disk = SimDisk::new(8);
    let mut node = start_node(sim_config(&disk));
    let url = node.url();
    put_json(&format!("{url}/kv/before"), &json!({"value": "safe"})).await?;
    disk.set_full(true);
    let (status, body) = put_json(&format!("{url}/kv/after"), &json!({"value": "lost"})).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("unavailable")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("no space")),
        "say why: {body}"
    );
    let (status, _) = call(Method::GET, &format!("{url}/kv/before"), None).await?;
    assert_eq!(status, 200, "what is durable is still served");
    let (status, _) = call(Method::GET, &format!("{url}/kv/after"), None).await?;
    assert_eq!(status, 503, "what was never durable is never shown");
    let (_, health) = call(Method::GET, &format!("{url}/health"), None).await?;
    assert_eq!(health["status"], "ok", "the node itself still answers");
    node.stop().await
}

#[tokio::test]
async fn chapter_a_corrupt_log_refuses_to_start_naming_the_file_and_offset() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let config = Config {
        data_dir: data.path().to_path_buf(),
        ..Config::default()
    };
    let mut node = start_node(config.clone());
    let client = Client::new(&node.url())?;
    for i in 0..5 {
        client.put(&format!("k{i}"), "value").await?;
    }
    node.stop().await?;
    let log = data.path().join("wal.log");
    let mut bytes = std::fs::read(&log)?;
    bytes[20] ^= 0x40; // inside the first record's payload
    std::fs::write(&log, &bytes)?;
    // The node is started again on the damaged log: it must refuse, and say why.
    node.restart().await?;
    let error = node
        .stop()
        .await
        .expect_err("a node on a corrupt log must not run");
    let message = format!("{error:#}");
    assert!(
        message.contains("wal.log") && message.contains("offset 0"),
        "name the file and the offset: {message}"
    );
    assert!(message.contains("refusing to start"), "{message}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_kept_alive_connection_survives_every_refusal() -> anyhow::Result<()> {
    let mut node = harness::TestNode::start(1, |ctx| {
        let config = chapter2::Config {
            data_dir: ctx.data_dir.clone(),
            ..chapter2::Config::default()
        };
        chapter2::run(ctx.listener, config, ctx.shutdown)
    })?;
    let target = harness::keep_alive::Target {
        base: node.url(),
        body_limit: chapter2::validate::MAX_BODY_BYTES,
        internal: None,
    };
    let report =
        harness::keep_alive::survives_refusals(&target, 2_000, |i| format!("kept-{i}")).await?;
    assert_eq!(
        report.written + report.refused,
        2_000,
        "every request of the mix was answered on the one connection: {report:?}"
    );
    node.stop().await
}
