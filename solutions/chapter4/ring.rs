//! Placement: which node owns a key.
//!
//! Exercises 4.1, 4.2 and 4.4 live here. Every key is hashed to a 64-bit number with a
//! hash that is fixed by its specification ([`key_hash`]), so every node, on every run
//! and every Rust version, computes the same owner for the same key and the same ring.
//!
//! Two placements:
//! - **mod-N**: the owner is member number `hash % N`. Perfectly spread, but change `N`
//!   and almost every key changes owner.
//! - **consistent hashing**: every member puts `vnodes` tokens on a circle of 2^64
//!   points; a key belongs to the first token at or after its hash, wrapping around.
//!   A new member takes over only the arcs just before its own tokens.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A node's id in the cluster.
pub type NodeId = u64;

/// The most tokens a member may place (a ring of 100 members then has a million tokens).
pub const MAX_VNODES: u32 = 10_000;

/// The hash every placement uses: XXH3, 64 bits, seed 0, of the key's UTF-8 bytes.
pub fn key_hash(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

/// The hash of a member's `v`-th token: the hash of `"node-{id}#{v}"`.
pub fn token_hash(id: NodeId, v: u32) -> u64 {
    key_hash(&format!("node-{id}#{v}"))
}

/// A member of the cluster: its id and the address other nodes and clients use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// The node's id.
    pub id: NodeId,
    /// Its base URL, e.g. `http://127.0.0.1:7001`.
    pub url: String,
}

/// How keys are spread over the members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Placement {
    /// Member number `hash % N`, members in id order.
    ModN,
    /// Consistent hashing with `vnodes` tokens per member.
    Consistent {
        /// Tokens (virtual nodes) per member.
        vnodes: u32,
    },
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Placement::ModN => write!(f, "mod-N"),
            Placement::Consistent { vnodes } => write!(f, "consistent hashing, {vnodes} vnodes"),
        }
    }
}

/// One point on the circle, owned by `members[member]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Token {
    /// Where the token sits on the circle.
    pub hash: u64,
    /// The index of its member in [`Ring::members`].
    pub member: usize,
}

/// Why a ring description is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RingError {
    /// Two members share an id.
    #[error("node {0} is listed twice")]
    DuplicateId(NodeId),
    /// A member's URL is not an `http://` URL.
    #[error("node {id}'s url {url:?} is not an http:// URL")]
    BadUrl {
        /// The member.
        id: NodeId,
        /// What was given.
        url: String,
    },
    /// `vnodes` is 0 or more than [`MAX_VNODES`].
    #[error("vnodes must be between 1 and {MAX_VNODES}, not {0}")]
    BadVnodes(u32),
}

/// The cluster's map: its members, how keys are placed on them, and the map's epoch
/// (every membership change makes a new ring with the next epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RingSpec", into = "RingSpec")]
pub struct Ring {
    epoch: u64,
    placement: Placement,
    members: Vec<Member>,
    tokens: Vec<Token>,
}

/// A ring as it travels and is stored: the tokens are recomputed, never trusted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RingSpec {
    epoch: u64,
    placement: Placement,
    members: Vec<Member>,
}

impl TryFrom<RingSpec> for Ring {
    type Error = RingError;
    fn try_from(spec: RingSpec) -> Result<Self, RingError> {
        Ring::new(spec.epoch, spec.placement, spec.members)
    }
}

impl From<Ring> for RingSpec {
    fn from(ring: Ring) -> Self {
        RingSpec {
            epoch: ring.epoch,
            placement: ring.placement,
            members: ring.members,
        }
    }
}

impl Ring {
    /// A ring of `members` (any order: they are sorted by id, so every node agrees).
    pub fn new(
        epoch: u64,
        placement: Placement,
        mut members: Vec<Member>,
    ) -> Result<Self, RingError> {
        if let Placement::Consistent { vnodes } = placement
            && !(1..=MAX_VNODES).contains(&vnodes)
        {
            return Err(RingError::BadVnodes(vnodes));
        }
        members.sort_by_key(|m| m.id);
        for pair in members.windows(2) {
            if pair[0].id == pair[1].id {
                return Err(RingError::DuplicateId(pair[0].id));
            }
        }
        if let Some(bad) = members.iter().find(|m| !m.url.starts_with("http://")) {
            return Err(RingError::BadUrl {
                id: bad.id,
                url: bad.url.clone(),
            });
        }
        let tokens = match placement {
            Placement::ModN => Vec::new(),
            Placement::Consistent { vnodes } => build_tokens(&members, vnodes),
        };
        Ok(Self {
            epoch,
            placement,
            members,
            tokens,
        })
    }

