//! A shard step is carried out only for a configuration the service made, and only if
//! that configuration moves the shard the way the step says.
//!
//! Configuration numbers fence every step (exercise 7.4): a step whose number is at or
//! below the shard's is stale and changes nothing. But a number alone proves nothing
//! about the future: a request that carries the cluster's key and a mistaken number (a
//! `Freeze` for configuration `u64::MAX`, an `Install` for one the service has not made)
//! would freeze a shard for good, since no configuration will ever move it on, or make a
//! second group serve it. So before it proposes a step for configuration `num`, a
//! group's replica asks the service for configurations `num - 1` and `num` and checks
//! [`step_fits`]. Configurations never change once made (a pending one neither: only
//! finishing it makes it the latest), so what a replica learnt it keeps.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use crate::call::{Answered, to_leader};
use crate::config::{Configuration, GroupId, NO_GROUP};
use crate::error::ApiError;
use crate::group::GroupOp;
use crate::responses::{ConfigAnswer, Failure};

/// How many configurations a replica remembers (the most recent ones).
const REMEMBERED: usize = 64;

/// Whether `op`, a step of configuration `made.num` at group `me`, is one that
/// configuration calls for, given the configuration `before` it: a freeze or a delete
/// of a shard `me` held and no longer holds, an install or a piece of a shard `me` now
/// holds and did not.
pub fn step_fits(
    me: GroupId,
    op: &GroupOp,
    before: &Configuration,
    made: &Configuration,
) -> Result<(), String> {
    let (shard, leaving) = match op {
        GroupOp::Client(_) => return Ok(()),
        GroupOp::Freeze { shard, .. } | GroupOp::Delete { shard, .. } => (*shard, true),
        GroupOp::Install { shard, .. } | GroupOp::Stage { shard, .. } => (*shard, false),
    };
    if shard >= made.shards.len() {
        return Err(format!(
            "there is no shard {shard} (configuration {} has {})",
            made.num,
            made.shards.len()
        ));
    }
    let (was, is) = (before.owner(shard), made.owner(shard));
    let fits = if leaving {
        was == me && is != me
    } else {
        is == me && was != me
    };
    if fits {
        return Ok(());
    }
    let owner = |g: GroupId| match g {
        NO_GROUP => "no group".to_string(),
        g => format!("group {g}"),
    };
    Err(format!(
        "configuration {} moves shard {shard} from {} to {}: it calls for no {} at group {me}",
        made.num,
        owner(was),
        owner(is),
        if leaving {
            "freeze or delete"
        } else {
            "install"
        }
    ))
}

/// A group replica's link to the configuration service, and the configurations it has
/// learnt from it.
#[derive(Debug)]
pub struct Confirmer {
    me: GroupId,
    service: Vec<String>,
    http: reqwest::Client,
    hint: AtomicUsize,
    known: Mutex<BTreeMap<u64, Configuration>>,
}

impl Confirmer {
    /// Group `me`'s, asking the service's replicas at `service`.
    pub fn new(me: GroupId, service: Vec<String>) -> anyhow::Result<Confirmer> {
        Ok(Confirmer {
            me,
            service,
            http: plumbing::http::client(Duration::from_secs(2))?,
            hint: AtomicUsize::new(0),
            known: Mutex::new(BTreeMap::new()),
        })
    }

    /// Refuses `op` unless the service made its configuration and that configuration
    /// calls for it here (`400`; `503` if the service cannot be asked now).
    pub async fn confirm(&self, op: &GroupOp) -> Result<(), Failure> {
        let num = match op {
            GroupOp::Client(_) => return Ok(()),
            GroupOp::Freeze { num, .. }
            | GroupOp::Install { num, .. }
            | GroupOp::Delete { num, .. }
            | GroupOp::Stage { num, .. } => *num,
        };
        let refused = |why: String| {
            Failure::Api(ApiError::InvalidBody(format!(
                "refused: {why}; nothing was proposed"
            )))
        };
        let Some(before_num) = num.checked_sub(1) else {
            return Err(refused("configuration 0 moves no shard".into()));
        };
        let before = self.config(before_num).await?;
        let made = match before.as_ref().and(self.remembered(num)) {
            Some(made) => Some(made),
            None => self.config(num).await?,
        };
        match (before, made) {
            (Some(before), Some(made)) => step_fits(self.me, op, &before, &made).map_err(refused),
            _ => Err(refused(format!(
                "the configuration service never made configuration {num}"
            ))),
        }
    }

