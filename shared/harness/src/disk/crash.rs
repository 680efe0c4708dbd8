//! What a power loss does to a [`SimDisk`](super::SimDisk): the crash modes, the report,
//! and the crash itself (see the parent module's documentation for the rules).

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::{Change, SimState};

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
            let mode = match mode {
                CrashMode::Seeded => match state.rng.u8(0..3) {
                    0 => CrashMode::LoseUnsynced,
                    1 => CrashMode::Torn,
                    _ => CrashMode::Reordered,
                },
                other => other,
            };
            let survivor = match inode.change {
                _ if inode.data == inode.synced => inode.synced.clone(),
                Change::Rewritten => rewrite_survivor(inode, mode, &mut state.rng),
                Change::Truncated { to } => match mode {
                    CrashMode::LoseUnsynced => inode.synced.clone(),
                    // Only part of the truncation was carried out.
                    CrashMode::Torn | CrashMode::Seeded => {
                        let keep = state.rng.usize(to..=inode.synced.len());
                        inode.synced[..keep].to_vec()
                    }
                    // The truncation, then the appends after it as an unsynced tail.
                    CrashMode::Reordered => {
                        let base = inode.synced[..to].to_vec();
                        append_survivor(
                            &base,
                            &inode.data,
                            &inode.unsynced_writes,
                            mode,
                            &mut state.rng,
                        )
                    }
                },
                Change::Appended => append_survivor(
                    &inode.synced,
                    &inode.data,
                    &inode.unsynced_writes,
                    mode,
                    &mut state.rng,
                ),
            };
            if survivor != inode.synced && survivor != inode.data {
                report.torn_files.push(path.clone());
            }
            report.bytes_lost += (inode.data.len().max(survivor.len()) - survivor.len()) as u64;
            inode.data = survivor.clone();
            inode.synced = survivor;
            inode.unsynced_writes.clear();
            inode.change = Change::Appended;
        }
        state.generation += 1;
        report
    }
}

/// What survives of an append-only file: its synced bytes `synced`, then of the unsynced
/// tail of `data` (appends starting at `writes`) nothing, a prefix torn inside a write
/// (perhaps as zeros), or any subset of its blocks with zeros for the rest.
fn append_survivor(
    synced: &[u8],
    data: &[u8],
    writes: &[usize],
    mode: CrashMode,
    rng: &mut fastrand::Rng,
) -> Vec<u8> {
    let base = synced.len();
    let unsynced = data.len().saturating_sub(base);
    let mut survivor = synced.to_vec();
    match mode {
        CrashMode::Reordered if unsynced > 0 => {
            // The size may reach the disk before all the data, or not at all.
            let end = if rng.bool() {
                data.len()
            } else {
                rng.usize(base..=data.len())
            };
            survivor.extend_from_slice(&data[base..end]);
            // Blocks are aligned to the file, so the first may be partly synced: only
            // its unsynced bytes are at stake.
            let mut start = base;
            while start < end {
                let block_end = ((start / BLOCK_BYTES + 1) * BLOCK_BYTES).min(end);
                if rng.bool() {
                    survivor[start..block_end].fill(0);
                }
                start = block_end;
            }
        }
        CrashMode::Torn if unsynced > 1 => {
            // Keep everything up to a point strictly inside one unsynced write.
            let cut = base + rng.usize(1..unsynced);
            let write_start = writes
                .iter()
                .rev()
                .find(|&&s| s < cut && s >= base)
                .copied()
                .unwrap_or(base);
            survivor.extend_from_slice(&data[base..cut]);
            if rng.bool() {
                survivor[write_start..cut].fill(0);
            }
        }
        _ => {}
    }
    survivor
}

/// What survives of a file rewritten in place: the old content whole, or a mix of old
/// and new blocks, its length the old or the new one (bytes neither version has there
/// read as zeros).
fn rewrite_survivor(inode: &super::Inode, mode: CrashMode, rng: &mut fastrand::Rng) -> Vec<u8> {
    let (old, new) = (&inode.synced, &inode.data);
    if mode == CrashMode::LoseUnsynced {
        return old.clone();
    }
    let len = if rng.bool() { new.len() } else { old.len() };
    let blocks = len.div_ceil(BLOCK_BYTES);
    // Torn: the new blocks up to a point, the old ones after; Reordered: any subset.
    let cut = rng.usize(0..=blocks);
    let mut survivor = vec![0; len];
    for block in 0..blocks {
        let new_here = match mode {
            CrashMode::Reordered => rng.bool(),
            _ => block < cut,
        };
        let (first, second) = if new_here { (new, old) } else { (old, new) };
        let start = block * BLOCK_BYTES;
        for (at, byte) in survivor
            .iter_mut()
            .enumerate()
            .skip(start)
            .take(BLOCK_BYTES)
        {
            *byte = first
                .get(at)
                .or_else(|| second.get(at))
                .copied()
                .unwrap_or(0);
        }
    }
    survivor
}
