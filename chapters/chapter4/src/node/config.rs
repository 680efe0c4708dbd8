//! A node's settings.

use super::*;
use crate::holds::Holds;

/// A node's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The node's id.
    pub id: NodeId,
    /// The URL other nodes and clients reach it at (`http://` + its address by default).
    pub advertise_url: Option<String>,
    /// The founding members (this node included), used when the data directory holds no
    /// membership yet. Empty: the node waits to be added with `POST /cluster/join`.
    pub members: Vec<Member>,
    /// How keys are placed.
    pub placement: Placement,
    /// Where the log, the snapshot and the membership live.
    pub data_dir: std::path::PathBuf,
    /// The disk they live on.
    pub disk: Arc<dyn Disk>,
    /// When to fsync and when to compact.
    pub log: LogOptions,
    /// How long a client request may take before it is answered with `504 timeout`.
    pub request_timeout: Duration,
    /// How long a forwarded request or a call to a peer may take.
    pub peer_timeout: Duration,
    /// How long a request for a key that is still moving here waits before `503`.
    pub move_wait: Duration,
    /// How long a membership change may take before its coordinator gives up waiting.
    pub change_timeout: Duration,
    /// The cluster's secret: required on `/internal/` and on membership changes, sent to
    /// peers.
    pub cluster_key: ClusterKey,
    /// Where a test holds this node between two steps of a key move (none armed outside
    /// tests).
    pub holds: Holds,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            id: 1,
            advertise_url: None,
            members: Vec::new(),
            placement: Placement::Consistent { vnodes: 128 },
            data_dir: std::path::PathBuf::from("data"),
            disk: Arc::new(plumbing::disk::RealDisk),
            log: LogOptions::default(),
            request_timeout: Duration::from_secs(10),
            peer_timeout: Duration::from_secs(5),
            move_wait: Duration::from_secs(5),
            change_timeout: Duration::from_secs(30),
            cluster_key: ClusterKey::none(),
            holds: Holds::default(),
        }
    }
}