    fn remembered(&self, num: u64) -> Option<Configuration> {
        self.known.lock().ok()?.get(&num).cloned()
    }

    fn remember(&self, config: &Configuration) {
        if let Ok(mut known) = self.known.lock() {
            known.insert(config.num, config.clone());
            while known.len() > REMEMBERED {
                known.pop_first();
            }
        }
    }

    /// Configuration `num` (latest or pending), if the service made it.
    async fn config(&self, num: u64) -> Result<Option<Configuration>, Failure> {
        if let Some(config) = self.remembered(num) {
            return Ok(Some(config));
        }
        let answered = to_leader::<ConfigAnswer, _>(&self.service, &self.hint, |url| {
            self.http.get(format!("{url}/config/{num}"))
        })
        .await;
        let (config, pending) = match answered {
            Answered::Ok(ConfigAnswer { config, pending }) => (Some(config), pending),
            // No such configuration yet: it may be the pending one.
            Answered::Error(404, _) => {
                match to_leader::<ConfigAnswer, _>(&self.service, &self.hint, |url| {
                    self.http.get(format!("{url}/config"))
                })
                .await
                {
                    Answered::Ok(ConfigAnswer { pending, .. }) => (None, pending),
                    other => return Err(unreachable_service(num, other)),
                }
            }
            other => return Err(unreachable_service(num, other)),
        };
        for config in config.iter().chain(pending.iter()) {
            self.remember(config);
        }
        Ok(self.remembered(num))
    }
}

/// The service could not be asked about configuration `num`: try again later.
fn unreachable_service(num: u64, answered: Answered<ConfigAnswer>) -> Failure {
    let why = match answered {
        Answered::Ok(_) => "an unexpected answer".to_string(),
        Answered::Error(status, body) => format!("{status}: {}", body.message),
        Answered::NoLeader(last) => last,
    };
    Failure::Api(ApiError::Unavailable(format!(
        "this group cannot confirm configuration {num} with the configuration service now \
         ({why}); nothing was proposed: try again"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::ShardData;

    fn config(num: u64, shards: &[GroupId]) -> Configuration {
        Configuration {
            num,
            shards: shards.to_vec(),
            groups: BTreeMap::new(),
        }
    }

    #[test]
    fn a_step_fits_only_the_move_its_configuration_makes() {
        // Configuration 5 moves shard 0 from group 1 to group 2; shard 1 stays with 1.
        let (before, made) = (config(4, &[1, 1]), config(5, &[2, 1]));
        let freeze = |shard| GroupOp::Freeze { shard, num: 5 };
        let install = |shard| GroupOp::Install {
            shard,
            num: 5,
            data: ShardData::default(),
        };
        let delete = |shard| GroupOp::Delete { shard, num: 5 };
        assert_eq!(
            step_fits(1, &freeze(0), &before, &made),
            Ok(()),
            "the old owner freezes"
        );
        assert_eq!(
            step_fits(2, &install(0), &before, &made),
            Ok(()),
            "the new owner installs"
        );
        assert_eq!(
            step_fits(1, &delete(0), &before, &made),
            Ok(()),
            "the old owner deletes"
        );
        for (me, op, why) in [
            (
                1,
                freeze(1),
                "group 1 keeps shard 1: freezing it would stop it for good",
            ),
            (2, freeze(0), "group 2 never held shard 0"),
            (1, install(0), "group 1 is losing shard 0, not gaining it"),
            (
                3,
                install(0),
                "configuration 5 gives shard 0 to group 2, not 3",
            ),
            (2, delete(0), "group 2 is gaining shard 0"),
            (1, freeze(9), "there is no shard 9"),
        ] {
            assert!(
                step_fits(me, &op, &before, &made).is_err(),
                "{why}: {op:?} at group {me} must be refused"
            );
        }
    }
}
