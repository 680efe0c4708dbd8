//! A node's durable state: its log, its snapshot and its term, made durable by one
//! committer thread.
//!
//! Chapter 2's write-ahead log, grown for replication. The data directory holds:
//!
//! - `log`: [`LogEntry`]s framed as in chapter 2 (`u32` length, CRC32, JSON payload), one
//!   frame per group commit, synced before the next is written (so only the last frame
//!   can be damaged by a crash, however the disk ordered its writes). A
//!   follower may have to replace the end of its log (a leader's entries that were never
//!   committed); it never rewrites the file for that: it appends the new entry, and an
//!   entry whose index is not past the previous one's **supersedes** every entry from that
//!   index on. Replay applies the same rule.
//! - `snapshot.json`: the map after `last_index`, plus the unapplied entries the log held
//!   then (`tail`), written atomically (temp file, fsync, rename, fsync the directory)
//!   before the log is emptied, exactly as chapter 2's compaction.
//! - `meta.json`: the highest term the node has seen, written atomically before the node
//!   acts on it, so a restarted node cannot go back to obeying a deposed leader.
//!
//! Jobs reach the committer through a channel; it drains every waiting job, appends,
//! syncs once for all of them (group commit), and only then answers each one. Any write or
//! sync error stops it for good, as in chapter 2: the node cannot know what reached the disk.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use plumbing::disk::{AppendFile, Disk, write_atomically};
use plumbing::frame;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};

use crate::api::{LogEntry, LogStats, Snapshot};

/// The log file's name.
pub const LOG_FILE: &str = "log";
/// The snapshot file's name.
pub const SNAPSHOT_FILE: &str = "snapshot.json";
/// The term file's name.
pub const META_FILE: &str = "meta.json";
/// The most key and value bytes the committer puts in one frame, so that a frame stays
/// under [`frame::MAX_PAYLOAD_BYTES`] even with every byte escaped into JSON.
const MAX_FRAME_ENTRY_BYTES: usize = 8 * 1024 * 1024;

/// What survives a restart besides the log: the highest term seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The highest term this node has seen.
    pub term: u64,
}

/// The frame of a batch of entries (see [`plumbing::frame`]).
pub fn encode(entries: &[LogEntry]) -> io::Result<Vec<u8>> {
    frame::encode(entries)
}

/// Appends `entries` as frames of at most [`MAX_FRAME_ENTRY_BYTES`] of keys and values,
/// each synced before the next is written; returns how many syncs that took.
fn append_synced(log: &mut dyn AppendFile, mut entries: &[LogEntry]) -> io::Result<u64> {
    let mut syncs = 0;
    while !entries.is_empty() {
        let mut bytes = 0;
        let take = entries
            .iter()
            .position(|e| {
                bytes += e.key.len() + e.value.as_ref().map_or(0, String::len);
                bytes > MAX_FRAME_ENTRY_BYTES
            })
            .unwrap_or(entries.len())
            .max(1);
        let (frame, rest) = entries.split_at(take);
        log.append(&encode(frame)?)?;
        log.sync()?;
        syncs += 1;
        entries = rest;
    }
    Ok(syncs)
}

/// The entries of the frame at the start of `bytes` and the frame's length, or why
/// there is none (see [`plumbing::frame`]).
pub fn decode(bytes: &[u8]) -> Result<(Vec<LogEntry>, usize), String> {
    frame::decode(bytes)
}

/// Applies the supersede rule: `entry` replaces every entry from its index on.
pub fn push_superseding(entries: &mut Vec<LogEntry>, entry: LogEntry) {
    if let Some(position) = entries.iter().position(|e| e.index >= entry.index) {
        entries.truncate(position);
    }
    entries.push(entry);
}

