//! Exercise 4.6, the old owner's side between its steps: a client writes a moving key
//! while node 1 is handing it over, held ([`chapter4::holds`]) just before it installs
//! the change. Whatever node 1 acknowledged before it installed the change, its handoff
//! carries.

use chapter4::api::{HandoffRequest, HandoffResponse};
use chapter4::bench;
use chapter4::holds::{Holds, Step};
use chapter4::membership::Change;
use chapter4::ring::{Member, Ring};
use chapter4::transfer::owned_by;

use crate::common::{CONSISTENT, PATIENCE, TestCluster, call, cluster_key, put, random_keys};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex6_a_write_acknowledged_before_the_old_owner_installs_is_handed_over() {
    let holds = Holds::default();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let nodes = bench::start_cluster(1, CONSISTENT, dir.path(), &cluster_key(), |c| {
        c.holds = holds.clone()
    })
    .expect("starting a loopback node should always work");
    let cluster = TestCluster { dir, nodes };
    let old_owner = cluster.url(1);
    let from = Ring::new(
        1,
        CONSISTENT,
        vec![Member {
            id: 1,
            url: old_owner.clone(),
        }],
    )
    .expect("a valid ring");
    // Node 2 is never called: the test asks for the handoff in its name.
    let to = from
        .with_member(Member {
            id: 2,
            url: format!("http://{}:9", harness::loopback::fresh()),
        })
        .expect("a valid ring");
    let moving: Vec<String> = random_keys(20, 200)
        .into_iter()
        .filter(|k| owned_by(&to, k, 2))
        .take(10)
        .collect();
    assert!(moving.len() >= 2, "node 2 gains some keys");
    for key in &moving {
        put(&old_owner, key, "before the handoff").await;
    }

    let mut hold = holds.arm(Step::Install);
    let handoff = tokio::spawn({
        let request = HandoffRequest {
            change: Change { from, to },
            to: 2,
        };
        let url = format!("{old_owner}/internal/handoff");
        async move {
            let body = serde_json::to_value(request).expect("a request as JSON");
            call(reqwest::Method::POST, &url, Some(body)).await
        }
    });
    assert!(
        hold.reached(PATIENCE).await,
        "node 1's handoff installs the change (Node::install) within {PATIENCE:?}"
    );
    // Node 1 is about to install the change: it still serves the key, and acknowledges.
    let key = &moving[0];
    let version = put(&old_owner, key, "written during the handoff").await;
    hold.release();
    let answer = handoff
        .await
        .expect("the handoff task")
        .unwrap_or_else(|e| panic!("POST /internal/handoff at node 1: {e:#}"));
    assert_eq!(
        answer.status, 200,
        "the handoff is answered: {}",
        answer.body
    );
    let handed: HandoffResponse =
        serde_json::from_value(answer.body).expect("a handoff answer as JSON");
    let entry = handed.entries.iter().find(|e| &e.key == key);
    assert_eq!(
        entry.map(|e| (e.value.as_str(), e.version)),
        Some(("written during the handoff", version)),
        "node 1 acknowledged a write of {key} before it installed the change, so its \
         handoff must carry it: install the change (from then on the moving keys are \
         forwarded, not written here) before collecting them"
    );
    cluster.stop().await;
}
