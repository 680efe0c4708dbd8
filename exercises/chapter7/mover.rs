// This file is yours to edit: replace each `todo!()` with your code, then run the
// chapter's tests. It was generated from solutions/chapter7/mover.rs by `cargo xtask exercises`;
// running that again overwrites your work, so do it only to start over.
//! The mover: the steps that take every shard a new configuration moves from its old
//! group to its new one, then make that configuration the latest.
//!
//! Exercise 7.5 lives here. The design is controller-driven: a short-lived controller
//! proposes a configuration to the service, then runs a `Mover` from the latest
//! configuration to the pending one. For each shard that changes owner:
//!
//! ```text
//! Freeze at the old owner ─▶ Install at the new owner ─▶ Delete at the old owner ─▶ done
//! ```
//!
//! and once every shard is done, `Finish` at the service. A shard that no group held
//! starts at `Install` (empty) and is done once installed.
//!
//! The mover keeps nothing durable. Every step is fenced by the configuration number, so
//! repeating one is harmless: a controller that crashed halfway is replaced by a new one
//! that reads the pending configuration from the service and runs a fresh `Mover` from
//! the start, and two controllers running the same change at once both finish it. The
//! mover does no I/O: it says what to send ([`Mover::actions`]) and is told the answers.

// The stubs leave some parameters, imports and helpers unused until you write the code;
// delete this line once every exercise in the file is done.
#![allow(unused_variables, unused_imports, dead_code)]

use std::collections::BTreeMap;

use crate::config::{Configuration, GroupId, Move, NO_GROUP, ShardId};
use crate::group::{GroupOp, GroupReply};
use crate::service::ServiceOp;
use crate::shard::ShardData;

/// Where one shard's move stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Ask the old owner to freeze it and hand over its data.
    Freeze,
    /// Give the new owner this data.
    Install(ShardData),
    /// Ask the old owner to drop it.
    Delete,
    /// Moved.
    Done,
}

/// A message the mover wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// To every server of `group` (its leader applies it).
    Group { group: GroupId, op: GroupOp },
    /// To the configuration service.
    Service(ServiceOp),
}

/// One configuration change being carried out.
#[derive(Debug, Clone)]
pub struct Mover {
    num: u64,
    moves: BTreeMap<ShardId, (Move, Step)>,
    finished: bool,
}

impl Mover {
    /// The steps from `from` (the latest configuration) to `to` (the pending one).
    pub fn new(from: &Configuration, to: &Configuration) -> Mover {
        let moves = from
            .moves_to(to)
            .into_iter()
            .map(|m| {
                let first = if m.from == NO_GROUP {
                    Step::Install(ShardData::default())
                } else {
                    Step::Freeze
                };
                (m.shard, (m, first))
            })
            .collect();
        Mover {
            num: to.num,
            moves,
            finished: false,
        }
    }

    /// Where each moving shard stands.
    pub fn steps(&self) -> impl Iterator<Item = (ShardId, &Step)> {
        self.moves.iter().map(|(&shard, (_, step))| (shard, step))
    }

    /// The service said the configuration is the latest: nothing is left to do.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// What to send now: the current step of every shard not yet moved, or, once all
    /// have moved, `Finish`. Send them again until answered (every step is idempotent).
    pub fn actions(&self) -> Vec<Action> {
        if self.finished {
            return Vec::new();
        }
        let num = self.num;
        let actions: Vec<Action> = self
            .moves
            .iter()
            .filter_map(|(&shard, (m, step))| {
                let (group, op) = match step {
                    Step::Freeze => (m.from, GroupOp::Freeze { shard, num }),
                    Step::Install(data) => (
                        m.to,
                        GroupOp::Install {
                            shard,
                            num,
                            data: data.clone(),
                        },
                    ),
                    Step::Delete => (m.from, GroupOp::Delete { shard, num }),
                    Step::Done => return None,
                };
                Some(Action::Group { group, op })
            })
            .collect();
        if actions.is_empty() {
            vec![Action::Service(ServiceOp::Finish { num })]
        } else {
            actions
        }
    }

    /// The service answered `Finish`.
    pub fn finished(&mut self, num: u64) {
        if num == self.num {
            self.finished = true;
        }
    }

    // ANCHOR: on_reply
    /// Group `group` answered one of the steps.
    pub fn on_reply(&mut self, group: GroupId, reply: GroupReply) {
        let num = self.num;
        // EXERCISE 7.5: advance a shard's move on the answer to its current step
        // HINT: Answers come late, twice, and from movers that ran before you: which of them speak about this shard's current step? A `Stale` one says that group is already past this configuration: what does that say about the step?
        todo!(
            "exercise 7.5 is not implemented yet: edit exercises/chapter7/mover.rs: advance a shard's move on the answer to its current step (book: chapter 7, exercise 5)"
        )
    }
    // ANCHOR_END: on_reply
}