    /// A ring with no member (a node that has not joined a cluster yet).
    pub fn empty(placement: Placement) -> Self {
        Self {
            epoch: 0,
            placement,
            members: Vec::new(),
            tokens: Vec::new(),
        }
    }

    /// The map's epoch: 0 for an empty ring, one more with every change.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// How keys are placed.
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// The members, in id order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The member with this id.
    pub fn member(&self, id: NodeId) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    /// The tokens on the circle, in hash order (empty for mod-N).
    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// The owner of a hash; `None` when the ring has no member.
    pub fn owner_of_hash(&self, hash: u64) -> Option<&Member> {
        if self.members.is_empty() {
            return None;
        }
        let index = match self.placement {
            Placement::ModN => mod_n(hash, self.members.len()),
            Placement::Consistent { .. } => {
                let token = lookup(&self.tokens, hash);
                self.token(token, hash).member
            }
        };
        let member = self.members.get(index);
        if member.is_none() {
            panic!(
                "{} placed hash {hash:#x} on member number {index}, but the ring has {} \
                 members (0..{}): {}",
                match self.placement {
                    Placement::ModN => "exercise 4.1's mod_n",
                    Placement::Consistent { .. } => "a token of exercise 4.2's build_tokens",
                },
                self.members.len(),
                self.members.len(),
                "a member number is a position in Ring::members, not an id"
            );
        }
        member
    }

    /// Token number `index`, as exercise 4.2's `lookup` found it for `hash`; a lookup
    /// past the end is named as the exercise's, not as an index out of bounds here.
    fn token(&self, index: usize, hash: u64) -> &Token {
        self.tokens.get(index).unwrap_or_else(|| {
            panic!(
                "exercise 4.2's lookup gave hash {hash:#x} token number {index}, but the ring \
                 has {} tokens (0..{}): past the last token, wrap around to token 0",
                self.tokens.len(),
                self.tokens.len()
            )
        })
    }

    /// The owner of a key; `None` when the ring has no member.
    pub fn owner(&self, key: &str) -> Option<&Member> {
        self.owner_of_hash(key_hash(key))
    }

    /// The next epoch's ring with `member` added.
    pub fn with_member(&self, member: Member) -> Result<Self, RingError> {
        let mut members = self.members.clone();
        members.push(member);
        Ring::new(self.epoch + 1, self.placement, members)
    }

    /// The next epoch's ring without member `id`.
    pub fn without_member(&self, id: NodeId) -> Result<Self, RingError> {
        let members = self
            .members
            .iter()
            .filter(|m| m.id != id)
            .cloned()
            .collect();
        Ring::new(self.epoch + 1, self.placement, members)
    }

    /// Each member's share of the circle, exactly (consistent hashing), in id order.
    /// For mod-N every member's share is 1/N.
    pub fn shares(&self) -> Vec<(NodeId, f64)> {
        let mut shares = vec![0.0; self.members.len()];
        match self.placement {
            Placement::ModN => shares.fill(1.0 / self.members.len().max(1) as f64),
            Placement::Consistent { .. } => {
                for (i, token) in self.tokens.iter().enumerate() {
                    let previous = if i == 0 {
                        self.tokens[self.tokens.len() - 1].hash
                    } else {
                        self.tokens[i - 1].hash
                    };
                    let Some(share) = shares.get_mut(token.member) else {
                        panic!(
                            "exercise 4.2's build_tokens made a token for member number {}, \
                             but the ring has {} members (0..{}): a token's member is its \
                             position in Ring::members, not its id",
                            token.member,
                            self.members.len(),
                            self.members.len()
                        );
                    };
                    *share += arc_fraction(previous, token.hash);
                }
            }
        }
        self.members.iter().map(|m| m.id).zip(shares).collect()
    }
}

/// The length of the arc `(start, end]` as a fraction of the circle; `start == end` is
/// the whole circle (a ring with a single token).
pub fn arc_fraction(start: u64, end: u64) -> f64 {
    let length = end.wrapping_sub(start);
    if length == 0 {
        1.0
    } else {
        length as f64 / 2f64.powi(64)
    }
}

