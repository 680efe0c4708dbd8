//! Carried from `chapters/chapter6/src/storage.rs` by `cargo xtask exercises`:
//! chapter 6's storage. Edit that file and regenerate;
//! `cargo xtask check` fails while this copy differs.
//! Needs nothing of this chapter's own.
//!
//! A node's durable state: its term and vote, its snapshot, and the log after it.
//!
//! The data directory holds:
//!
//! - `hard_state.json`: the term and the vote ([`HardState`]), written atomically (temp
//!   file, fsync, rename, fsync the directory) **before** the node acts on them: a node
//!   that voted, crashed and restarted must not vote again in the same term.
//! - `log`: [`Entry`]s framed as in chapter 2 (`u32` length, CRC32, JSON payload), one
//!   frame per [`Storage::persist`], each synced before the next is written: only the last
//!   frame can be damaged by a crash, so damage followed by an intact frame is refused. A
//!   follower replaces the end of its log by appending: an entry whose index is not past
//!   the previous one's **supersedes** every entry from that index on, on replay too.
//! - `snapshot`: the latest [`Snapshot`]: a one-line JSON header (index, term, length,
//!   CRC32 of the data) and the state machine's data, written atomically.
//!
//! **Compaction, in the order that loses nothing** ([`Storage::save_snapshot`]): the
//! snapshot file is written and made durable first (temp file, fsync, rename, fsync the
//! directory); only then is the log rewritten, also atomically, to hold a marker entry
//! at the snapshot's index (its term, no command) and the entries after it. A crash
//! before the first rename leaves the old snapshot and the old log; a crash between the
//! two leaves the new snapshot and the old log, whose entries the snapshot covers are
//! skipped on recovery. An entry after the snapshot is kept only if the log agrees with
//! the snapshot at its boundary (same term at its index): a follower that installed a
//! leader's snapshot over a log that disagreed must not get that log's tail back.
//!
//! [`Storage::persist`] is synchronous and slow (it fsyncs): the node calls it from a
//! blocking thread, once per batch of work (group commit). Any write or sync error is
//! returned and the node stops acknowledging anything: it cannot know what reached the disk.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plumbing::disk::{AppendFile, Disk, write_atomically};
use plumbing::frame;

use crate::api::Command;
use crate::raft::{Entry, HardState, MAX_SNAPSHOT_BYTES, Persisted, Snapshot};

/// The log file's name.
pub const LOG_FILE: &str = "log";
/// The snapshot file's name.
pub const SNAPSHOT_FILE: &str = "snapshot";
/// The term-and-vote file's name.
pub const HARD_STATE_FILE: &str = "hard_state.json";
/// The most key and value bytes [`Storage::persist`] puts in one frame, so that a frame
/// stays under [`frame::MAX_PAYLOAD_BYTES`] even with every byte escaped into JSON.
pub const MAX_FRAME_ENTRY_BYTES: usize = 8 * 1024 * 1024;

/// The frame of a batch of entries (see [`plumbing::frame`]).
pub fn encode(entries: &[Entry]) -> io::Result<Vec<u8>> {
    frame::encode(entries)
}

/// The entries of the frame at the start of `bytes` and the frame's length, or why
/// there is none (see [`plumbing::frame`]).
pub fn decode(bytes: &[u8]) -> Result<(Vec<Entry>, usize), String> {
    frame::decode(bytes)
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
    /// An entry whose index leaves a gap: the file is not a log this node wrote.
    #[error("{path}: entry {index} follows entry {previous}; refusing to start")]
    Gap {
        /// The log file.
        path: PathBuf,
        /// The entry's index.
        index: u64,
        /// The index of the entry before it.
        previous: u64,
    },
    /// A log that does not reach back to its snapshot: entries between them are missing.
    #[error(
        "{path} starts at entry {first}, but the snapshot ends at {snapshot}: the entries between are missing; refusing to start"
    )]
    Unanchored {
        /// The log file.
        path: PathBuf,
        /// The log's first index.
        first: u64,
        /// The snapshot's last index.
        snapshot: u64,
    },
    /// A hard-state or snapshot file that does not parse.
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

/// A node's files, open.
#[derive(Debug)]
pub struct Storage {
    disk: Arc<dyn Disk>,
    dir: PathBuf,
    log: Box<dyn AppendFile>,
}

