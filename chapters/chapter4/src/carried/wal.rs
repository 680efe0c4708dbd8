//! Carried from `solutions/chapter2/wal.rs` by `cargo xtask exercises`:
//! chapter 2's log, exercises 2.2, 2.3 and 2.5, finished. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs of this chapter's own: `record::{DecodeError, MAX_PAYLOAD_BYTES, Record, decode, encode}`.
//!
//! The write-ahead log: recovery, the committer that makes writes durable, compaction.
//!
//! The data directory holds two files:
//!
//! - `wal.log`: records in version order, one frame (see [`crate::record`]) per batch
//!   made durable together;
//! - `snapshot.json`: the whole map at some version, written by compaction; the log
//!   then only needs the records after it.
//!
//! Writes reach the log through one **committer** thread: writers hand it their record
//! (under the store's lock, so the log's order is the version order) and wait on their
//! [`Ticket`] until it reports the record durable. Because it drains every record
//! waiting at once, frames them together and syncs once for all of them, concurrent
//! writers share fsyncs: group commit. It syncs each frame before writing the next, so
//! at most one frame is ever unsynced: the only one a crash can damage.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plumbing::disk::{AppendFile, Disk};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};

use crate::record::{DecodeError, Record, decode, encode};

/// The most key and value bytes the committer puts in one batch (one frame), so that a
/// frame stays under [`crate::record::MAX_PAYLOAD_BYTES`] even with every byte escaped.
pub const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// When the committer calls `fsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// After every record: each write waits for its own fsync.
    Always,
    /// After every batch: the writers waiting together share one fsync.
    #[default]
    Group,
    /// Never. UNSAFE: a machine crash loses acknowledged writes. For benchmarks only.
    Never,
}

/// The log file's name in the data directory.
pub const LOG_FILE: &str = "wal.log";
/// The snapshot file's name in the data directory.
pub const SNAPSHOT_FILE: &str = "snapshot.json";

/// One key's value and version in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotEntry {
    /// The value.
    pub value: String,
    /// The version of the write that stored it.
    pub version: u64,
}

/// The whole map at `last_version`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Every write up to this version is in the snapshot.
    pub last_version: u64,
    /// The map.
    pub entries: BTreeMap<String, SnapshotEntry>,
}

/// What [`replay`] found in a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// Every intact record, in order.
    pub records: Vec<Record>,
    /// The length of the intact prefix: the log is truncated to this.
    pub valid_len: usize,
    /// Where a torn tail starts, if there is one.
    pub torn_at: Option<usize>,
}

/// A log damaged *before* its last frame: records after the damage would be lost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt record at byte offset {offset}: {reason}")]
pub struct Corruption {
    /// Where the bad record starts.
    pub offset: usize,
    /// What is wrong with it.
    pub reason: DecodeError,
}

/// Whether an intact frame starts anywhere at or after `from`.
pub fn intact_frame_after(bytes: &[u8], from: usize) -> bool {
    (from..bytes.len()).any(|offset| decode(&bytes[offset..]).is_ok())
}

/// Reads every record of a log. A damaged *last frame* (a batch a crash caught before
/// its sync) is reported in `torn_at` and left out; damage with an intact frame after it
/// is a [`Corruption`].
pub fn replay(bytes: &[u8]) -> Result<Replayed, Corruption> {
    let mut records = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        match decode(&bytes[offset..]) {
            Ok((batch, length)) => {
                records.extend(batch);
                offset += length;
            }
            Err(reason) => {
                if intact_frame_after(bytes, offset + 1) {
                    return Err(Corruption { offset, reason });
                }
                return Ok(Replayed {
                    records,
                    valid_len: offset,
                    torn_at: Some(offset),
                });
            }
        }
    }
    Ok(Replayed {
        records,
        valid_len: offset,
        torn_at: None,
    })
}

