//! Carried from `chapters/chapter6/src/node/config.rs` by `cargo xtask exercises`:
//! chapter 6's node settings. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs nothing of this chapter's own.
//!
//! A node's settings: who it is, its peers, its timing and compaction, where its data
//! lives.

use super::*;

/// Another member of the group, as this node reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its id.
    pub id: NodeId,
    /// Its base URL, e.g. `http://127.0.0.1:7001`.
    pub url: String,
}

/// How to run a node.
#[derive(Debug, Clone)]
pub struct Config {
    /// This node's id.
    pub id: NodeId,
    /// The other members.
    pub peers: Vec<Peer>,
    /// Where clients reach this node (sent to peers, who pass it on in `421` answers).
    pub advertise_url: String,
    /// Where the term, vote and log live.
    pub data_dir: PathBuf,
    /// Election timeouts and heartbeat interval.
    pub timing: Timing,
    /// When to snapshot, and the size of the pieces a snapshot is sent in.
    pub compaction: Compaction,
    /// How long a command may wait to be committed and applied before a `504`.
    pub write_timeout: Duration,
    /// The longest any request may take.
    pub request_timeout: Duration,
    /// The seed of the election timeouts (`None`: a random one).
    pub seed: Option<u64>,
    /// The disk (the real one, or a simulated one in tests).
    pub disk: Arc<dyn Disk>,
    /// The cluster's secret: required on `/internal/raft`, sent to peers.
    pub cluster_key: ClusterKey,
    /// The state machine before any entry is applied (here, the empty map). A snapshot
    /// the node loads or is sent must restore one of its kind ([`Machine::restore`]).
    pub machine: Machine,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            id: 0,
            peers: Vec::new(),
            advertise_url: "http://127.0.0.1:7000".into(),
            data_dir: PathBuf::from("data"),
            timing: Timing::default(),
            compaction: Compaction::default(),
            write_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
            seed: None,
            disk: Arc::new(RealDisk),
            cluster_key: ClusterKey::none(),
            machine: Machine::default(),
        }
    }
}
