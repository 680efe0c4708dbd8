//! A replica's request path: from a route's request to the replica's log and back.
//!
//! Every request a replica serves, a client's key or a controller's step, becomes one
//! entry of its log, applied by the group's or the service's machine once committed
//! (chapter 6's [`Node::execute`]). Before it proposes anything, the path refuses what
//! must never reach the log: the other kind of replica's work (`400 wrong_kind`), an
//! entry too big to be delivered to the followers (`413`), and a shard step whose
//! configuration the service did not make or does not call for ([`Confirmer`], `400`).
//! After the log, it turns the machine's reply into the route's answer: a shard this
//! group does not serve now is `421 wrong_group`, naming the shard.
//!
//! What the machine decides stays the machine's (exercises 7.3 and 7.4): a key of a
//! frozen shard is `wrong_group` because the freeze came first in the log, whatever the
//! order in which requests arrived; a retried write is answered from the shard's table,
//! which moves with the shard. The path's job is to put every request through the log,
//! and nothing else in it.
//!
//! Exercise 7.7 lives here, the first of the systems track (optional: finished until you
//! run `cargo xtask track chapter7 systems`).

use std::sync::Arc;

use crate::command::{Command, MAX_ENTRY_BYTES};
use crate::confirm::Confirmer;
use crate::error::ApiError;
use crate::group::{GroupOp, GroupReply};
use crate::machine::Applied;
use crate::node::Node;
use crate::responses::Failure;
use crate::service::{ServiceOp, ServiceReply};
use crate::shard::{Answer, KvCommand};

/// What a replica serves: the configuration service, or a group (which confirms each
/// step with the service before it proposes it).
#[derive(Debug)]
pub enum Role {
    Service,
    Group(Confirmer),
}

/// The routes' state: the replica's node and its role.
#[derive(Debug, Clone)]
pub struct Replica {
    pub node: Arc<Node>,
    pub role: Arc<Role>,
}

impl Replica {
    /// Runs `op` through a group's log, once the service has confirmed a shard step; the
    /// service refuses it without proposing it.
    // ANCHOR: group
    pub async fn group(&self, op: GroupOp) -> Result<GroupReply, Failure> {
        // EXERCISE 7.7: propose only what may reach the log: the right kind, fits, confirmed
        // HINT: Whatever reaches the log is applied by every replica for ever: a command that should not be there must be refused before `self.node.execute`, not after. Which three things can make a command one that should not be there?
        // HINT: A service's replica (`Role::Service`) answers `Failure::WrongKind`; a command bigger than an entry may be (`fits`) is refused; a step is proposed only once `confirmer.confirm(&op)` says its configuration calls for it (a client's command needs no confirmation). Then execute `Command::Group { op }`.
        // HINT: The log applies what it was given: the group's machine answers `Applied::Group(reply)`. Anything else is a bug of the node, an `ApiError::Internal`, not a panic.
        let Role::Group(confirmer) = &*self.role else {
            return Err(Failure::WrongKind(
                "this replica is the configuration service's: send keys and shard steps to a \
                 group's replicas"
                    .into(),
            ));
        };
        let command = Command::Group { op };
        fits(&command)?;
        if let Command::Group { op } = &command {
            confirmer.confirm(op).await?;
        }
        match self.node.execute(command).await? {
            Applied::Group(reply) => Ok(reply),
            other => Err(ApiError::Internal(format!("a group's log applied {other:?}")).into()),
        }
        // END EXERCISE 7.7
    }
    // ANCHOR_END: group

    /// Runs `op` through the service's log; a group refuses it without proposing it.
    pub async fn service(&self, op: ServiceOp) -> Result<ServiceReply, Failure> {
        if let Role::Group(_) = *self.role {
            return Err(Failure::WrongKind(
                "this replica is a group's: ask the configuration service's replicas for \
                 configurations"
                    .into(),
            ));
        }
        let command = Command::Service { op };
        fits(&command)?;
        match self.node.execute(command).await? {
            Applied::Service(reply) => Ok(reply),
            other => Err(ApiError::Internal(format!("the service's log applied {other:?}")).into()),
        }
    }

    /// Runs a client's command at this group: its answer, or `wrong_group`.
    // ANCHOR: serve
    pub async fn serve(&self, command: KvCommand) -> Result<Answer, Failure> {
        // EXERCISE 7.7: a client's command through the log; a shard served elsewhere is wrong_group
        // HINT: A read too goes through the log: answered from this replica's state instead, it could come from a shard frozen (or moved away) by an entry this replica has not applied yet.
        // HINT: Wrap the command as `GroupOp::Client` and send it down `self.group`. The machine's `Answer` is the route's answer; its `WrongGroup { shard }` becomes `Failure::WrongGroup { shard }`, which the routes answer `421 wrong_group`.
        // HINT: Any other reply to a client's command (a step's `Staged`, say) is a bug, not the client's fault: `ApiError::Internal`, with the reply in its message.
        match self.group(GroupOp::Client(command)).await? {
            GroupReply::Answer(answer) => Ok(answer),
            GroupReply::WrongGroup { shard } => Err(Failure::WrongGroup { shard }),
            other => {
                Err(ApiError::Internal(format!("a client's command produced {other:?}")).into())
            }
        }
        // END EXERCISE 7.7
    }
    // ANCHOR_END: serve
}

/// Refuses a command too big to be one entry of the log ([`MAX_ENTRY_BYTES`]).
pub fn fits(command: &Command) -> Result<(), Failure> {
    let bytes = serde_json::to_vec(command).map_or(usize::MAX, |b| b.len());
    if bytes > MAX_ENTRY_BYTES {
        return Err(Failure::Api(ApiError::TooLarge(format!(
            "this command is {bytes} bytes as a log entry; an entry may be at most \
             {MAX_ENTRY_BYTES} bytes (a big shard moves in pieces: send it staged)"
        ))));
    }
    Ok(())
}
