//! What a power loss does to a [`SimDisk`](super::SimDisk): the crash modes, the report,
//! and the crash itself (see the parent module's documentation for the rules).

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::SimState;

/// How a [`SimDisk::crash`](super::SimDisk::crash) treats the unsynced tail of an append-only file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashMode {
    /// Decided per file by the seed: lose it, or tear it.
    Seeded,
    /// Every unsynced byte is lost.
    LoseUnsynced,
    /// The unsynced tail is cut inside a write; the surviving bytes may be zeros.
    Torn,
    /// Each [`BLOCK_BYTES`] block of the unsynced tail survives or reads as zeros, decided
    /// block by block; the file's length may also stop short of its end.
    Reordered,
}

/// The unit in which a [`CrashMode::Reordered`] crash keeps or loses unsynced bytes.
/// Real disks write 512-byte sectors and page caches 4 KiB pages; a small block lets
/// small test records be damaged in every way a large one could be.
pub const BLOCK_BYTES: usize = 32;

/// What a crash did, for the test's log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrashReport {
    /// Unsynced bytes that were lost.
    pub bytes_lost: u64,
    /// Files whose tail was torn (a partial write survived).
    pub torn_files: Vec<PathBuf>,
    /// Directory entries that reverted (created, renamed or removed without `sync_dir`).
    pub entries_reverted: usize,
}

impl SimState {
    /// What a crash leaves: see the module documentation.
    pub(super) fn crash(&mut self, mode: CrashMode) -> CrashReport {
        let state = self;
        let entries_reverted = state
            .names
            .iter()
            .filter(|(name, inode)| state.durable_names.get(*name) != Some(inode))
            .count()
            + state
                .durable_names
                .keys()
                .filter(|name| !state.names.contains_key(*name))
                .count();
        let mut report = CrashReport {
            entries_reverted,
            ..CrashReport::default()
        };
        state.names = state.durable_names.clone();
        let live: BTreeSet<u64> = state.names.values().copied().collect();
        state.inodes.retain(|id, _| live.contains(id));
        let names: Vec<(PathBuf, u64)> = state.names.iter().map(|(p, i)| (p.clone(), *i)).collect();
        for (path, id) in names {
            let Some(inode) = state.inodes.get_mut(&id) else {
                continue;
            };
            let unsynced = inode.data.len().saturating_sub(inode.synced.len());
            let append_only = !inode.rewritten && inode.data.starts_with(&inode.synced);
            let mode = match mode {
                CrashMode::Seeded => match state.rng.u8(0..3) {
                    0 => CrashMode::LoseUnsynced,
                    1 => CrashMode::Torn,
                    _ => CrashMode::Reordered,
                },
                other => other,
            };
            let tear = append_only && unsynced > 1 && mode == CrashMode::Torn;
            let reorder = append_only && unsynced > 0 && mode == CrashMode::Reordered;
            let mut survivor = inode.synced.clone();
            if reorder {
                let base = inode.synced.len();
                // The size may reach the disk before all the data, or not at all.
                let end = if state.rng.bool() {
                    inode.data.len()
                } else {
                    state.rng.usize(base..=inode.data.len())
                };
                survivor.extend_from_slice(&inode.data[base..end]);
                // Blocks are aligned to the file, so the first may be partly synced:
                // only its unsynced bytes are at stake.
                let mut start = base;
                while start < end {
                    let block_end = ((start / BLOCK_BYTES + 1) * BLOCK_BYTES).min(end);
                    if state.rng.bool() {
                        survivor[start..block_end].fill(0);
                    }
                    start = block_end;
                }
                report.torn_files.push(path.clone());
            } else if tear {
                // Keep everything up to a point strictly inside one unsynced write.
                let base = inode.synced.len();
                let cut = base + state.rng.usize(1..unsynced);
                let write_start = inode
                    .unsynced_writes
                    .iter()
                    .rev()
                    .find(|&&s| s < cut)
                    .copied()
                    .unwrap_or(base);
                survivor.extend_from_slice(&inode.data[base..cut]);
                if state.rng.bool() {
                    survivor[write_start..cut].fill(0);
                }
                report.torn_files.push(path.clone());
            }
            report.bytes_lost += (inode.data.len().max(survivor.len()) - survivor.len()) as u64;
            inode.data = survivor.clone();
            inode.synced = survivor;
            inode.unsynced_writes.clear();
            inode.rewritten = false;
        }
        state.generation += 1;
        report
    }
}
