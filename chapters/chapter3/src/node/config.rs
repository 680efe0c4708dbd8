//! A node's settings, and the bounds every request between nodes is checked against.

use super::*;

/// Another node of the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its id.
    pub id: u64,
    /// Its address, e.g. `http://127.0.0.1:7001`.
    pub url: String,
}

/// A node's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The node's id.
    pub id: u64,
    /// The other nodes of the group.
    pub peers: Vec<Peer>,
    /// Which node starts as the leader.
    pub leader_id: u64,
    /// Where clients reach this node (sent to followers, who pass it on in `421`s).
    pub advertise_url: String,
    /// When a write is acknowledged.
    pub ack_mode: AckMode,
    /// How long a request may take before it is answered with `504 timeout`.
    pub request_timeout: Duration,
    /// How long a write may wait for the acknowledgements its mode needs.
    pub write_timeout: Duration,
    /// How often the leader contacts an idle follower (to carry the commit index).
    pub heartbeat: Duration,
    /// How long the leader waits for a follower's answer.
    pub peer_timeout: Duration,
    /// The most entries in one append.
    pub max_batch: u64,
    /// Where the log, snapshot and term live.
    pub data_dir: PathBuf,
    /// The disk they live on.
    pub disk: Arc<dyn Disk>,
    /// Snapshot and empty the log once it exceeds this many bytes.
    pub compact_after_bytes: u64,
    /// The cluster's secret: required on `/internal/`, sent to followers.
    pub cluster_key: ClusterKey,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            id: 0,
            peers: Vec::new(),
            leader_id: 0,
            advertise_url: "http://127.0.0.1:7000".into(),
            ack_mode: AckMode::Quorum,
            request_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(5),
            heartbeat: Duration::from_millis(100),
            peer_timeout: Duration::from_secs(2),
            max_batch: 256,
            data_dir: PathBuf::from("data"),
            disk: Arc::new(RealDisk),
            compact_after_bytes: 64 * 1024 * 1024,
            cluster_key: ClusterKey::none(),
        }
    }
}

/// The largest term a request may carry: far beyond any real group's, far from overflow.
pub const MAX_TERM: u64 = 1 << 62;

/// The most key and value bytes an append carries past its first entry (an entry holds
/// at most 1 MiB), so every append fits in [`crate::server::MAX_APPEND_BODY_BYTES`].
pub const MAX_APPEND_BYTES: usize = 1024 * 1024;
