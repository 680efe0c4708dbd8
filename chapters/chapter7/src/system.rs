//! The whole sharded store on one machine: the configuration service and the groups, each
//! three replicas, as one harness [`Cluster`] on loopback.
//!
//! Node `i` of the cluster is a replica of log `i / 3`: log 0 is the configuration
//! service, log `g ≥ 1` is group `g`. Each replica is chapter 6's node (the same driver,
//! storage and checks, carried) applying this chapter's machine, and its Raft peers are
//! the other two replicas of its log. Every link between two nodes and between the test
//! (clients, controllers) and a node goes through the harness's proxies, so a test can
//! crash any replica, cut any link, and isolate any replica from the clients.

use std::collections::BTreeMap;
use std::future::Future;

use harness::cluster::Cluster;
use harness::node::NodeContext;

use crate::config::GroupId;
use crate::group::Group;
use crate::machine::{Kind, Machine};
use crate::node::{Config, Peer};
use crate::raft::{Compaction, Timing};
use crate::service::{Change, Service};

/// How many replicas each log has.
pub const REPLICAS: u64 = 3;

/// The log node `node` of the cluster replicates: 0 is the service, `g` group `g`.
pub fn log_of(node: u64) -> u64 {
    node / REPLICAS
}

/// The cluster's nodes that replicate `log`.
pub fn nodes_of(log: u64) -> std::ops::Range<usize> {
    (log * REPLICAS) as usize..((log + 1) * REPLICAS) as usize
}

/// How a system's replicas run.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The number of shards.
    pub shards: usize,
    /// Election timeouts and heartbeats.
    pub timing: Timing,
    /// When replicas snapshot.
    pub compaction: Compaction,
    /// The seed of their election timeouts.
    pub seed: u64,
}

/// Starts the service and `groups` groups (not yet joined: configuration 0 has none).
pub fn start(groups: u64, settings: Settings) -> anyhow::Result<Cluster> {
    let nodes = ((groups + 1) * REPLICAS) as usize;
    Cluster::start(nodes, settings.seed, move |ctx| {
        replica_in_cluster(ctx, settings)
    })
}

/// Runs one replica of a harness cluster laid out as the module says.
pub fn replica_in_cluster(
    ctx: NodeContext,
    settings: Settings,
) -> impl Future<Output = anyhow::Result<()>> {
    let log = log_of(ctx.id);
    // A group's replicas reach the service's as they reach their peers: through the
    // cluster's links, so that the tests' faults apply.
    let service: Vec<String> = ctx
        .peers
        .iter()
        .filter(|p| log_of(p.id) == 0)
        .map(|p| p.url.clone())
        .collect();
    let machine = if log == 0 {
        Machine::new(Kind::Service(Service::new(settings.shards)))
    } else {
        Machine::new(Kind::Group(Group::new(log, settings.shards)))
    };
    let config = Config {
        id: ctx.id,
        peers: ctx
            .peers
            .iter()
            .filter(|p| log_of(p.id) == log)
            .map(|p| Peer {
                id: p.id,
                url: p.url.clone(),
            })
            .collect(),
        advertise_url: format!("http://{}", ctx.addr),
        data_dir: ctx.data_dir.clone(),
        timing: settings.timing,
        compaction: settings.compaction,
        seed: Some(settings.seed),
        cluster_key: ctx.cluster_key.clone(),
        machine,
        ..Config::default()
    };
    crate::server::run(ctx.listener, config, service, ctx.shutdown)
}

/// Where clients and controllers reach `log`'s replicas in `cluster`.
pub fn servers(cluster: &Cluster, log: u64) -> Vec<String> {
    nodes_of(log).map(|i| cluster.url(i)).collect()
}

/// The change that joins `groups` of `cluster`, with their servers.
pub fn join(cluster: &Cluster, groups: &[GroupId]) -> Change {
    Change::Join(
        groups
            .iter()
            .map(|&g| (g, servers(cluster, g)))
            .collect::<BTreeMap<_, _>>(),
    )
}