// ANCHOR: mod_n
/// mod-N placement: the index of the member (in id order) that owns `hash`, out of
/// `members` members (at least one).
pub fn mod_n(hash: u64, members: usize) -> usize {
    // EXERCISE 4.1: mod-N placement: the owner is member number `hash % N`
    // HINT: Every node must compute the same owner from the same member list.
    (hash % members as u64) as usize
    // END EXERCISE 4.1
}
// ANCHOR_END: mod_n

// ANCHOR: tokens
/// Every member's `vnodes` tokens (`token_hash(id, 0..vnodes)`), sorted by hash.
/// Ties (two tokens on the same point, astronomically rare) are broken by member
/// index, so every node builds the same ring.
pub fn build_tokens(members: &[Member], vnodes: u32) -> Vec<Token> {
    // EXERCISE 4.2: place `vnodes` tokens per member on the circle, in hash order
    // HINT: Every node must build the very same circle, in the same order.
    let mut tokens = Vec::with_capacity(members.len() * vnodes as usize);
    for (index, member) in members.iter().enumerate() {
        for v in 0..vnodes {
            tokens.push(Token {
                hash: token_hash(member.id, v),
                member: index,
            });
        }
    }
    tokens.sort_unstable();
    tokens
    // END EXERCISE 4.2
}
// ANCHOR_END: tokens

// ANCHOR: lookup
/// The index of the token that owns `hash`: the first token at or after it, wrapping
/// around to the first token past the top of the circle. `tokens` is sorted and not empty.
pub fn lookup(tokens: &[Token], hash: u64) -> usize {
    // EXERCISE 4.2: find the first token at or after `hash`, in O(log n), wrapping around
    // HINT: A sorted slice can answer "first at or after" without a scan.
    let index = tokens.partition_point(|t| t.hash < hash);
    if index == tokens.len() { 0 } else { index }
    // END EXERCISE 4.2
}
// ANCHOR_END: lookup

/// An arc of the circle, `(start, end]`, that changes owner between two rings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    /// The arc starts just after this hash...
    pub start: u64,
    /// ...and ends at this hash, included.
    pub end: u64,
    /// Its owner in the old ring.
    pub from: NodeId,
    /// Its owner in the new ring.
    pub to: NodeId,
}

impl Move {
    /// The arc's share of the circle.
    pub fn fraction(&self) -> f64 {
        arc_fraction(self.start, self.end)
    }

    /// Whether `hash` lies on the arc.
    pub fn contains(&self, hash: u64) -> bool {
        hash.wrapping_sub(self.start).wrapping_sub(1) < self.end.wrapping_sub(self.start)
            || self.start == self.end
    }
}

// ANCHOR: moved_arcs
/// The arcs whose owner differs between `old` and `new`, in hash order, adjacent arcs
/// with the same (from, to) merged. Both rings must use consistent hashing and have
/// members; otherwise there are no arcs to speak of and the answer is `None` (mod-N
/// moves keys one by one, not arcs).
pub fn moved_arcs(old: &Ring, new: &Ring) -> Option<Vec<Move>> {
    let both_consistent = matches!(old.placement(), Placement::Consistent { .. })
        && matches!(new.placement(), Placement::Consistent { .. });
    if !both_consistent || old.members().is_empty() || new.members().is_empty() {
        return None;
    }
    // EXERCISE 4.4: sweep the circle: between two consecutive token hashes of either ring, both owners are fixed
    // HINT: Between two neighbouring tokens of either ring, neither owner can change.
    let mut bounds: Vec<u64> = old
        .tokens()
        .iter()
        .chain(new.tokens())
        .map(|t| t.hash)
        .collect();
    bounds.sort_unstable();
    bounds.dedup();
    let mut moves: Vec<Move> = Vec::new();
    for (i, &end) in bounds.iter().enumerate() {
        let start = if i == 0 {
            bounds[bounds.len() - 1]
        } else {
            bounds[i - 1]
        };
        let (Some(from), Some(to)) = (old.owner_of_hash(end), new.owner_of_hash(end)) else {
            continue;
        };
        if from.id == to.id {
            continue;
        }
        match moves.last_mut() {
            Some(last) if last.end == start && last.from == from.id && last.to == to.id => {
                last.end = end;
            }
            _ => moves.push(Move {
                start,
                end,
                from: from.id,
                to: to.id,
            }),
        }
    }
    Some(moves)
    // END EXERCISE 4.4
}
// ANCHOR_END: moved_arcs