/// Why a node could not recover its data.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// A log damaged before its tail: the node refuses to start rather than lose data.
    #[error(
        "{path} is corrupt at byte offset {offset} ({reason}), before its tail; refusing to start, \
         because the records after it would be lost. Restore the file from a backup or a replica, \
         or truncate it at that offset by hand if you accept losing what follows"
    )]
    CorruptLog {
        /// The log file.
        path: PathBuf,
        /// Where the damage is.
        offset: usize,
        /// What is wrong.
        reason: DecodeError,
    },
    /// A snapshot that does not parse (snapshots are written atomically, so this is
    /// damage, not a crash).
    #[error("{path} is not a valid snapshot: {reason}")]
    CorruptSnapshot {
        /// The snapshot file.
        path: PathBuf,
        /// The parser's complaint.
        reason: String,
    },
    /// The disk failed.
    #[error("reading the data directory failed: {0}")]
    Io(#[from] io::Error),
}

/// What recovery hands the store: the snapshot, the records after it, an open log.
#[derive(Debug)]
pub struct Recovered {
    /// The latest snapshot (empty if there is none).
    pub snapshot: Snapshot,
    /// The log's records newer than the snapshot.
    pub records: Vec<Record>,
    /// The log, open for appending after its last intact record.
    pub log: Box<dyn AppendFile>,
}

/// Reads the snapshot and the log of `dir`, truncating a torn tail (with a warning).
pub fn recover(disk: &dyn Disk, dir: &Path) -> Result<Recovered, RecoveryError> {
    disk.create_dir_all(dir)?;
    let snapshot_path = dir.join(SNAPSHOT_FILE);
    let log_path = dir.join(LOG_FILE);
    let files = disk.list(dir)?;
    let snapshot = if files.contains(&snapshot_path) {
        serde_json::from_slice(&disk.read(&snapshot_path)?).map_err(|e| {
            RecoveryError::CorruptSnapshot {
                path: snapshot_path.clone(),
                reason: e.to_string(),
            }
        })?
    } else {
        Snapshot::default()
    };
    let mut records = Vec::new();
    if files.contains(&log_path) {
        let bytes = disk.read(&log_path)?;
        let replayed =
            replay(&bytes).map_err(|Corruption { offset, reason }| RecoveryError::CorruptLog {
                path: log_path.clone(),
                offset,
                reason,
            })?;
        if let Some(offset) = replayed.torn_at {
            tracing::warn!(
                path = %log_path.display(),
                offset,
                dropped_bytes = bytes.len() - offset,
                "the log ends in a torn write (a crash mid-append); truncating it"
            );
            disk.truncate(&log_path, replayed.valid_len as u64)?;
            disk.sync_file(&log_path)?;
        }
        records = replayed.records;
    }
    records.retain(|r| r.version > snapshot.last_version);
    let log = disk.open_append(&log_path)?;
    disk.sync_dir(dir)?;
    Ok(Recovered {
        snapshot,
        records,
        log,
    })
}

/// What the committer has done: records written and fsyncs made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogStats {
    /// Records appended.
    pub records: u64,
    /// fsyncs made.
    pub syncs: u64,
    /// Compactions made.
    pub compactions: u64,
}

/// Writes a batch of records and makes it durable as `policy` says; returns the
/// version of the batch's last record. Counts records and syncs in `stats`.
pub fn write_batch(
    log: &mut dyn AppendFile,
    batch: &[Record],
    policy: FsyncPolicy,
    stats: &mut LogStats,
) -> io::Result<u64> {
    let frames: Vec<&[Record]> = match policy {
        FsyncPolicy::Always => batch.chunks(1).collect(),
        FsyncPolicy::Group | FsyncPolicy::Never => vec![batch],
    };
    for records in frames.into_iter().filter(|r| !r.is_empty()) {
        let frame = encode(records).map_err(io::Error::other)?;
        log.append(&frame)?;
        stats.records += records.len() as u64;
        if policy != FsyncPolicy::Never {
            log.sync()?;
            stats.syncs += 1;
        }
    }
    Ok(batch.last().map_or(0, |r| r.version))
}

