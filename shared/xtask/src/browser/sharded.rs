//! The sharded store's page (`chapter7 demo --no-script`), driven as a user would: the
//! groups and shards are drawn, a group joins with its button and shards move to it, a
//! group's leader crashes and another of its replicas takes over, a group leaves and its
//! replicas drop every key; the workload's verdict stays linearizable with nothing lost.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, bail};
use fantoccini::Client;
use serde::Deserialize;

use super::{PATIENCE, click};

/// The page as these checks read it.
#[derive(Debug, Deserialize)]
struct Page {
    /// Per node card: its group, role and keys.
    cards: Vec<Card>,
    /// Per shard: its owner, and where it is going.
    owners: Vec<u64>,
    next: Vec<u64>,
    verdict: String,
    lost: String,
    windows: u64,
    actions: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Card {
    group: String,
    role: String,
    keys: String,
}

const READ_PAGE: &str = r#"
const el = (id) => document.getElementById(id);
return {
  cards: [...document.querySelectorAll('.node-card')].map((c) => ({
    group: c.dataset.group || '', role: c.dataset.role || '', keys: c.dataset.keys || '' })),
  owners: [...document.querySelectorAll('.shard')].map((s) => Number(s.dataset.owner)),
  next: [...document.querySelectorAll('.shard')].map((s) => Number(s.dataset.next)),
  verdict: el('verdict').dataset.verdict || '',
  lost: el('lost').dataset.lost || '',
  windows: Number(el('checked').dataset.windows || 0),
  actions: [...document.querySelectorAll('button.action')].map((b) => b.textContent),
};"#;

impl Page {
    /// The groups' leaders: (group, node) for each card that leads.
    fn leaders(&self) -> Vec<(String, usize)> {
        self.cards
            .iter()
            .enumerate()
            .filter(|(_, c)| c.role == "leader")
            .map(|(i, c)| (c.group.clone(), i))
            .collect()
    }

    fn leader_of(&self, group: &str) -> Option<usize> {
        self.leaders()
            .into_iter()
            .find(|(g, _)| g == group)
            .map(|(_, i)| i)
    }

    /// The keys each running replica of `group` reports.
    fn keys_of(&self, group: &str) -> Vec<&str> {
        self.cards
            .iter()
            .filter(|c| c.group == group && c.role != "crashed")
            .map(|c| c.keys.as_str())
            .collect()
    }
}

async fn read(client: &Client) -> anyhow::Result<Page> {
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
        let page = read(client).await?;
        if let Some(found) = ok(&page) {
            return Ok(found);
        }
        if started.elapsed() > PATIENCE {
            bail!("waited {PATIENCE:?} for {what}; the page shows {page:?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The button labelled `name`'s id.
fn action(page: &Page, name: &str) -> anyhow::Result<String> {
    let i = page
        .actions
        .iter()
        .position(|a| a == name)
        .with_context(|| format!("no button {name:?} on the page: {:?}", page.actions))?;
    Ok(format!("action-{i}"))
}

pub(super) async fn steps(client: &Client, url: &str, shot: &Path) -> anyhow::Result<String> {
    client.goto(url).await?;
    until(
        client,
        "twelve nodes, a leader in each of four logs, shards on groups 1 and 2",
        |p| {
            let leaders = p.leaders();
            let groups: std::collections::BTreeSet<&str> =
                leaders.iter().map(|(g, _)| g.as_str()).collect();
            (p.cards.len() == 12
                && groups.len() == 4
                && p.owners.len() == 12
                && p.owners.iter().all(|&o| o == 1 || o == 2))
            .then_some(())
        },
    )
    .await?;
    println!("the sharded page shows 12 nodes, 4 leaders, 12 shards on groups 1 and 2");

    let page = read(client).await?;
    click(client, &action(&page, "group 3 joins")?).await?;
    until(
        client,
        "shards moved to group 3, the change finished",
        |p| (p.owners.contains(&3) && p.owners == p.next).then_some(()),
    )
    .await?;
    println!("group 3 joined: shards moved to it");

    let page = read(client).await?;
    let leader = page
        .leader_of("group 1")
        .context("group 1 has no leader on the page")?;
    click(client, &format!("crash-{leader}")).await?;
    let next = until(client, "another leader in group 1", |p| {
        p.leader_of("group 1").filter(|&l| l != leader)
    })
    .await?;
    println!("crashed group 1's leader, node {leader}; node {next} took over");
    client.execute("window.scrollTo(0, 0)", Vec::new()).await?;
    let png = client.screenshot().await?;
    std::fs::create_dir_all(shot.parent().unwrap_or(shot))?;
    std::fs::write(shot, png)?;

    let page = read(client).await?;
    click(client, &action(&page, "group 1 leaves")?).await?;
    until(
        client,
        "group 1's shards gone to the others, its replicas holding no key",
        |p| {
            (!p.owners.contains(&1)
                && p.owners == p.next
                && p.keys_of("group 1").iter().all(|k| *k == "0"))
            .then_some(())
        },
    )
    .await?;
    println!("group 1 left: its live replicas hold no key");

    click(client, &format!("restart-{leader}")).await?;
    let checked = read(client).await?.windows;
    let page = until(client, "two more windows checked, nothing lost", |p| {
        (p.windows >= checked + 2).then(|| (p.verdict.clone(), p.lost.clone()))
    })
    .await?;
    if page != ("linearizable".to_string(), "0".to_string()) {
        bail!(
            "after the changes the verdict is {:?} with {} lost writes",
            page.0,
            page.1
        );
    }
    Ok(format!(
        "the sharded page passed: joins, a leader's crash and a leave, linearizable, 0 lost; \
         screenshot {}",
        shot.display()
    ))
}