/// What recovery hands the node.
#[derive(Debug)]
pub struct Recovered {
    /// The term and vote, the snapshot, and the log after it (superseding applied).
    pub persisted: Persisted,
    /// The files, open for writing.
    pub storage: Storage,
}

/// The snapshot file's header line.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct SnapshotHeader {
    index: u64,
    term: u64,
    bytes: u64,
    crc32: u32,
}

/// The bytes of a snapshot file.
pub fn encode_snapshot(snapshot: &Snapshot) -> io::Result<Vec<u8>> {
    let header = SnapshotHeader {
        index: snapshot.index,
        term: snapshot.term,
        bytes: snapshot.data.len() as u64,
        crc32: crc32fast::hash(snapshot.data.as_bytes()),
    };
    let mut bytes = serde_json::to_vec(&header).map_err(io::Error::other)?;
    bytes.push(b'\n');
    bytes.extend_from_slice(snapshot.data.as_bytes());
    Ok(bytes)
}

/// The snapshot a snapshot file holds, or why it is damaged.
pub fn decode_snapshot(bytes: &[u8]) -> Result<Snapshot, String> {
    let newline = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no header line")?;
    let header: SnapshotHeader =
        serde_json::from_slice(&bytes[..newline]).map_err(|e| format!("header: {e}"))?;
    let data = &bytes[newline + 1..];
    if header.bytes > MAX_SNAPSHOT_BYTES || data.len() as u64 != header.bytes {
        return Err(format!(
            "the header says {} bytes of data, the file holds {}",
            header.bytes,
            data.len()
        ));
    }
    if crc32fast::hash(data) != header.crc32 {
        return Err("checksum mismatch".into());
    }
    let data = String::from_utf8(data.to_vec()).map_err(|e| format!("data: {e}"))?;
    Ok(Snapshot {
        index: header.index,
        term: header.term,
        data,
    })
}

impl Storage {
    /// Reads `dir`: term and vote, the snapshot, then the log after it. A torn tail is
    /// truncated with a warning, as in chapter 2.
    pub fn recover(disk: Arc<dyn Disk>, dir: &Path) -> Result<Recovered, RecoveryError> {
        disk.create_dir_all(dir)?;
        let files = disk.list(dir)?;
        let hard_path = dir.join(HARD_STATE_FILE);
        let hard_state = if files.contains(&hard_path) {
            serde_json::from_slice(&disk.read(&hard_path)?).map_err(|e| {
                RecoveryError::CorruptFile {
                    path: hard_path.clone(),
                    reason: e.to_string(),
                }
            })?
        } else {
            HardState::default()
        };
        let snapshot_path = dir.join(SNAPSHOT_FILE);
        let snapshot = if files.contains(&snapshot_path) {
            Some(
                decode_snapshot(&disk.read(&snapshot_path)?).map_err(|reason| {
                    RecoveryError::CorruptFile {
                        path: snapshot_path.clone(),
                        reason,
                    }
                })?,
            )
        } else {
            None
        };
        let log_path = dir.join(LOG_FILE);
        let mut stored: Vec<Entry> = Vec::new();
        if files.contains(&log_path) {
            let bytes = disk.read(&log_path)?;
            let scanned =
                frame::scan::<Entry>(&bytes).map_err(|damaged| RecoveryError::CorruptLog {
                    path: log_path.clone(),
                    offset: damaged.offset,
                    reason: damaged.reason,
                })?;
            for entry in scanned.batches.into_iter().flatten() {
                supersede(&mut stored, entry, &log_path)?;
            }
            if let Some((offset, _)) = scanned.torn {
                tracing::warn!(path = %log_path.display(), offset, "the log ends in a torn write; truncating it");
                disk.truncate(&log_path, offset as u64)?;
                disk.sync_file(&log_path)?;
            }
        }
        let log = after_snapshot(stored, snapshot.as_ref(), &log_path)?;
        let file = disk.open_append(&log_path)?;
        disk.sync_dir(dir)?;
        Ok(Recovered {
            persisted: Persisted {
                hard_state,
                snapshot,
                log,
            },
            storage: Storage {
                disk,
                dir: dir.to_path_buf(),
                log: file,
            },
        })
    }