/// Why a node could not recover its data.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// The log is damaged before its tail: the node refuses to start rather than lose data.
    #[error(
        "{path} is corrupt at byte offset {offset} ({reason}), before its tail; refusing to start"
    )]
    CorruptLog {
        /// The log file.
        path: PathBuf,
        /// Where the damage is.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// A snapshot or meta file that does not parse.
    #[error("{path} is damaged: {reason}")]
    CorruptFile {
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        reason: String,
    },
    /// The disk failed.
    #[error("reading the data directory failed: {0}")]
    Io(#[from] io::Error),
}

/// What recovery hands the node.
#[derive(Debug)]
pub struct Recovered {
    /// The highest term seen.
    pub meta: Meta,
    /// The latest snapshot (empty if none), with its tail moved into `entries`.
    pub snapshot: Snapshot,
    /// The log after the snapshot: its tail, then the log file, superseding applied.
    pub entries: Vec<LogEntry>,
    /// The log file, open for appending.
    pub log: Box<dyn AppendFile>,
}

fn read_json<T: serde::de::DeserializeOwned + Default>(
    disk: &dyn Disk,
    files: &[PathBuf],
    path: PathBuf,
) -> Result<T, RecoveryError> {
    if !files.contains(&path) {
        return Ok(T::default());
    }
    serde_json::from_slice(&disk.read(&path)?).map_err(|e| RecoveryError::CorruptFile {
        path,
        reason: e.to_string(),
    })
}

/// Reads `dir`: term, snapshot, log. A torn tail is truncated with a warning, as in chapter 2.
pub fn recover(disk: &dyn Disk, dir: &Path) -> Result<Recovered, RecoveryError> {
    disk.create_dir_all(dir)?;
    let files = disk.list(dir)?;
    let meta: Meta = read_json(disk, &files, dir.join(META_FILE))?;
    let mut snapshot: Snapshot = read_json(disk, &files, dir.join(SNAPSHOT_FILE))?;
    let mut entries = std::mem::take(&mut snapshot.tail);
    let log_path = dir.join(LOG_FILE);
    if files.contains(&log_path) {
        let bytes = disk.read(&log_path)?;
        let scanned =
            frame::scan::<LogEntry>(&bytes).map_err(|damaged| RecoveryError::CorruptLog {
                path: log_path.clone(),
                offset: damaged.offset,
                reason: damaged.reason,
            })?;
        for entry in scanned.batches.into_iter().flatten() {
            if entry.index > snapshot.last_index {
                push_superseding(&mut entries, entry);
            }
        }
        if let Some((offset, _)) = scanned.torn {
            tracing::warn!(path = %log_path.display(), offset, "the log ends in a torn write; truncating it");
            disk.truncate(&log_path, offset as u64)?;
            disk.sync_file(&log_path)?;
        }
    }
    let log = disk.open_append(&log_path)?;
    disk.sync_dir(dir)?;
    Ok(Recovered {
        meta,
        snapshot,
        entries,
        log,
    })
}

/// Makes `snapshot` durable, then empties the log (whose entries it contains).
fn write_snapshot(disk: &dyn Disk, dir: &Path, snapshot: &Snapshot) -> io::Result<()> {
    let bytes = serde_json::to_vec(snapshot).map_err(io::Error::other)?;
    write_atomically(disk, dir, SNAPSHOT_FILE, &bytes)?;
    let log = dir.join(LOG_FILE);
    disk.truncate(&log, 0)?;
    disk.sync_file(&log)
}

/// Something to make durable.
#[derive(Debug)]
pub enum Job {
    /// Append entries (superseding from the first one's index).
    Append(Vec<LogEntry>),
    /// Replace everything with a snapshot from the leader.
    InstallSnapshot(Snapshot),
    /// Record a new term.
    SaveTerm(u64),
}

type Waiter = oneshot::Sender<Result<(), String>>;

/// The node's side of the committer.
#[derive(Debug, Clone)]
pub struct Storage {
    sender: mpsc::UnboundedSender<(Job, Waiter)>,
    failed: watch::Receiver<Option<String>>,
    durable: watch::Receiver<u64>,
    stats: Arc<Mutex<LogStats>>,
}

impl Storage {
    /// Starts the committer on `log`, whose last durable index is `durable_index`.
    /// `snapshot` is called from the committer thread once the log has grown past
    /// `compact_after_bytes`: it must return the node's snapshot (and may forget the
    /// entries the snapshot covers).
    pub fn start(
        disk: Arc<dyn Disk>,
        dir: PathBuf,
        mut log: Box<dyn AppendFile>,
        durable_index: u64,
        compact_after_bytes: u64,
        snapshot: impl Fn() -> Snapshot + Send + 'static,
    ) -> io::Result<Self> {
        let (sender, mut receiver) = mpsc::unbounded_channel::<(Job, Waiter)>();
        let (publish_failed, failed) = watch::channel(None);
        let (publish_durable, durable) = watch::channel(durable_index);
        let stats = Arc::new(Mutex::new(LogStats::default()));
        let shared = Arc::clone(&stats);
        std::thread::Builder::new()
            .name("committer".into())
            .spawn(move || {
                let mut waiting: Vec<Waiter> = Vec::new();
                let mut run = || -> io::Result<()> {
                    while let Some(first) = receiver.blocking_recv() {
                        let mut jobs = vec![first];
                        while let Ok(more) = receiver.try_recv() {
                            jobs.push(more);
                        }
                        let mut local = *shared.lock().unwrap_or_else(PoisonError::into_inner);
                        // The round's entries, written as one frame at its end.
                        let mut unsynced: Vec<LogEntry> = Vec::new();
                        let mut last = None;
                        for (job, waiter) in jobs {
                            waiting.push(waiter);
                            match job {
                                Job::Append(entries) => {
                                    local.records += entries.len() as u64;
                                    if let Some(entry) = entries.last() {
                                        last = Some(entry.index);
                                    }
                                    unsynced.extend(entries);
                                }
                                Job::InstallSnapshot(snapshot) => {
                                    // The snapshot replaces the log: entries before it in
                                    // this round would be cut away with the rest.
                                    unsynced.clear();
                                    write_snapshot(disk.as_ref(), &dir, &snapshot)?;
                                    local.snapshots += 1;
                                    last = Some(
                                        snapshot
                                            .tail
                                            .last()
                                            .map_or(snapshot.last_index, |e| e.index),
                                    );
                                }
                                Job::SaveTerm(term) => {
                                    let bytes = serde_json::to_vec(&Meta { term })
                                        .map_err(io::Error::other)?;
                                    write_atomically(disk.as_ref(), &dir, META_FILE, &bytes)?;
                                }
                            }
                        }
                        local.syncs += append_synced(log.as_mut(), &unsynced)?;
                        if log.len() > compact_after_bytes {
                            write_snapshot(disk.as_ref(), &dir, &snapshot())?;
                            local.snapshots += 1;
                        }
                        *shared.lock().unwrap_or_else(PoisonError::into_inner) = local;
                        if let Some(last) = last {
                            publish_durable.send_replace(last);
                        }
                        for waiter in waiting.drain(..) {
                            let _ = waiter.send(Ok(()));
                        }
                    }
                    Ok(())
                };
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut run));
                let failure = match outcome {
                    Ok(Ok(())) => return,
                    Ok(Err(e)) => format!("the log could not be written: {e}"),
                    Err(panic) => plumbing::unfinished::payload_message(panic.as_ref())
                        .trim_start_matches("not yet implemented: ")
                        .to_string(),
                };
                tracing::error!(%failure, "the log stopped; this node acknowledges nothing more");
                publish_failed.send_replace(Some(failure.clone()));
                for waiter in waiting.drain(..) {
                    let _ = waiter.send(Err(failure.clone()));
                }
                while let Ok((_, waiter)) = receiver.try_recv() {
                    let _ = waiter.send(Err(failure.clone()));
                }
            })?;
        Ok(Self {
            sender,
            failed,
            durable,
            stats,
        })
    }

    /// Hands `job` to the committer; the receiver resolves once it is durable. Call it
    /// under the node's lock, so jobs reach the disk in the order the node decided them.
    pub fn submit(&self, job: Job) -> Result<oneshot::Receiver<Result<(), String>>, String> {
        if let Some(failed) = &*self.failed.borrow() {
            return Err(failed.clone());
        }
        let (waiter, done) = oneshot::channel();
        self.sender
            .send((job, waiter))
            .map_err(|_| "the log has stopped".to_string())?;
        Ok(done)
    }

    /// Waits for a submitted job.
    pub async fn wait(done: oneshot::Receiver<Result<(), String>>) -> Result<(), String> {
        done.await
            .unwrap_or_else(|_| Err("the log has stopped".to_string()))
    }

    /// The last index of the log as it is on disk (after the latest synced batch).
    pub fn durable_index(&self) -> u64 {
        *self.durable.borrow()
    }

    /// A receiver that sees the durable index change.
    pub fn durable_watch(&self) -> watch::Receiver<u64> {
        self.durable.clone()
    }

    /// Why the log stopped, if it has.
    pub fn failure(&self) -> Option<String> {
        self.failed.borrow().clone()
    }

    /// What the committer has done.
    pub fn stats(&self) -> LogStats {
        *self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
