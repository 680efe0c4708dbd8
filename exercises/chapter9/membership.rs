// This file is yours to edit: replace each `todo!()` with your code, then run the
// chapter's tests. It was generated from solutions/chapter9/membership.rs by `cargo xtask exercises`;
// running that again overwrites your work, so do it only to start over.
//! Who is in a consumer group, and who reads which partition.
//!
//! Exercise 9.3 lives here. Every change of membership (a member joins, leaves, or is
//! not heard from in time) makes a new generation with a new assignment; a change that
//! changes nothing (a retried join) must not, or every retry stops the whole group.

// The stubs leave some parameters, imports and helpers unused until you write the code;
// delete this line once every exercise in the file is done.
#![allow(unused_variables, unused_imports, dead_code)]

use std::collections::BTreeMap;

use crate::group::{ConsumerGroup, Member, MemberId, Membership};
use crate::log::Millis;

// ANCHOR: assign
/// Deals `partitions` partitions out among `members` (in the order given) in ranges,
/// as Kafka's range assignor does: each member gets `partitions / n` consecutive
/// partitions, and the first `partitions % n` members one more; every partition goes to
/// exactly one member. Every member is in the map, even one with no partition; no
/// members, an empty map.
pub fn assign(members: &[MemberId], partitions: u32) -> BTreeMap<MemberId, Vec<u32>> {
    // EXERCISE 9.3: deal the partitions out in ranges, the first ones one bigger
    // HINT: With 5 partitions and 2 members: [0, 1, 2] and [3, 4]. Keep a running start; member i takes `each + (i < extra)` partitions from it.
    todo!(
        "exercise 9.3 is not implemented yet: edit exercises/chapter9/membership.rs: deal the partitions out in ranges, the first ones one bigger (book: chapter 9, exercise 3)"
    )
}
// ANCHOR_END: assign

impl ConsumerGroup {
    /// A new generation: the next number, and the partitions dealt out again among the
    /// members as they are now ([`assign`]).
    pub fn rebalance(&mut self) {
        self.generation += 1;
        let members: Vec<MemberId> = self.members.keys().cloned().collect();
        self.assignment = assign(&members, self.partitions);
    }

    // ANCHOR: join
    /// `member` joins at `now`. A member new to the group makes a new generation
    /// ([`ConsumerGroup::rebalance`]); one already in it (its join was retried) is only
    /// heard from, and the generation stays. Either way it is told its membership.
    pub fn join(&mut self, member: &str, now: Millis) -> Membership {
        // EXERCISE 9.3: a join: a new member rebalances, a known one is only heard from
        // HINT: A join can arrive twice (the first answer was lost). What would a rebalance on every retry do to the other members' work?
        todo!(
            "exercise 9.3 is not implemented yet: edit exercises/chapter9/membership.rs: a join: a new member rebalances, a known one is only heard from (book: chapter 9, exercise 3)"
        )
    }
    // ANCHOR_END: join

    // ANCHOR: leave
    /// `member` leaves: if it was in the group, a new generation without it. Returns
    /// whether it was.
    pub fn leave(&mut self, member: &str) -> bool {
        // EXERCISE 9.3: a leave: a new generation, only if the member was in the group
        // HINT: A leave can be retried too.
        todo!(
            "exercise 9.3 is not implemented yet: edit exercises/chapter9/membership.rs: a leave: a new generation, only if the member was in the group (book: chapter 9, exercise 3)"
        )
    }
    // ANCHOR_END: leave

    // ANCHOR: expire
    /// At `now`, takes out every member not heard from for longer than the session
    /// timeout (heard exactly `session_timeout` ago is still in); if any went, one new
    /// generation without them. Returns who went, in name order.
    pub fn expire(&mut self, now: Millis) -> Vec<MemberId> {
        // EXERCISE 9.3: time members out: one new generation for all who went
        // HINT: A member that crashed never says goodbye: without this, its partitions are read by nobody, for ever. Compare `now - last_heard` with the timeout (clocks from a log never go back, but `saturating_sub` costs nothing).
        todo!(
            "exercise 9.3 is not implemented yet: edit exercises/chapter9/membership.rs: time members out: one new generation for all who went (book: chapter 9, exercise 3)"
        )
    }
    // ANCHOR_END: expire
}
