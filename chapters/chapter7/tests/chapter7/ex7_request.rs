//! Exercise 7.7: a replica's request path, on real replicas over loopback. The
//! configurations these tests need are made by hand ([`join_by_hand`]: exercise 7.5's
//! mover, driven here), so that they need no controller (exercise 7.8).

use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use chapter7::call::{Answered, to_leader};
use chapter7::mover::{Action, Mover};
use chapter7::placement::shard_of;
use chapter7::system::{self, servers};
use chapter7::{Configuration, GroupId, GroupReply, ServiceOp, ServiceReply};
use harness::cluster::{Cluster, http_client};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::common::{SHARDS, key_in};
use crate::forged::post;
use crate::loopback::{PATIENCE, client, leader_of, start, status};

/// Sends `op` to `path` at the log whose servers are `servers` until its leader answers
/// (within [`PATIENCE`]); panics with the refusal if it refuses.
async fn call<R: DeserializeOwned>(
    cluster: &Cluster,
    servers: &[String],
    path: &str,
    op: &impl Serialize,
) -> R {
    let http = plumbing::cluster_key::peer_client(Duration::from_secs(10), cluster.cluster_key())
        .expect("an HTTP client");
    let hint = AtomicUsize::new(0);
    let started = Instant::now();
    loop {
        match to_leader(servers, &hint, |url| {
            http.post(format!("{url}{path}")).json(op)
        })
        .await
        {
            Answered::Ok(reply) => return reply,
            Answered::Error(status, body) => panic!(
                "{path} refused a step of a correct configuration change ({status}): {}",
                body.message
            ),
            Answered::NoLeader(why) => {
                assert!(
                    started.elapsed() < PATIENCE,
                    "no leader answered {path}: {why}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// Groups `ids` join the store, the change carried out here step by step with exercise
/// 7.5's mover (what a controller does, without one).
pub async fn join_by_hand(cluster: &Cluster, ids: &[GroupId]) -> Configuration {
    let service = servers(cluster, 0);
    let query = ServiceOp::Query { num: None };
    let answer: ServiceReply = call(cluster, &service, "/internal/service", &query).await;
    let ServiceReply::Config { config, .. } = answer else {
        panic!("the service answered a query with {answer:?}");
    };
    let change = system::join(cluster, ids);
    let propose = ServiceOp::Propose {
        base: config.num,
        change,
    };
    let next = match call(cluster, &service, "/internal/service", &propose).await {
        ServiceReply::Proposed(next) => next,
        other => panic!("the service refused a join: {other:?}"),
    };
    let mut mover = Mover::new(&config, &next);
    while !mover.is_finished() {
        for action in mover.actions() {
            match action {
                Action::Group { group, op } => {
                    let servers = next.groups[&group].clone();
                    let reply: GroupReply = call(cluster, &servers, "/internal/group", &op).await;
                    mover.on_reply(group, reply);
                }
                Action::Service(op) => {
                    if let ServiceReply::Finished { num } =
                        call(cluster, &service, "/internal/service", &op).await
                    {
                        mover.finished(num);
                    }
                }
            }
        }
    }
    next
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex7_a_key_is_served_through_the_log_and_elsewhere_is_421_wrong_group_naming_its_shard() {
    let cluster = start(2, 7);
    let config = join_by_hand(&cluster, &[1]).await;
    let shard = 3;
    assert_eq!(config.owner(shard), 1, "group 1 alone owns every shard");
    let key = key_in(shard);
    assert_eq!(
        shard_of(&key, SHARDS),
        shard,
        "key_in gives a key of the shard asked for"
    );
    let one = cluster.direct_url(leader_of(&cluster, 1).await);
    let two = cluster.direct_url(leader_of(&cluster, 2).await);
    let http = http_client(Duration::from_secs(5)).expect("an HTTP client");
    let before = status(&one).await.expect("a status").last_index;
    let put = http
        .put(format!("{one}/kv/{key}"))
        .json(&json!({"value": "v1"}))
        .send()
        .await
        .expect("group 1's leader answers");
    let code = put.status().as_u16();
    let body: Value = put.json().await.expect("a JSON body");
    assert_eq!(
        (code, body["version"].as_u64()),
        (200, Some(1)),
        "group 1 serves shard {shard}: a write there is applied through its log: {body}"
    );
    let got: Value = http
        .get(format!("{one}/kv/{key}"))
        .send()
        .await
        .expect("group 1's leader answers")
        .json()
        .await
        .expect("a JSON body");
    assert_eq!(got["value"], "v1", "the write is read back: {got}");
    let after = status(&one).await.expect("a status").last_index;
    assert!(
        after >= before + 2,
        "a write and a read each go through group 1's log (a read answered from the \
         replica's own state could come from a shard frozen by an entry it has not applied \
         yet): its last index went from {before} to {after}"
    );
    for (method, request) in [
        ("GET", http.get(format!("{two}/kv/{key}"))),
        (
            "PUT",
            http.put(format!("{two}/kv/{key}"))
                .json(&json!({"value": "v2"})),
        ),
        ("DELETE", http.delete(format!("{two}/kv/{key}"))),
    ] {
        let response = request.send().await.expect("group 2's leader answers");
        let code = response.status().as_u16();
        let body: Value = response.json().await.expect("a JSON body");
        assert_eq!(
            (code, body["error"].as_str()),
            (421, Some("wrong_group")),
            "{method} of a key of shard {shard} at group 2, which does not serve it: 421 \
             wrong_group, so that the client asks the service where it went: {body}"
        );
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains(&format!("shard {shard} "))),
            "wrong_group names the key's shard ({shard}): {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex7_a_command_too_big_for_one_log_entry_is_refused_before_it_is_proposed() {
    let cluster = start(1, 8);
    join_by_hand(&cluster, &[1]).await;
    let secret = cluster.cluster_key().expose().map(str::to_string);
    let group = cluster.direct_url(leader_of(&cluster, 1).await);
    // 7 MiB of data in one install: more than an entry may hold (6 MiB), less than an
    // internal request may carry (16 MiB).
    let big = "x".repeat(7 * 1024 * 1024);
    let install = json!({"Install": {"shard": 0, "num": 2,
        "data": {"kv": {"big": [big, 1]}, "version": 1, "answered": {}}}})
    .to_string();
    for attempt in 0.. {
        assert!(
            attempt < 5,
            "five probes in a row crossed an election: the cluster never settled"
        );
        let before = log_end(&group).await;
        let (code, body) = post(
            &group,
            "/internal/group",
            secret.as_deref(),
            install.clone(),
        )
        .await;
        assert_eq!(
            (code, body["error"].as_str()),
            (413, Some("too_large")),
            "a command bigger than one log entry may be ({} bytes) is refused with 413 before \
             anything else (the service is not even asked): an entry that big could never be \
             delivered to the followers, and the group's log would stop at it: {}",
            chapter7::command::MAX_ENTRY_BYTES,
            body["message"]
        );
        let after = log_end(&group).await;
        if after.1 != before.1 {
            continue; // an election in between appended its no-op: probe again
        }
        assert_eq!(
            after.0, before.0,
            "nothing was proposed: the log did not grow"
        );
        break;
    }
    let mut writer = client(&cluster, "writer", PATIENCE);
    writer
        .put(&key_in(0), "after", None)
        .await
        .expect("the group serves on after the refusal");
}

/// A replica's last log index, and its term (an election appends a no-op: a probe
/// taken across one says nothing).
async fn log_end(url: &str) -> (u64, u64) {
    let s = status(url).await.expect("a status");
    (s.last_index, s.term)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex7_work_for_the_other_kind_of_replica_is_refused_before_it_is_proposed() {
    let cluster = start(1, 5);
    join_by_hand(&cluster, &[1]).await;
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
async fn ex7_a_step_for_a_configuration_the_service_never_made_is_refused() {
    let cluster = start(2, 6);
    let config = join_by_hand(&cluster, &[1]).await;
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
