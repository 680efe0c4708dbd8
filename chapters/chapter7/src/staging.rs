//! Pieces of a shard sent ahead of its install.
//!
//! A shard moves as the data its old owner froze. Sent as one log entry, a shard could
//! be no bigger than one message between replicas (see `server::MAX_ENTRY_BYTES`), so the
//! controller sends a big shard in pieces: `Stage` entries first, each a piece, which the
//! new owner keeps aside, then the `Install` with the last piece, which takes them all
//! (chapter 6 sends a snapshot in pieces for the same reason). Nothing here serves a
//! client: a staged piece is only data waiting for its install.
//!
//! Pieces are fenced like every step: they are kept only for a shard absent here since an
//! older configuration, and only for one configuration at a time (a newer move's pieces
//! replace an older one's; an older move's pieces are stale). Staging a piece twice is
//! harmless (a piece's keys are the shard's, whatever order they arrive in), so a
//! controller that crashed mid-way and its replacement can both send them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::ShardId;
use crate::group::{GroupReply, ShardState};
use crate::shard::ShardData;

/// The most bytes a group keeps staged at once; a piece past it is refused.
pub const MAX_STAGED_BYTES: usize = 128 * 1024 * 1024;

/// The pieces a group holds for shards it will install: shard → (configuration, data).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staging {
    shards: BTreeMap<ShardId, (u64, ShardData)>,
}

impl Staging {
    /// Keeps `piece` of `shard` for configuration `num`, the shard being `now` here.
    pub fn stage(
        &mut self,
        shard: ShardId,
        num: u64,
        piece: ShardData,
        now: ShardState,
    ) -> GroupReply {
        match now {
            ShardState::Absent { num: since } if since < num => {
                if self.shards.get(&shard).is_some_and(|(n, _)| *n > num) {
                    return GroupReply::Stale { shard, num, now };
                }
                if self.bytes() + piece.bytes() > MAX_STAGED_BYTES {
                    return GroupReply::Refused { shard, num, now };
                }
                let staged = self
                    .shards
                    .entry(shard)
                    .or_insert_with(|| (num, ShardData::default()));
                if staged.0 != num {
                    *staged = (num, ShardData::default()); // an older move's pieces
                }
                staged.1.merge(piece);
                GroupReply::Staged { shard, num }
            }
            _ if now.num() >= num => GroupReply::Stale { shard, num, now },
            _ => GroupReply::Refused { shard, num, now },
        }
    }

    /// `data` (the install's own piece) with the pieces staged for `shard` and
    /// configuration `num`, which leave the staging area: the install takes them, or is
    /// stale and never will. A newer move's pieces stay.
    pub fn take(&mut self, shard: ShardId, num: u64, data: ShardData) -> ShardData {
        match self.shards.remove(&shard) {
            Some((n, mut staged)) if n == num => {
                staged.merge(data);
                staged
            }
            Some(newer) if newer.0 > num => {
                self.shards.insert(shard, newer);
                data
            }
            _ => data,
        }
    }

    /// The bytes staged, all shards together.
    pub fn bytes(&self) -> usize {
        self.shards.values().map(|(_, d)| d.bytes()).sum()
    }
}
