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
async fn post(url: &str, path: &str, key: Option<&str>, body: String) -> (u16, Value) {
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

/// A replica's last log index, and its term (an election appends a no-op: a probe
/// taken across one says nothing).
async fn log_end(url: &str) -> (u64, u64) {
    let s = status(url).await.expect("a status");
    (s.last_index, s.term)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_work_for_the_other_kind_of_replica_is_refused_before_it_is_proposed() {
    let cluster = start(1, 5);
    controller(&cluster)
        .change(&system::join(&cluster, &[1]))
        .await
        .expect("group 1 joins");
    let secret = cluster.cluster_key().expose().map(str::to_string);
    let secret = secret.as_deref();
    let service = cluster.direct_url(leader_of(&cluster, 0).await);
    let group = cluster.direct_url(leader_of(&cluster, 1).await);
    let http = http_client(Duration::from_secs(5)).expect("an HTTP client");
    for attempt in 0.. {
        assert!(
            attempt < 5,
            "five probes in a row crossed an election: the cluster never settled"
        );
        let before = (log_end(&service).await, log_end(&group).await);
        let mut answers = Vec::new();
        let put = http
            .put(format!("{service}/kv/k"))
            .json(&json!({"value": "v"}))
            .send()
            .await
            .expect("the service's leader answers");
        answers.push((
            "a key at the service",
            put.status().as_u16(),
            put.json::<Value>().await.expect("a JSON body"),
        ));
        let config = http
            .get(format!("{group}/config"))
            .send()
            .await
            .expect("group 1's leader answers");
        answers.push((
            "a configuration at a group",
            config.status().as_u16(),
            config.json::<Value>().await.expect("a JSON body"),
        ));
        let freeze = json!({"Freeze": {"shard": 0, "num": 2}}).to_string();
        let (code, body) = post(&service, "/internal/group", secret, freeze).await;
        answers.push(("a shard step at the service", code, body));
        let query = json!({"Query": {"num": null}}).to_string();
        let (code, body) = post(&group, "/internal/service", secret, query).await;
        answers.push(("the service's work at a group", code, body));
        for (what, code, body) in &answers {
            assert_eq!(
                (*code, body["error"].as_str()),
                (400, Some("wrong_kind")),
                "{what} is the other kind of replica's work: 400 wrong_kind: {body}"
            );
        }
        let after = (log_end(&service).await, log_end(&group).await);
        if (before.0.1, before.1.1) != (after.0.1, after.1.1) {
            continue; // an election in between appended its no-op: probe again
        }
        assert_eq!(
            (after.0.0, after.1.0),
            (before.0.0, before.1.0),
            "a replica refuses the other kind's work before it proposes anything: neither \
             log grew"
        );
        break;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_a_step_for_a_configuration_the_service_never_made_is_refused() {
    let cluster = start(2, 6);
    let config = controller(&cluster)
        .change(&system::join(&cluster, &[1]))
        .await
        .expect("group 1 joins");
    assert_eq!(config.num, 1, "the join is configuration 1");
    let secret = cluster.cluster_key().expose().map(str::to_string);
    let secret = secret.as_deref();
    let shard = 0;
    let key = key_in(shard);
    let mut writer = client(&cluster, "writer", PATIENCE);
    writer.put(&key, "before", None).await.expect("a write");
    let one = cluster.direct_url(leader_of(&cluster, 1).await);
    let two = cluster.direct_url(leader_of(&cluster, 2).await);
    let empty = json!({"kv": {}, "version": 0, "answered": {}});
    for (at, what, step) in [
        (
            &one,
            "a freeze for configuration u64::MAX (it would freeze the shard for good)",
            json!({"Freeze": {"shard": shard, "num": u64::MAX}}),
        ),
        (
            &one,
            "a freeze for configuration 1, which gives shard 0 to group 1 itself",
            json!({"Freeze": {"shard": shard, "num": 1}}),
        ),
        (
            &two,
            "an install for configuration 2, which the service has not made",
            json!({"Install": {"shard": shard, "num": 2, "data": empty}}),
        ),
        (
            &two,
            "an install at group 2 for configuration 1, which gives shard 0 to group 1",
            json!({"Install": {"shard": shard, "num": 1, "data": empty}}),
        ),
    ] {
        let (code, body) = post(at, "/internal/group", secret, step.to_string()).await;
        assert_eq!(
            (code, body["error"].as_str()),
            (400, Some("invalid_body")),
            "{what}: a group acts on a step only once the service confirms that the step's \
             configuration exists and calls for it: {body}"
        );
    }
    let http = http_client(Duration::from_secs(5)).expect("an HTTP client");
    let at_two = http
        .get(format!("{two}/kv/{key}"))
        .send()
        .await
        .expect("group 2's leader answers");
    assert_eq!(
        at_two.status().as_u16(),
        421,
        "group 2 installed nothing: it does not serve shard 0 (wrong_group)"
    );
    writer
        .put(&key, "after", None)
        .await
        .expect("a write after the refusals");
    assert_eq!(
        client(&cluster, "reader", PATIENCE)
            .get(&key)
            .await
            .expect("a read")
            .map(|(v, _)| v),
        Some("after".into()),
        "group 1 still serves shard 0: writes and reads go on"
    );
}
