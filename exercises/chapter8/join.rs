// This file is yours to edit: replace each `todo!()` with your code, then run the
// chapter's tests. It was generated from solutions/chapter8/join.rs by `cargo xtask exercises`;
// running that again overwrites your work, so do it only to start over.
//! A job of your own: a join of two inputs.
//!
//! Exercise 8.6 lives here. The input has two kinds of file: `users*` files, whose lines
//! are `id,name` (each id on one line only; a name may be anything, digits too), and `orders*` files, whose lines are `order,user,amount` (`user` is a
//! user's `id`, `amount` a whole number of cents). The join's output has one line per
//! user who has at least one order: the user's id as key, and `name\torders\ttotal` as
//! value (how many orders, their amounts added up). A user without orders, and orders of
//! an unknown user, give no line (an inner join). Lines that do not parse are skipped.
//!
//! A map sees one split of one file and nothing else, so it cannot look anything up:
//! both kinds of line must meet in the reduce of their user's id, each marked with
//! where it came from.

// The stubs leave some parameters, imports and helpers unused until you write the code;
// delete this line once every exercise in the file is done.
#![allow(unused_variables, unused_imports, dead_code)]

use crate::job::Job;

/// The join of users with their orders.
#[derive(Debug, Clone, Copy, Default)]
pub struct Join;

impl Job for Join {
    fn name(&self) -> &'static str {
        "join"
    }

    // ANCHOR: join_map
    fn map(&self, file: &str, text: &str, emit: &mut dyn FnMut(String, String)) {
        // EXERCISE 8.6: the join, map and reduce: key users and orders by user id, marked by kind
        // HINT: The key must be the user's id for both kinds of line, so that a user and their orders reach the same reduce. The value must let the reduce tell a name from an amount: a prefix such as `user:` or `order:` will do.
        todo!(
            "exercise 8.6 is not implemented yet: edit exercises/chapter8/join.rs: the join, map and reduce: key users and orders by user id, marked by kind (book: chapter 8, exercise 6)"
        )
    }
    // ANCHOR_END: join_map

    // ANCHOR: join_reduce
    fn reduce(&self, _key: &str, values: &[String]) -> Option<String> {
        // EXERCISE 8.6: the join, map and reduce: one line per user with orders
        // HINT: Values arrive in no order you may rely on: find the user's name wherever it is, count and add up the orders. Which two cases give no line at all?
        todo!(
            "exercise 8.6 is not implemented yet: edit exercises/chapter8/join.rs: the join, map and reduce: one line per user with orders (book: chapter 8, exercise 6)"
        )
    }
    // ANCHOR_END: join_reduce
}