/// Makes `snapshot` durable and then empties the log, in an order that is safe at
/// every instant: a crash at any point leaves either the old snapshot and the full log,
/// or the new snapshot (and a log whose records it already contains).
pub fn compact(disk: &dyn Disk, dir: &Path, snapshot: &Snapshot) -> io::Result<()> {
    let temp = dir.join(format!("{SNAPSHOT_FILE}.tmp"));
    let bytes = serde_json::to_vec(snapshot).map_err(io::Error::other)?;
    disk.write_file(&temp, &bytes)?;
    disk.sync_file(&temp)?;
    disk.rename(&temp, &dir.join(SNAPSHOT_FILE))?;
    disk.sync_dir(dir)?;
    let log = dir.join(LOG_FILE);
    disk.truncate(&log, 0)?;
    disk.sync_file(&log)
}

/// The committer's next batch: the record carried over from the last batch (or else the
/// next to arrive, waiting for it), then every record already waiting, up to
/// [`MAX_BATCH_BYTES`] of keys and values; the record that would pass the bound is
/// carried to start the next batch. Each record comes with what its writer waits on
/// (`T`). `None` once every sender is gone.
pub fn next_batch<T>(
    receiver: &mut mpsc::UnboundedReceiver<(Record, T)>,
    carried: &mut Option<(Record, T)>,
) -> Option<(Vec<Record>, Vec<T>)> {
    let (first, done) = carried.take().or_else(|| receiver.blocking_recv())?;
    let mut bytes = payload_bytes(&first);
    let (mut batch, mut waiting) = (vec![first], vec![done]);
    while let Ok((more, done)) = receiver.try_recv() {
        bytes += payload_bytes(&more);
        if bytes > MAX_BATCH_BYTES {
            *carried = Some((more, done));
            break;
        }
        batch.push(more);
        waiting.push(done);
    }
    Some((batch, waiting))
}

/// The key and value bytes of a record (what bounds a batch's frame).
fn payload_bytes(record: &Record) -> usize {
    record.key.len() + record.value.as_ref().map_or(0, String::len)
}

/// How far the log has made writes durable, or why it stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Durability {
    /// Every write up to this version is durable.
    pub version: u64,
    /// Set once the committer failed: nothing more will become durable.
    pub failed: Option<String>,
}

/// A submitted record's claim: [`Ticket::durable`] resolves once the record is durable.
#[derive(Debug)]
pub struct Ticket {
    version: u64,
    durable: oneshot::Receiver<()>,
    durability: watch::Receiver<Durability>,
}

impl Ticket {
    /// Waits until the record is durable, or says why it never will be.
    ///
    /// Two things can end the wait: the committer's word for this record, or the log
    /// failing. The second matters because a record submitted just as the committer stops
    /// can be left in its queue, and its word would never come.
    pub async fn durable(self) -> Result<(), String> {
        let Ticket {
            version,
            mut durable,
            mut durability,
        } = self;
        let confirmed = tokio::select! {
            biased;
            done = &mut durable => done.is_ok(),
            _ = durability.wait_for(|d| d.failed.is_some()) => false,
        };
        if confirmed {
            return Ok(());
        }
        // No word will come for this record: the committer has failed, or is about to say
        // so (it drops the tickets of a failed batch just before publishing the reason).
        let _ = durability.wait_for(|d| d.failed.is_some()).await;
        let state = durability.borrow().clone();
        if state.version >= version {
            return Ok(()); // synced before the failure: durable all the same
        }
        Err(state
            .failed
            .unwrap_or_else(|| "the log has stopped".to_string()))
    }
}

/// The store's side of the committer: submit records, wait for durability.
#[derive(Debug, Clone)]
pub struct LogWriter {
    sender: mpsc::UnboundedSender<(Record, oneshot::Sender<()>)>,
    durability: watch::Receiver<Durability>,
    stats: Arc<std::sync::Mutex<LogStats>>,
}

