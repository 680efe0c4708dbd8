//! The MapReduce job's page (`chapter8 demo`), driven as a user would: three coordinator
//! replicas with one leader and four workers are drawn; crash the leader with its button
//! and another replica takes over; kill a worker; the job still finishes, its output
//! equal to a run on one thread, its attempts drawn on the timeline; a new job starts
//! with its button.

use std::path::Path;
use std::time::Instant;

use anyhow::bail;
use fantoccini::Client;
use serde::Deserialize;

use super::{PATIENCE, click};

/// The page as these checks read it.
#[derive(Debug, Deserialize)]
struct Page {
    replicas: Vec<String>,
    workers: Vec<String>,
    job: u64,
    done: String,
    output: String,
    /// Attempts drawn, and how many of them committed.
    attempts: usize,
    committed: usize,
}

const READ_PAGE: &str = r#"
const job = document.getElementById('job');
return {
  replicas: [...document.querySelectorAll('.replica-card')].map((c) => c.dataset.role || ''),
  workers: [...document.querySelectorAll('.worker-card')].map((c) => c.dataset.state || ''),
  job: Number(job.dataset.number || 0),
  done: job.dataset.done || '',
  output: job.dataset.output || '',
  attempts: document.querySelectorAll('.attempt').length,
  committed: document.querySelectorAll('.attempt[data-outcome="committed"]').length,
};"#;

impl Page {
    fn leaders(&self) -> Vec<usize> {
        self.replicas
            .iter()
            .enumerate()
            .filter(|(_, r)| *r == "leader")
            .map(|(i, _)| i)
            .collect()
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
    let first = until(client, "three replicas, one leader, four workers", |p| {
        let l = p.leaders();
        (p.replicas.len() == 3 && l.len() == 1 && p.workers.len() == 4 && p.job == 1).then(|| l[0])
    })
    .await?;
    println!(
        "the page shows the coordinator's three replicas and four workers; replica {first} leads"
    );
    until(client, "the first attempts drawn on the timeline", |p| {
        (p.attempts >= 2).then_some(())
    })
    .await?;
    click(client, "crash-leader").await?;
    let second = until(
        client,
        "the crashed leader drawn as down, another leading",
        |p| {
            let l = p.leaders();
            (p.replicas[first] == "down" && l.len() == 1 && l[0] != first).then(|| l[0])
        },
    )
    .await?;
    println!("crashed replica {first}, the leader; replica {second} took over");
    click(client, "worker-crash-1").await?;
    until(client, "worker 1 drawn as crashed", |p| {
        (p.workers.get(1).map(String::as_str) == Some("crashed")).then_some(())
    })
    .await?;
    println!("killed worker 1");
    let done = until(client, "the job done, its output checked", |p| {
        (p.done == "true" && !p.output.is_empty())
            .then(|| (p.output.clone(), p.attempts, p.committed))
    })
    .await?;
    let (output, attempts, committed) = done;
    if output != "equal" {
        bail!("the job finished with an output {output} from a run on one thread");
    }
    let png = client.screenshot().await?;
    std::fs::create_dir_all(shot.parent().unwrap_or(shot))?;
    std::fs::write(shot, png)?;
    click(client, "new-job").await?;
    until(client, "a second job with a leader of its own", |p| {
        (p.job == 2 && p.leaders().len() == 1).then_some(())
    })
    .await?;
    Ok(format!(
        "the MapReduce page passed: a leader crashed and a worker killed, the job finished \
         with {attempts} attempts drawn ({committed} committed), its output equal to a run \
         on one thread; a second job started; screenshot {}",
        shot.display()
    ))
}
