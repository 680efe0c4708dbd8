//! The partitioned log's page (`chapter9 demo`), driven as a user would: two groups of
//! three replicas, each with a leader, four partitions each read by a live member of the
//! consumer group; crash a member with its button, and once its session runs out its
//! partitions go to the others in a new generation and their committed offsets move on;
//! crash a group's leader, and another replica of that group leads while the log and the
//! consumers go on; the crashed member comes back as a new member and gets partitions.

use std::path::Path;
use std::time::Instant;

use anyhow::bail;
use fantoccini::Client;
use serde::Deserialize;

use super::{PATIENCE, click};

/// The page as these checks read it.
#[derive(Debug, Deserialize)]
struct Page {
    /// Each group's replicas' roles.
    groups: Vec<Vec<String>>,
    /// Each partition: its reader, its committed offset.
    owners: Vec<String>,
    committed: Vec<u64>,
    /// Each member: up, its name, its generation ("" before it joined).
    up: Vec<bool>,
    names: Vec<String>,
    generations: Vec<String>,
    produced: u64,
}

const READ_PAGE: &str = r#"
const rows = [...document.querySelectorAll('.partition-row')];
const members = [...document.querySelectorAll('.member-card')];
const groups = [...document.querySelectorAll('.group')].map((g) =>
  [...g.querySelectorAll('.replica-card')].map((c) => c.dataset.role || ''));
return {
  groups,
  owners: rows.map((r) => r.dataset.owner || ''),
  committed: rows.map((r) => Number(r.dataset.committed || 0)),
  up: members.map((m) => m.dataset.up === 'true'),
  names: members.map((m) => m.dataset.name || ''),
  generations: members.map((m) => m.dataset.generation || ''),
  produced: Number(document.getElementById('produced').dataset.count || 0),
};"#;

impl Page {
    fn leader(&self, g: usize) -> Option<usize> {
        let roles = self.groups.get(g)?;
        let leaders: Vec<usize> = (0..roles.len()).filter(|&i| roles[i] == "leader").collect();
        (leaders.len() == 1).then(|| leaders[0])
    }

    /// Every partition read by a member that is up.
    fn all_read_by_live_members(&self) -> bool {
        let live: Vec<&String> = self
            .names
            .iter()
            .zip(&self.up)
            .filter(|(_, up)| **up)
            .map(|(n, _)| n)
            .collect();
        !self.owners.is_empty() && self.owners.iter().all(|o| live.contains(&o))
    }

    fn committed(&self) -> u64 {
        self.committed.iter().sum()
    }
}

async fn page(client: &Client) -> anyhow::Result<Page> {
    Ok(serde_json::from_value(
        client.execute(READ_PAGE, Vec::new()).await?,
    )?)
}

async fn until<T>(
    client: &Client,
    what: &str,
    ok: impl Fn(&Page) -> Option<T>,
) -> anyhow::Result<T> {
    let started = Instant::now();
    loop {
        let seen = page(client).await?;
        if let Some(found) = ok(&seen) {
            return Ok(found);
        }
        if started.elapsed() > PATIENCE {
            bail!("waited {PATIENCE:?} for {what}; the page shows {seen:?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

pub(super) async fn steps(client: &Client, url: &str, shot: &Path) -> anyhow::Result<String> {
    client.goto(url).await?;
    until(
        client,
        "two groups of three replicas with a leader each, every partition read by a member, \
         messages produced",
        |p| {
            (p.groups.len() == 2
                && p.groups.iter().all(|g| g.len() == 3)
                && p.leader(0).is_some()
                && p.leader(1).is_some()
                && p.up.len() == 3
                && p.all_read_by_live_members()
                && p.produced > 5)
                .then_some(())
        },
    )
    .await?;
    println!("the page shows two groups with a leader each; every partition has a reader");
    let before = page(client).await?;
    let crashed = before.names[0].clone();
    let theirs: Vec<usize> = (0..before.owners.len())
        .filter(|&i| before.owners[i] == crashed)
        .collect();
    click(client, "member-crash-0").await?;
    let generation = until(
        client,
        "the crashed member's partitions read by the others, in a new generation",
        |p| {
            let newest = p
                .generations
                .iter()
                .filter_map(|g| g.parse::<u64>().ok())
                .max()?;
            (!p.up[0] && p.all_read_by_live_members()).then_some(newest)
        },
    )
    .await?;
    let committed = page(client).await?.committed();
    until(client, "the group's committed offsets moving on", |p| {
        (p.committed() > committed).then_some(())
    })
    .await?;
    println!(
        "crashed {crashed} (it read partitions {theirs:?}); the others took them over in \
         generation {generation} and committed on"
    );
    let leader = before.leader(0).unwrap_or(0);
    click(client, "crash-leader-0").await?;
    let next = until(
        client,
        "group 0's crashed leader drawn down, another replica leading",
        |p| {
            let l = p.leader(0)?;
            (p.groups[0][leader] == "down" && l != leader).then_some(l)
        },
    )
    .await?;
    let produced = page(client).await?.produced;
    until(
        client,
        "messages produced after the failover, and read and committed",
        |p| (p.produced > produced + 3 && p.committed() > produced).then_some(()),
    )
    .await?;
    println!(
        "crashed replica {leader} of group 0, its leader; replica {next} leads; the log and the consumers went on"
    );
    let png = client.screenshot().await?;
    std::fs::create_dir_all(shot.parent().unwrap_or(shot))?;
    std::fs::write(shot, png)?;
    click(client, "member-restart-0").await?;
    until(
        client,
        "the crashed member back as a new member, with partitions",
        |p| (p.up[0] && p.names[0] != crashed && p.owners.contains(&p.names[0])).then_some(()),
    )
    .await?;
    Ok(format!(
        "the partitioned log's page passed: a member crashed and its partitions were taken \
         over in generation {generation}; a group's leader crashed and replica {next} took \
         over; the member came back and reads again; screenshot {}",
        shot.display()
    ))
}
