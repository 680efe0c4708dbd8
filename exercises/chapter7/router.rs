// This file is yours to edit: replace each `todo!()` with your code, then run the
// chapter's tests. It was generated from solutions/chapter7/router.rs by `cargo xtask exercises`;
// running that again overwrites your work, so do it only to start over.
//! The client's side: route a key by a cached configuration, refresh it when a group says
//! `wrong_group`, and retry the same request (same id) until it is answered.
//!
//! While a change moves, the client also knows the pending configuration. When the owner
//! in the latest configuration says `wrong_group` (it froze the shard), the client tries
//! the pending configuration's owner, which serves the shard as soon as it is installed:
//! a moving shard is then unavailable from its freeze to its install, not until the whole
//! change is finished.
//!
//! Exercise 7.6 lives here. Like the rest it does no I/O: the shell sends the command to
//! [`Client::target`], asks the service for the latest configuration when told to, and
//! feeds back what it hears.

// The stubs leave some parameters, imports and helpers unused until you write the code;
// delete this line once every exercise in the file is done.
#![allow(unused_variables, unused_imports, dead_code)]

use crate::config::{Configuration, GroupId, NO_GROUP};
use crate::group::GroupReply;
use crate::placement::shard_of;
use crate::shard::{Answer, KvCommand, RequestId};

/// What the shell does next with the command in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// It was answered: this is its result.
    Done(Answer),
    /// Ask the service for the latest configuration, then send the same command again.
    Refresh,
    /// Send the same command again now: [`Client::target`] names another group.
    Retry,
    /// The answer was not for the command in flight (a late one): keep waiting.
    Ignore,
}

/// One client: its name, its last request's number, its cached configurations, and the
/// command it is waiting on.
#[derive(Debug, Clone)]
pub struct Client {
    name: String,
    seq: u64,
    /// The latest configuration it knows.
    config: Configuration,
    /// The configuration still moving after it, if any.
    moving: Option<Configuration>,
    /// Whether the command in flight goes to its shard's owner in `moving`.
    ahead: bool,
    pending: Option<KvCommand>,
}

impl Client {
    /// A client called `name` (its request ids' prefix: unique per client), starting from
    /// `config` (configuration 0 is fine: it routes nowhere and asks for a refresh).
    pub fn new(name: &str, config: Configuration) -> Client {
        Client {
            name: name.to_string(),
            seq: 0,
            config,
            moving: None,
            ahead: false,
            pending: None,
        }
    }

    /// Its cached configuration.
    pub fn config(&self) -> &Configuration {
        &self.config
    }

    /// The command it waits on, as sent (with its request id).
    pub fn pending(&self) -> Option<&KvCommand> {
        self.pending.as_ref()
    }

    /// The pending configuration it knows, if a change is moving.
    pub fn moving(&self) -> Option<&Configuration> {
        self.moving.as_ref()
    }

    /// The group the command in flight goes to now ([`NO_GROUP`]: none known; refresh):
    /// its shard's owner in the latest configuration, or in the moving one when the client
    /// is trying ahead.
    pub fn target(&self) -> GroupId {
        let config = match (&self.moving, self.ahead) {
            (Some(moving), true) => moving,
            _ => &self.config,
        };
        self.pending.as_ref().map_or(NO_GROUP, |command| {
            config.owner(shard_of(command.key(), config.shards.len().max(1)))
        })
    }

    /// The command in flight's shard's owner in the moving configuration, if that differs
    /// from the latest's: the group to try when the latest's owner says `wrong_group`.
    pub fn next_owner(&self) -> Option<GroupId> {
        let (moving, command) = (self.moving.as_ref()?, self.pending.as_ref()?);
        let shard = shard_of(command.key(), moving.shards.len().max(1));
        let owner = moving.owner(shard);
        (owner != self.config.owner(shard) && owner != NO_GROUP).then_some(owner)
    }

    // ANCHOR: client
    /// Starts `command`: a write gets this client's next request id, which every retry of
    /// it keeps. Returns the command to send.
    pub fn start(&mut self, command: KvCommand) -> KvCommand {
        // EXERCISE 7.6: give a write the next request id and keep the command in flight
        // HINT: The group's table knows a retry by its request id: which commands need one, and when may it change?
        todo!(
            "exercise 7.6 is not implemented yet: edit exercises/chapter7/router.rs: give a write the next request id and keep the command in flight (book: chapter 7, exercise 6)"
        )
    }

    /// A group answered the command in flight (the shell drops answers to earlier
    /// commands: it numbers its sends).
    pub fn on_reply(&mut self, reply: GroupReply) -> Next {
        // EXERCISE 7.6: an answer ends the command; wrong_group from the latest owner tries the moving one, else refreshes
        // HINT: Trying the next owner once saves a wait; trying it for ever traps the command between two groups that both say wrong_group.
        todo!(
            "exercise 7.6 is not implemented yet: edit exercises/chapter7/router.rs: an answer ends the command; wrong_group from the latest owner tries the moving one, else refreshes (book: chapter 7, exercise 6)"
        )
    }

    /// The service answered with its latest configuration, `config`, and the one
    /// `moving` after it, if any.
    pub fn on_config(&mut self, config: Configuration, moving: Option<Configuration>) {
        // EXERCISE 7.6: keep the newer configuration (answers arrive late and out of order), and the moving one only if newer still
        // HINT: The service's answers arrive late and out of order: which configuration may replace the one you hold?
        todo!(
            "exercise 7.6 is not implemented yet: edit exercises/chapter7/router.rs: keep the newer configuration (answers arrive late and out of order), and the moving one only if newer still (book: chapter 7, exercise 6)"
        )
    }
    // ANCHOR_END: client
}
