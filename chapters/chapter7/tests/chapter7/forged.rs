//! A peer's or a controller's bytes are input like any other: forged or wrong requests
//! on the internal routes get a JSON error or a refusal, change nothing, and the replica
//! keeps serving.

use std::time::Duration;

use chapter7::group::Group;
use chapter7::machine::{Kind, Machine};
use chapter7::placement::shard_of;
use chapter7::service::Service;
use chapter7::system::{self, nodes_of};
use harness::cluster::http_client;
use serde_json::{Value, json};

use crate::common::{SHARDS, key_in};
use crate::loopback::{PATIENCE, client, controller, leader_of, start, status};

/// Posts `body` to `path` at `url`, with the cluster's key if `key` is given; the status
/// and the JSON body.
pub async fn post(url: &str, path: &str, key: Option<&str>, body: String) -> (u16, Value) {
    let http = http_client(Duration::from_secs(5)).expect("an HTTP client");
    let mut request = http
        .post(format!("{url}{path}"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(key) = key {
        request = request.header("x-cluster-key", key);
    }
    let response = request.send().await.expect("the replica answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_forged_internal_requests_are_refused_and_the_replicas_keep_serving() {
    let cluster = start(2, 9);
    let mut admin = controller(&cluster);
    let config = admin
        .change(&system::join(&cluster, &[1, 2]))
        .await
        .expect("groups 1 and 2 join");
    let shard = (0..SHARDS)
        .find(|&s| config.owner(s) == 1)
        .expect("group 1 owns a shard");
    let key = key_in(shard);
    let mut writer = client(&cluster, "writer", PATIENCE);
    writer.put(&key, "safe", None).await.expect("a write");
    let leader = leader_of(&cluster, 1).await;
    let url = cluster.direct_url(leader);
    let secret = cluster.cluster_key().expose().map(str::to_string);
    let secret = secret.as_deref();
    assert_eq!(
        shard_of(&key, SHARDS),
        shard,
        "the key is in the shard chosen"
    );

    // Without the key: refused before the body is read.
    let delete = json!({"Delete": {"shard": shard, "num": 99}}).to_string();
    let (code, body) = post(&url, "/internal/group", None, delete.clone()).await;
    assert_eq!(
        code, 401,
        "an internal request without the cluster's key is refused: {body}"
    );
    // Not the JSON the route takes.
    let (code, body) = post(&url, "/internal/group", secret, "{\"Nuke\": {}}".into()).await;
    assert_eq!(
        (code, body["error"].as_str()),
        (400, Some("invalid_body")),
        "a body that is not a step the route takes is a JSON error, 400 invalid_body: {body}"
    );
    // A delete of a shard the group serves, and an install of a shard that does not
    // exist: refused by the group's machine (400), nothing changed.
    let (code, body) = post(&url, "/internal/group", secret, delete).await;
    assert_eq!(
        (code, body["error"].as_str()),
        (400, Some("invalid_body")),
        "a delete of a shard the group serves is refused: configuration 99 was never made, \
         and no configuration deletes a served shard: {body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("refused"),
        "the refusal says so: {body}"
    );
    let install = json!({"Install": {"shard": 999, "num": 5, "data": {"kv": {}, "version": 0, "answered": {}}}});
    let (code, body) = post(&url, "/internal/group", secret, install.to_string()).await;
    assert_eq!(
        (code, body["error"].as_str()),
        (400, Some("invalid_body")),
        "an install of a shard that does not exist is refused: {body}"
    );
    // A step too big for one log entry (a whole shard of 7 MB): refused before it is
    // proposed, since no follower could ever receive it.
    let huge = json!({"Install": {"shard": shard, "num": 50, "data": {
        "kv": {"k": ["x".repeat(7_000_000), 1]}, "version": 1, "answered": {}}}});
    let (code, body) = post(&url, "/internal/group", secret, huge.to_string()).await;
    assert_eq!(
        (code, body["error"].as_str()),
        (413, Some("too_large")),
        "a step too big for one log entry is refused before it is proposed: {body}"
    );
    // A group's work at the service, and the service's at a group.
    let service = cluster.direct_url(nodes_of(0).start);
    let (code, body) = post(
        &service,
        "/internal/group",
        secret,
        json!({"Freeze": {"shard": 0, "num": 9}}).to_string(),
    )
    .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (400, Some("wrong_kind")),
        "a shard step sent to the service is refused as the wrong kind of work, at any of \
         its replicas, before anything is proposed: {body}"
    );
    // A join of more groups than a configuration may hold.
    let many: Vec<(u64, Vec<String>)> = (10..100).map(|g| (g, vec!["http://x".into()])).collect();
    let join = json!({"Propose": {"base": config.num, "change": {"Join": many}}});
    let service_leader = leader_of(&cluster, 0).await;
    let (code, body) = post(
        &cluster.direct_url(service_leader),
        "/internal/service",
        secret,
        join.to_string(),
    )
    .await;
    assert_eq!(
        code, 200,
        "the service answers a proposal, even one it refuses: {body}"
    );
    assert!(
        body.get("Refused").is_some(),
        "a join of more groups than a configuration may hold is refused: {body}"
    );

    // A snapshot of another machine, sent as the last piece of an InstallSnapshot to a
    // follower of group 1: the service's machine, and group 2's.
    let follower = nodes_of(1).find(|&n| n != leader).expect("a follower");
    let before = status(&cluster.direct_url(follower))
        .await
        .expect("a status");
    for (what, machine) in [
        (
            "the service's",
            Machine::new(Kind::Service(Service::new(SHARDS))),
        ),
        (
            "group 2's",
            Machine::new(Kind::Group(Group::new(2, SHARDS))),
        ),
    ] {
        // A machine at index 0 snapshotted; the snapshot must say the same index.
        let data = machine
            .snapshot()
            .replace("\"applied\":0", "\"applied\":1000");
        let message = json!({"envelopes": [{
            "from": leader, "from_url": "http://127.0.0.1:1", "to": follower,
            "message": {"type": "install_snapshot", "term": before.term, "last_index": 1000,
                        "last_term": before.term, "offset": 0, "data": data, "done": true}
        }]});
        let (code, body) = post(
            &cluster.direct_url(follower),
            "/internal/raft",
            secret,
            message.to_string(),
        )
        .await;
        assert_eq!(code, 400, "{what} snapshot must be refused: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("cannot replace"),
            "{what} snapshot: {body}"
        );
    }

    // Every replica still serves, and nothing was lost.
    let after = status(&cluster.direct_url(follower))
        .await
        .expect("a status");
    assert_eq!(
        after.fault, None,
        "a replica sent forged snapshots keeps running: {after:?}"
    );
    assert!(
        after.snapshot_index < 1000,
        "a snapshot of another machine is never installed (the follower's snapshot is at {})",
        after.snapshot_index
    );
    let mut reader = client(&cluster, "reader", PATIENCE);
    assert_eq!(
        reader.get(&key).await.expect("a read").map(|(v, _)| v),
        Some("safe".into()),
        "forged requests change nothing: the key written before them still reads \"safe\""
    );
}