/// The committer's settings.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// When to fsync.
    pub fsync: FsyncPolicy,
    /// Compact once the log is larger than this many bytes.
    pub compact_after_bytes: u64,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            fsync: FsyncPolicy::Group,
            compact_after_bytes: 64 * 1024 * 1024,
        }
    }
}

impl LogWriter {
    /// Starts the committer thread on `log`. `snapshot` is called (from the committer
    /// thread) when the log has grown past the compaction threshold.
    pub fn start(
        disk: Arc<dyn Disk>,
        dir: PathBuf,
        mut log: Box<dyn AppendFile>,
        durable_version: u64,
        options: LogOptions,
        snapshot: impl Fn() -> Snapshot + Send + 'static,
    ) -> io::Result<Self> {
        let (sender, mut receiver) = mpsc::unbounded_channel::<(Record, oneshot::Sender<()>)>();
        let (publish, durability) = watch::channel(Durability {
            version: durable_version,
            failed: None,
        });
        let stats = Arc::new(std::sync::Mutex::new(LogStats::default()));
        let shared = Arc::clone(&stats);
        std::thread::Builder::new().name("committer".into()).spawn(move || {
            let mut run = || -> io::Result<()> {
                let mut carried = None;
                while let Some((batch, waiting)) = next_batch(&mut receiver, &mut carried) {
                    let mut local = *shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    let version = write_batch(log.as_mut(), &batch, options.fsync, &mut local)?;
                    if log.len() > options.compact_after_bytes {
                        compact(disk.as_ref(), &dir, &snapshot())?;
                        local.compactions += 1;
                    }
                    *shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = local;
                    publish.send_modify(|d| d.version = d.version.max(version));
                    // Wake exactly the writers this batch made durable, one each.
                    for done in waiting {
                        let _ = done.send(());
                    }
                }
                Ok(())
            };
            // A failure (or an unfinished exercise's panic) stops the log for good: the
            // node cannot know what reached the disk, so it acknowledges nothing more.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut run));
            let failure = match outcome {
                Ok(Ok(())) => return,
                Ok(Err(e)) => format!("the log could not be written: {e}"),
                Err(panic) => plumbing::unfinished::payload_message(panic.as_ref())
                    .trim_start_matches("not yet implemented: ")
                    .to_string(),
            };
            tracing::error!(%failure, "the write-ahead log stopped; no further write will be acknowledged");
            publish.send_modify(|d| d.failed = Some(failure));
        })?;
        Ok(Self {
            sender,
            durability,
            stats,
        })
    }

    /// Hands a record to the committer (call it in version order); the ticket tells
    /// when the record is durable.
    pub fn submit(&self, record: &Record) -> Result<Ticket, String> {
        if let Some(failed) = &self.durability.borrow().failed {
            return Err(failed.clone());
        }
        let (done, durable) = oneshot::channel();
        self.sender
            .send((record.clone(), done))
            .map_err(|_| "the log has stopped".to_string())?;
        Ok(Ticket {
            version: record.version,
            durable,
            durability: self.durability.clone(),
        })
    }

    /// Waits until `version` is durable, or the log has failed.
    pub async fn wait_durable(&self, version: u64) -> Result<(), String> {
        let mut durability = self.durability.clone();
        let outcome = durability
            .wait_for(|d| d.version >= version || d.failed.is_some())
            .await
            .map_err(|_| "the log has stopped".to_string())?;
        match &outcome.failed {
            Some(failed) if outcome.version < version => Err(failed.clone()),
            _ => Ok(()),
        }
    }

    /// Every write up to this version is durable.
    pub fn durable_version(&self) -> u64 {
        self.durability.borrow().version
    }

    /// Records, syncs and compactions so far.
    pub fn stats(&self) -> LogStats {
        *self
            .stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
