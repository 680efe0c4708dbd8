//! Chapter-wide tests: membership changes under load, and bad input.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use chapter4::validate::MAX_BODY_BYTES;
use harness::history::{KvOp, KvOutput, Outcome, Recorder};
use harness::limits::check_body_limit;
use harness::linearizability::check;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{CONSISTENT, PATIENCE, TestCluster, call, http, join, leave, put, send};

const KEYS: usize = 12;
const WRITERS: usize = 4;

/// What one recorded call looked like over HTTP.
fn outcome_of(op: &KvOp, status: Option<u16>, body: &Value) -> Outcome {
    let version = |field: &str| body[field].as_u64().unwrap_or_default();
    match (op, status) {
        (KvOp::Get { .. }, Some(200)) => Outcome::Ok(KvOutput::Value(
            body["value"]
                .as_str()
                .map(|v| (v.to_string(), version("version"))),
        )),
        (KvOp::Get { .. }, Some(404)) => Outcome::Ok(KvOutput::Value(None)),
        (KvOp::Put { .. }, Some(200)) => Outcome::Ok(KvOutput::Written {
            version: version("version"),
        }),
        (KvOp::Put { .. }, Some(409)) => Outcome::Ok(KvOutput::Mismatch {
            current: version("current_version"),
        }),
        (KvOp::Delete { .. }, Some(200)) => Outcome::Ok(KvOutput::Deleted {
            version: version("version"),
        }),
        (KvOp::Delete { .. }, Some(404)) => Outcome::Ok(KvOutput::NotFound),
        // 503: refused before anything was written (owner unreachable, key still moving).
        (_, Some(503)) => Outcome::Failed,
        (KvOp::Get { .. }, _) => Outcome::Failed,
        // 504 or no answer: the write may or may not have happened.
        (_, Some(504) | None) => Outcome::Unknown,
        (op, Some(status)) => panic!("{op}: unexpected {status} {body}"),
    }
}

/// Writers and readers on `KEYS` keys through every entry node in `urls`, recorded,
/// until `stop` is set, counting acknowledged writes in `acknowledged`.
async fn client(
    id: usize,
    urls: Arc<Vec<String>>,
    recorder: Recorder,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<AtomicUsize>,
) {
    let http = http();
    let mut seq = 0usize;
    // The version this client last saw of each key, for its conditional writes.
    let mut seen = [0u64; KEYS];
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        let k = (id * 7 + seq) % KEYS;
        let key = format!("hot-{k}");
        let entry = &urls[(id + seq) % urls.len()];
        let url = format!("{entry}/kv/{key}");
        let value = format!("c{id}-{seq}");
        // Gets, puts, conditional puts and deletes, in a fixed rotation.
        let (op, request) = match seq % 6 {
            0 | 3 => (
                KvOp::Get { key: key.clone() },
                http.request(Method::GET, &url),
            ),
            1 | 4 => (
                KvOp::Put {
                    key: key.clone(),
                    value: value.clone(),
                    if_version: None,
                },
                http.request(Method::PUT, &url)
                    .json(&json!({ "value": value })),
            ),
            2 => (
                KvOp::Put {
                    key: key.clone(),
                    value: value.clone(),
                    if_version: Some(seen[k]),
                },
                http.request(Method::PUT, &url)
                    .json(&json!({ "value": value, "if_version": seen[k] })),
            ),
            _ => (
                KvOp::Delete { key: key.clone() },
                http.request(Method::DELETE, &url),
            ),
        };
        let call = recorder.invoke(id, op.clone());
        let outcome = match send(request).await {
            Ok(answer) => outcome_of(&op, Some(answer.status), &answer.body),
            Err(e) if e.to_string().contains("is not implemented yet") => panic!("{e}"),
            Err(_) => outcome_of(&op, None, &Value::Null),
        };
        if let Outcome::Ok(output) = &outcome {
            match output {
                KvOutput::Value(found) => seen[k] = found.as_ref().map_or(0, |(_, v)| *v),
                KvOutput::Written { version } => {
                    seen[k] = *version;
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                }
                KvOutput::Mismatch { current } => seen[k] = *current,
                KvOutput::Deleted { .. } | KvOutput::NotFound => seen[k] = 0,
            }
        }
        call.finish(outcome);
    }
}

