//! A node's durable state: its term and vote, and its log.
//!
//! Chapter 3's storage without snapshots (a full consensus log with snapshots is a later
//! part of the course). The data directory holds:
//!
//! - `hard_state.json`: the term and the vote ([`HardState`]), written atomically (temp
//!   file, fsync, rename, fsync the directory) **before** the node acts on them: a node
//!   that voted, crashed and restarted must not vote again in the same term.
//! - `log`: [`Entry`]s framed as in chapter 2 (`u32` length, CRC32, JSON payload), one
//!   frame per [`Storage::persist`], each synced before the next is written: only the last
//!   frame can be damaged by a crash, so damage followed by an intact frame is refused. A
//!   follower replaces the end of its log by appending: an entry whose index is not past
//!   the previous one's **supersedes** every entry from that index on, on replay too.
//!
//! [`Storage::persist`] is synchronous and slow (it fsyncs): the node calls it from a
//! blocking thread, once per batch of work (group commit). Any write or sync error is
//! returned and the node stops acknowledging anything: it cannot know what reached the disk.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plumbing::disk::{AppendFile, Disk, write_atomically};
use plumbing::frame;

use crate::raft::{Entry, HardState};

/// The log file's name.
pub const LOG_FILE: &str = "log";
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
    /// A hard-state file that does not parse.
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
    /// The term and vote.
    pub hard_state: HardState,
    /// The log, superseding applied.
    pub log: Vec<Entry>,
    /// The files, open for writing.
    pub storage: Storage,
}

impl Storage {
    /// Reads `dir`: term and vote, then the log. A torn tail is truncated with a
    /// warning, as in chapter 2.
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
        let log_path = dir.join(LOG_FILE);
        let mut log: Vec<Entry> = Vec::new();
        if files.contains(&log_path) {
            let bytes = disk.read(&log_path)?;
            let scanned =
                frame::scan::<Entry>(&bytes).map_err(|damaged| RecoveryError::CorruptLog {
                    path: log_path.clone(),
                    offset: damaged.offset,
                    reason: damaged.reason,
                })?;
            for entry in scanned.batches.into_iter().flatten() {
                let previous = log.len() as u64;
                if entry.index == 0 || entry.index > previous + 1 {
                    return Err(RecoveryError::Gap {
                        path: log_path,
                        index: entry.index,
                        previous,
                    });
                }
                log.truncate(entry.index as usize - 1);
                log.push(entry);
            }
            if let Some((offset, _)) = scanned.torn {
                tracing::warn!(path = %log_path.display(), offset, "the log ends in a torn write; truncating it");
                disk.truncate(&log_path, offset as u64)?;
                disk.sync_file(&log_path)?;
            }
        }
        let file = disk.open_append(&log_path)?;
        disk.sync_dir(dir)?;
        Ok(Recovered {
            hard_state,
            log,
            storage: Storage {
                disk,
                dir: dir.to_path_buf(),
                log: file,
            },
        })
    }

    /// Makes `hard_state` (if given) and `entries` durable: the term and vote first, then
    /// the entries, as one frame synced once (a frame per [`MAX_FRAME_ENTRY_BYTES`] of
    /// keys and values if there are more, each synced before the next is written).
    pub fn persist(&mut self, hard_state: Option<HardState>, entries: &[Entry]) -> io::Result<()> {
        if let Some(hard_state) = hard_state {
            let bytes = serde_json::to_vec(&hard_state).map_err(io::Error::other)?;
            write_atomically(self.disk.as_ref(), &self.dir, HARD_STATE_FILE, &bytes)?;
        }
        let mut rest = entries;
        while !rest.is_empty() {
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
            self.log.append(&encode(frame)?)?;
            self.log.sync()?;
            rest = after;
        }
        Ok(())
    }
}
