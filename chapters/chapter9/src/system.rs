//! A cluster on one machine: each group's three replicas as one harness [`Cluster`] on
//! loopback (so a test can crash a group's leader or cut its links).
//!
//! Each replica is chapter 6's node (the same driver, storage and checks, carried)
//! applying this chapter's [`Machine`].

use std::future::Future;

use harness::cluster::Cluster;
use harness::node::NodeContext;

use crate::broker::Spec;
use crate::machine::Machine;
use crate::node::{Config, Peer};
use crate::raft::{Compaction, Timing};

/// How many replicas each group has.
pub const REPLICAS: usize = 3;

/// Starts group `group` of a cluster of shape `spec`: three replicas, elections timed by
/// `timing`, their election timers seeded by `seed`.
pub fn start_group(spec: &Spec, group: u32, timing: Timing, seed: u64) -> anyhow::Result<Cluster> {
    let spec = spec.clone();
    Cluster::start(REPLICAS, seed, move |ctx| {
        replica_in_cluster(ctx, spec.clone(), group, timing, seed)
    })
}

/// Starts every group of `spec`.
pub fn start(spec: &Spec, timing: Timing, seed: u64) -> anyhow::Result<Vec<Cluster>> {
    (0..spec.groups)
        .map(|g| start_group(spec, g, timing, seed.wrapping_add(u64::from(g))))
        .collect()
}

/// Runs one replica of group `group` in a harness cluster.
pub fn replica_in_cluster(
    ctx: NodeContext,
    spec: Spec,
    group: u32,
    timing: Timing,
    seed: u64,
) -> impl Future<Output = anyhow::Result<()>> {
    let config = Config {
        id: ctx.id,
        peers: ctx
            .peers
            .iter()
            .map(|p| Peer {
                id: p.id,
                url: p.url.clone(),
            })
            .collect(),
        advertise_url: format!("http://{}", ctx.addr),
        data_dir: ctx.data_dir.clone(),
        timing,
        compaction: Compaction {
            every: 500,
            chunk_bytes: 256 * 1024,
        },
        seed: Some(seed),
        cluster_key: ctx.cluster_key.clone(),
        machine: Machine::new(spec, group),
        ..Config::default()
    };
    crate::server::run(ctx.listener, config, ctx.shutdown)
}

/// A client of the cluster whose groups are `groups`.
pub fn client(groups: &[Cluster]) -> anyhow::Result<crate::client::ClusterClient> {
    let http = harness::cluster::http_client(std::time::Duration::from_secs(2))?;
    Ok(crate::client::ClusterClient::new(http, servers(groups)))
}

/// Each group's replicas, as clients reach them.
pub fn servers(groups: &[Cluster]) -> Vec<Vec<String>> {
    groups
        .iter()
        .map(|c| (0..c.len()).map(|i| c.url(i)).collect())
        .collect()
}