    /// Makes `snapshot` durable, then replaces the stored log with its boundary marker
    /// and `log` (the entries after it), each step atomic: see the module documentation
    /// for why this order loses nothing at any crash.
    pub fn save_snapshot(&mut self, snapshot: &Snapshot, log: &[Entry]) -> io::Result<()> {
        write_atomically(
            self.disk.as_ref(),
            &self.dir,
            SNAPSHOT_FILE,
            &encode_snapshot(snapshot)?,
        )?;
        let marker = Entry {
            index: snapshot.index,
            term: snapshot.term,
            command: Command::Noop,
        };
        let mut bytes = encode(&[marker])?;
        for frame in frames(log) {
            bytes.extend_from_slice(&encode(frame)?);
        }
        write_atomically(self.disk.as_ref(), &self.dir, LOG_FILE, &bytes)?;
        self.log = self.disk.open_append(&self.dir.join(LOG_FILE))?;
        Ok(())
    }

    /// Makes `hard_state` (if given) and `entries` durable: the term and vote first, then
    /// the entries, as one frame synced once (a frame per [`MAX_FRAME_ENTRY_BYTES`] of
    /// keys and values if there are more, each synced before the next is written).
    pub fn persist(&mut self, hard_state: Option<HardState>, entries: &[Entry]) -> io::Result<()> {
        if let Some(hard_state) = hard_state {
            let bytes = serde_json::to_vec(&hard_state).map_err(io::Error::other)?;
            write_atomically(self.disk.as_ref(), &self.dir, HARD_STATE_FILE, &bytes)?;
        }
        for frame in frames(entries) {
            self.log.append(&encode(frame)?)?;
            self.log.sync()?;
        }
        Ok(())
    }

    /// The bytes the log file holds (what a snapshot keeps bounded).
    pub fn log_bytes(&self) -> u64 {
        self.log.len()
    }
}

/// `entries` cut into frames of at most [`MAX_FRAME_ENTRY_BYTES`] of keys and values
/// (at least one entry each).
fn frames(entries: &[Entry]) -> impl Iterator<Item = &[Entry]> {
    let mut rest = entries;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0;
        let take = rest
            .iter()
            .position(|e| {
                bytes += e.command.payload_len();
                bytes > MAX_FRAME_ENTRY_BYTES
            })
            .unwrap_or(rest.len())
            .max(1);
        let (frame, after) = rest.split_at(take);
        rest = after;
        Some(frame)
    })
}

/// Replays one stored entry onto the log read so far: an entry whose index is not past
/// the last one's replaces everything from its index on.
fn supersede(stored: &mut Vec<Entry>, entry: Entry, path: &Path) -> Result<(), RecoveryError> {
    let first = stored.first().map_or(entry.index, |e| e.index);
    let last = stored.last().map_or(first.saturating_sub(1), |e| e.index);
    if entry.index == 0 || entry.index < first || entry.index > last + 1 {
        return Err(RecoveryError::Gap {
            path: path.to_path_buf(),
            index: entry.index,
            previous: last,
        });
    }
    stored.truncate((entry.index - first) as usize);
    stored.push(entry);
    Ok(())
}

/// The entries of the stored log that follow the snapshot, if the log agrees with the
/// snapshot at its boundary (else none: the snapshot was installed over a log that
/// disagreed, and the crash came before the log was rewritten).
fn after_snapshot(
    stored: Vec<Entry>,
    snapshot: Option<&Snapshot>,
    path: &Path,
) -> Result<Vec<Entry>, RecoveryError> {
    let (index, term) = snapshot.map_or((0, 0), |s| (s.index, s.term));
    let Some(first) = stored.first().map(|e| e.index) else {
        return Ok(stored);
    };
    if first > index + 1 {
        return Err(RecoveryError::Unanchored {
            path: path.to_path_buf(),
            first,
            snapshot: index,
        });
    }
    if index == 0 || first == index + 1 {
        return Ok(stored);
    }
    match stored.get((index - first) as usize) {
        Some(boundary) if boundary.term == term => {
            Ok(stored.into_iter().filter(|e| e.index > index).collect())
        }
        _ => Ok(Vec::new()),
    }
}
