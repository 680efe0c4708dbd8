//! Gossip Glomers' Kafka-style workload, replayed against the chapter: three clients
//! send to a handful of keys at once, poll, commit and list offsets through the
//! gateway, on two groups of three real replicas, one group's leader crashed midway.
//! The challenge's checks: every acknowledged send is polled back at its offset, a
//! key's offsets grow in the order its sends were acknowledged, and listed offsets are
//! the ones committed. These need every exercise.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chapter9::client::ClusterClient;
use chapter9::gossip::{Body, Gateway, spec};
use chapter9::raft::Timing;
use chapter9::system;

fn message(kind: &str) -> Body {
    serde_json::from_value(serde_json::json!({ "type": kind })).expect("a body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chapter_gossip_glomers_log_workload_loses_nothing() {
    let mut groups = system::start(&spec(), Timing::FAST, 7).expect("groups start");
    let http = harness::cluster::http_client(Duration::from_secs(2)).expect("a client");
    let client = ClusterClient::new(http.clone(), system::servers(&groups));
    let gateway = Arc::new(Gateway::new(client, "gateway-test".into()));
    let keys = ["a", "b", "c", "d", "e"];
    let mut tasks = Vec::new();
    for c in 0..3u64 {
        let gateway = gateway.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..12u64 {
                let key = keys[((c + i) % 5) as usize];
                let mut send = message("send");
                send.key = Some(key.into());
                send.msg = Some(serde_json::json!(c * 1000 + i));
                send.msg_id = Some(i);
                let reply = gateway.answer(send).await;
                assert_eq!(
                    (reply.kind.as_str(), reply.in_reply_to),
                    ("send_ok", Some(i)),
                    "a send is answered send_ok, in reply to its msg_id: {reply:?}"
                );
                acked.push((
                    key,
                    reply.offset.expect("send_ok has an offset"),
                    c * 1000 + i,
                ));
            }
            acked
        }));
        if c == 1 {
            // One group's leader crashes while the clients send.
            let status: serde_json::Value = http
                .get(format!("{}/status", groups[0].url(0)))
                .send()
                .await
                .expect("status")
                .json()
                .await
                .expect("status json");
            // Replica ids are their places in the group.
            if let Some(leader) = status["leader_id"].as_u64() {
                groups[0].kill(leader as usize);
                groups[0].restart(leader as usize).await.expect("restart");
            }
        }
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.expect("a client ran"));
    }
    // Every acknowledged send is polled back at its offset; a key's offsets are unique.
    let mut poll = message("poll");
    poll.offsets = Some(keys.iter().map(|k| (k.to_string(), 0)).collect());
    let reply = gateway.answer(poll).await;
    let msgs = reply.msgs.expect("poll_ok has msgs");
    for (key, offset, value) in &acked {
        let got = msgs[*key]
            .iter()
            .find(|(o, _)| o == offset)
            .map(|(_, v)| v.clone());
        assert_eq!(
            got,
            Some(serde_json::json!(value)),
            "send {value} to {key} was acknowledged at offset {offset}; a poll from 0 must \
             return it there (no lost writes)"
        );
    }
    for (key, polled) in &msgs {
        let offsets: Vec<u64> = polled.iter().map(|(o, _)| *o).collect();
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "key {key}'s offsets must grow: {offsets:?}"
        );
        let sent = acked.iter().filter(|(k, _, _)| k == key).count();
        assert_eq!(
            polled.len(),
            sent,
            "key {key}: {sent} sends acknowledged, {} polled (none lost, none twice)",
            polled.len()
        );
    }
    // Committed offsets are listed as committed, the last commit winning.
    let mut committed = BTreeMap::new();
    for (round, key) in keys.iter().enumerate() {
        let mut commit = message("commit_offsets");
        let offset = msgs[*key].last().map_or(0, |(o, _)| *o);
        commit.offsets = Some([(key.to_string(), offset + round as u64)].into());
        assert_eq!(
            gateway.answer(commit).await.kind,
            "commit_offsets_ok",
            "a commit of {key}'s offsets is answered commit_offsets_ok"
        );
        let mut again = message("commit_offsets");
        again.offsets = Some([(key.to_string(), offset)].into());
        assert_eq!(
            gateway.answer(again).await.kind,
            "commit_offsets_ok",
            "a second commit of {key} (a lower offset: the challenge lets a client move back) \
             is answered too"
        );
        committed.insert(key.to_string(), offset);
    }
    let mut list = message("list_committed_offsets");
    list.keys = Some(
        keys.iter()
            .map(|k| k.to_string())
            .chain(["none".into()])
            .collect(),
    );
    let reply = gateway.answer(list).await;
    assert_eq!(
        reply.offsets,
        Some(committed),
        "list_committed_offsets answers each key's last commit (none for a key never \
         committed)"
    );
    let reply = gateway.answer(message("txn")).await;
    assert_eq!(
        (reply.kind.as_str(), reply.code),
        ("error", Some(10)),
        "a message the challenge does not have is error 10, not supported"
    );
    for g in &mut groups {
        let _ = g.stop_all().await;
    }
}