/// Runs `change` while `WRITERS` clients write and read; checks the whole history,
/// final reads of every key included, for linearizability.
async fn under_load<F, Fut>(urls: Vec<String>, read_from: Vec<String>, change: F)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let recorder = Recorder::new();
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let urls = Arc::new(urls);
    let clients: Vec<_> = (0..WRITERS)
        .map(|id| {
            tokio::spawn(client(
                id,
                Arc::clone(&urls),
                recorder.clone(),
                Arc::clone(&stop),
                Arc::clone(&acknowledged),
            ))
        })
        .collect();
    // Let the load get going (polled, not slept), change, and keep writing after.
    let wait_for = |n: usize| {
        let acknowledged = Arc::clone(&acknowledged);
        harness::eventually(
            PATIENCE,
            "the writers to get writes acknowledged",
            move || {
                let now = acknowledged.load(Ordering::Relaxed);
                async move {
                    if now >= n {
                        Ok(())
                    } else {
                        Err(format!("{now} so far"))
                    }
                }
            },
        )
    };
    wait_for(20).await.unwrap_or_else(|e| panic!("{e}"));
    let before = acknowledged.load(Ordering::Relaxed);
    change().await;
    let during = acknowledged.load(Ordering::Relaxed) - before;
    wait_for(before + during + 20)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    }
    // Every key, read once more through every node still in use.
    for key in 0..KEYS {
        for (i, url) in read_from.iter().enumerate() {
            let key = format!("hot-{key}");
            let call = recorder.invoke(100 + i, KvOp::Get { key: key.clone() });
            let answer = crate::common::get(url, &key).await;
            assert!(
                [200, 404].contains(&answer.status),
                "a settled cluster answers every read: {} {}",
                answer.status,
                answer.body
            );
            call.finish(outcome_of(
                &KvOp::Get { key },
                Some(answer.status),
                &answer.body,
            ));
        }
    }
    let operations = recorder.operations();
    assert!(
        during > 0,
        "no write was acknowledged while the change ran: the test would prove nothing"
    );
    eprintln!(
        "{} operations, {during} writes acknowledged during the change",
        operations.len()
    );
    check(&operations, Duration::from_secs(30)).assert_linearizable();
}

/// The client body limit, from both sides, through every entry node: the largest valid
/// value is forwarded to its owner and read back through another node; one byte more is
/// refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_the_largest_valid_body_is_forwarded_and_one_byte_more_is_not() {
    let cluster = TestCluster::start(3, CONSISTENT);
    for via in 1..=3u64 {
        let put_url = format!("{}/kv/big-{via}", cluster.url(via));
        let get_url = format!("{}/kv/big-{via}", cluster.url(via % 3 + 1));
        check_body_limit(&http(), &put_url, &get_url, MAX_BODY_BYTES)
            .await
            .unwrap_or_else(|e| panic!("entering through node {via}: {e}"));
    }
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_writes_during_a_join_lose_nothing_and_stay_linearizable() {
    let mut cluster = TestCluster::start(3, CONSISTENT);
    // Enough data that the transfer takes a while.
    for i in 0..300 {
        put(
            &cluster.url(1 + i % 3),
            &format!("bulk-{i}"),
            &"x".repeat(200),
        )
        .await;
    }
    let url = cluster.start_outside(4);
    let entries: Vec<String> = (1..=3).map(|id| cluster.url(id)).collect();
    let mut read_from = entries.clone();
    read_from.push(url.clone());
    let via = cluster.url(2);
    under_load(entries, read_from, || async move {
        join(&via, 4, &url).await;
    })
    .await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_writes_during_a_leave_lose_nothing_and_stay_linearizable() {
    let cluster = TestCluster::start(4, CONSISTENT);
    for i in 0..300 {
        put(
            &cluster.url(1 + i % 4),
            &format!("bulk-{i}"),
            &"x".repeat(200),
        )
        .await;
    }
    // Clients keep using node 3 as an entry while it leaves: it forwards.
    let entries: Vec<String> = (1..=4).map(|id| cluster.url(id)).collect();
    let via = cluster.url(1);
    under_load(entries.clone(), entries, || async move {
        leave(&via, 3).await;
    })
    .await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_an_unreachable_owner_is_a_json_error_that_says_nothing_was_written() {
    let mut cluster = TestCluster::start(2, CONSISTENT);
    let ring = crate::common::view(&cluster.url(1)).await.ring;
    let key = crate::common::random_keys(10, 200)
        .into_iter()
        .find(|k| ring.owner(k).is_some_and(|m| m.id == 2))
        .expect("node 2 owns some key");
    cluster.node_mut(2).crash();
    // A crashed runtime closes its listener on a background thread: until it has, the
    // kernel still accepts connections for it (and then resets them, which node 1 must
    // report as "may or may not have happened"). Wait until the port refuses.
    let addr = cluster.node(2).addr();
    harness::eventually(
        PATIENCE,
        "node 2's port to refuse connections",
        || async move {
            match tokio::net::TcpStream::connect(addr).await {
                Ok(_) => Err("still accepting".to_string()),
                Err(_) => Ok(()),
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let answer = call(
        Method::PUT,
        &format!("{}/kv/{key}", cluster.url(1)),
        Some(json!({"value": "x"})),
    )
    .await
    .expect("node 1 answers");
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(
        answer.body["error"], "unavailable",
        "an unreachable owner is reported as unavailable, not as a write that happened: {}",
        answer.body
    );
    assert!(
        answer.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("node 2")),
        "the message names the owner: {}",
        answer.body
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_kept_alive_connection_survives_every_refusal() -> anyhow::Result<()> {
    let cluster = TestCluster::start(3, CONSISTENT);
    let target = harness::keep_alive::Target {
        base: cluster.url(1),
        body_limit: MAX_BODY_BYTES,
        internal: Some("/internal/ring".into()),
    };
    // Keys of every owner: node 1 serves its own and forwards the others.
    let report =
        harness::keep_alive::survives_refusals(&target, 2_000, |i| format!("kept-{i}")).await?;
    assert_eq!(
        report.written + report.refused,
        2_000,
        "every request of the mix was answered on the one connection: {report:?}"
    );
    Ok(())
}
