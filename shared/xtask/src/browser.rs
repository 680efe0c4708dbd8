//! `cargo xtask browser [--update-book]`: the live cluster's page, driven in a real
//! headless Chromium (Debian's `chromium` and `chromium-driver`) through WebDriver.
//!
//! It runs what a new user runs, `chapter5 demo` (the reference build), opens the page,
//! and checks what a user relies on: five nodes and exactly one leader; crash the leader
//! with its button and a different leader appears, with no acknowledged write lost; cut
//! the new leader off and it steps down; heal, restart, and the running verdict is still
//! linearizable over windows checked after the faults. Then it takes the screenshot the
//! book shows (`--update-book` copies it into `book/src/figures/`).
//!
//! Then `chapter7 demo`, the sharded store's page: four logs of three nodes, each with a
//! leader, and the shards' owners; a group joins with its button and shards move to it;
//! a group's leader crashes and another replica of that group takes over; a group leaves
//! and its replicas end up holding no key; nothing lost, linearizable (`sharded.rs`).
//!
//! Then `chapter8 demo`, a MapReduce job's page: three coordinator replicas with one
//! leader and four workers; crash the leader and kill a worker with their buttons, and
//! the job still finishes with the right output, its attempts on the timeline; a new job
//! starts (`mapreduce.rs`).
//!
//! Then `chapter9 demo`, the partitioned log's page: two groups of three replicas; crash
//! a consumer and its partitions go to the others in a new generation; crash a group's
//! leader and another replica leads while producing and consuming go on; the consumer
//! comes back as a new member (`messaging.rs`).

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use serde::Deserialize;

use crate::workspace::Workspace;

mod mapreduce;
mod messaging;
mod sharded;

/// How long any one step may take before the check fails.
pub(super) const PATIENCE: Duration = Duration::from_secs(40);

/// The page as the checks read it (see `app.js`: each card's `data-role`, the numbers'
/// `data-*` attributes).
#[derive(Debug, Deserialize)]
struct Seen {
    roles: Vec<String>,
    lost: String,
    verdict: String,
    windows: u64,
    latency: String,
}

const READ_PAGE: &str = r#"
const cards = [...document.querySelectorAll('.node-card')];
const el = (id) => document.getElementById(id);
return {
  roles: cards.map((c) => c.dataset.role),
  lost: el('lost').dataset.lost || '',
  verdict: el('verdict').dataset.verdict || '',
  windows: Number(el('checked').dataset.windows || 0),
  latency: el('latency').dataset.ms || '',
};"#;

/// A child process killed when this goes out of scope.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run(ws: &Workspace, update_book: bool) -> anyhow::Result<()> {
    let Some(chromium) = on_path("chromium") else {
        bail!("no chromium on this machine: apt install chromium chromium-driver");
    };
    if on_path("chromedriver").is_none() {
        bail!("no chromedriver on this machine: apt install chromium-driver");
    }
    for chapter in ["chapter5", "chapter7", "chapter8", "chapter9"] {
        crate::workspace::run(ws.cargo().args([
            "build",
            "-p",
            chapter,
            "--features",
            "solution",
            "--bin",
            chapter,
        ]))?;
    }
    let driver_port = free_port()?;
    let driver = Killed(
        Command::new("chromedriver")
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting chromedriver")?,
    );
    // Wait until chromedriver holds its port before any demo starts: a demo's node
    // given the same port first would answer the browser session instead.
    let listening = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", driver_port)).is_err() {
        if listening.elapsed() > PATIENCE {
            bail!("chromedriver did not listen on port {driver_port} within {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let shots = ws.root.join("target/xtask/browser");

    let (demo, url) = start_demo(ws, "chapter5", &["--timing", "fast", "--seed", "3"])?;
    let shot = shots.join("live-cluster.png");
    let outcome = runtime.block_on(async {
        let client = session(&chromium, driver_port).await?;
        finish(&client, steps(&client, &url, &shot).await, &shot).await
    });
    drop(demo);
    println!("{}", outcome?);

    let (demo, url) = start_demo(ws, "chapter7", &["--no-script", "--seed", "3"])?;
    let shot7 = shots.join("live-cluster-chapter7.png");
    let outcome = runtime.block_on(async {
        let client = session(&chromium, driver_port).await?;
        finish(&client, sharded::steps(&client, &url, &shot7).await, &shot7).await
    });
    drop(demo);
    println!("{}", outcome?);

    let (demo, url) = start_demo(ws, "chapter8", &["--task-ms", "300", "--seed", "3"])?;
    let shot8 = shots.join("live-cluster-chapter8.png");
    let outcome = runtime.block_on(async {
        let client = session(&chromium, driver_port).await?;
        finish(
            &client,
            mapreduce::steps(&client, &url, &shot8).await,
            &shot8,
        )
        .await
    });
    drop(demo);
    println!("{}", outcome?);

    let (demo, url) = start_demo(ws, "chapter9", &["--seed", "3"])?;
    let shot9 = shots.join("live-cluster-chapter9.png");
    let outcome = runtime.block_on(async {
        let client = session(&chromium, driver_port).await?;
        finish(
            &client,
            messaging::steps(&client, &url, &shot9).await,
            &shot9,
        )
        .await
    });
    drop((demo, driver));
    println!("{}", outcome?);

    if update_book {
        for name in [
            "live-cluster.png",
            "live-cluster-chapter7.png",
            "live-cluster-chapter8.png",
            "live-cluster-chapter9.png",
        ] {
            let figure = ws.root.join("book/src/figures").join(name);
            std::fs::copy(shots.join(name), &figure)?;
            println!("copied the screenshot to {}", figure.display());
        }
    }
    Ok(())
}

/// Starts `<chapter> demo` (the reference build) on a free port with `args`, and reads
/// the page's URL from its output.
fn start_demo(ws: &Workspace, chapter: &str, args: &[&str]) -> anyhow::Result<(Killed, String)> {
    let binary = ws.root.join("target/debug").join(chapter);
    let mut child = Command::new(&binary)
        .args(["demo", "--addr", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let stdout = child.stdout.take().context("the demo's output")?;
    let demo = Killed(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("live cluster: ") {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    let url = rx
        .recv_timeout(PATIENCE)
        .context("the demo did not print `live cluster: <url>`")?;
    Ok((demo, url))
}

/// Where `name` is on `PATH`, if it is.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A headless Chromium session through the chromedriver on `driver_port`.
async fn session(chromium: &Path, driver_port: u16) -> anyhow::Result<Client> {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1100"]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let webdriver = format!("http://127.0.0.1:{driver_port}");
    let started = Instant::now();
    loop {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&webdriver)
            .await
        {
            Ok(client) => return Ok(client),
            // chromedriver may still be starting.
            Err(_) if started.elapsed() < PATIENCE => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => bail!("could not start a browser session: {e}"),
        }
    }
}

/// Closes the session; on a failure, first saves what the page looked like.
async fn finish(
    client: &Client,
    result: anyhow::Result<String>,
    shot: &Path,
) -> anyhow::Result<String> {
    if result.is_err()
        && let Ok(png) = client.screenshot().await
    {
        let failed = shot.with_extension("failed.png");
        let _ = std::fs::create_dir_all(shot.parent().unwrap_or(shot));
        let _ = std::fs::write(&failed, png);
        eprintln!("the page at the failure: {}", failed.display());
    }
    let _ = client.clone().close().await;
    result
}

async fn seen(client: &Client) -> anyhow::Result<Seen> {
    let value = client.execute(READ_PAGE, Vec::new()).await?;
    Ok(serde_json::from_value(value)?)
}

/// Polls the page until `ok` picks something out of it; fails naming `what` and the
/// page's last state.
async fn until<T>(
    client: &Client,
    what: &str,
    ok: impl Fn(&Seen) -> Option<T>,
) -> anyhow::Result<T> {
    let started = Instant::now();
    loop {
        let page = seen(client).await?;
        if let Some(found) = ok(&page) {
            return Ok(found);
        }
        if started.elapsed() > PATIENCE {
            bail!("waited {PATIENCE:?} for {what}; the page shows {page:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Saves the run as the "Save a recording" link would, opens it as "Open a recording"
/// would (the page's own `openRecording`), and moves the slider to the first frame: the
/// page must switch to replay and draw that frame, with no leader yet.
async fn replay(client: &Client) -> anyhow::Result<u64> {
    let script = r#"
const done = arguments[arguments.length - 1];
fetch('/api/recording').then((r) => r.text()).then(async (text) => {
  await openRecording(new File([text], 'recording.json', { type: 'application/json' }));
  const slider = document.getElementById('slider');
  slider.value = 0;
  slider.dispatchEvent(new Event('input'));
  done({
    mode: document.getElementById('mode').dataset.mode,
    frames: Number(slider.max) + 1,
    leaders: document.querySelectorAll('.node-card[data-role="leader"]').length,
  });
}).catch((e) => done({ error: String(e) }));"#;
    let answer = client.execute_async(script, Vec::new()).await?;
    let frames = answer["frames"].as_u64().unwrap_or(0);
    if answer["mode"] != "replay" || frames < 10 || answer["leaders"] != 0 {
        bail!("the recording did not replay as expected: {answer}");
    }
    Ok(frames)
}

fn leaders(page: &Seen) -> Vec<usize> {
    page.roles
        .iter()
        .enumerate()
        .filter(|(_, r)| *r == "leader")
        .map(|(i, _)| i)
        .collect()
}

pub(super) async fn click(client: &Client, id: &str) -> anyhow::Result<()> {
    client
        .find(Locator::Id(id))
        .await
        .with_context(|| format!("no #{id} on the page"))?
        .click()
        .await
        .with_context(|| format!("clicking #{id}"))?;
    Ok(())
}

async fn steps(client: &Client, url: &str, shot: &Path) -> anyhow::Result<String> {
    client.goto(url).await?;
    let first = until(client, "five nodes and exactly one leader", |p| {
        let l = leaders(p);
        (p.roles.len() == 5 && l.len() == 1).then(|| l[0])
    })
    .await?;
    println!("the page shows five nodes; node {first} leads");
    until(client, "a first window checked before any fault", |p| {
        (p.windows >= 1 && p.verdict == "linearizable").then_some(())
    })
    .await?;

    click(client, &format!("crash-{first}")).await?;
    let clicked = Instant::now();
    until(client, "the crashed leader drawn as crashed", |p| {
        (p.roles[first] == "crashed").then_some(())
    })
    .await?;
    let drawn = clicked.elapsed();
    let second = until(client, "a different leader, nothing lost", |p| {
        let l = leaders(p);
        (l.len() == 1 && l[0] != first && p.lost == "0").then(|| l[0])
    })
    .await?;
    println!("crashed node {first}; node {second} took over; lost writes: 0");
    // The book's picture: a crashed node, a new leader, a new term.
    let png = client.screenshot().await?;
    std::fs::create_dir_all(shot.parent().unwrap_or(shot))?;
    std::fs::write(shot, png)?;

    click(client, "isolate-leader").await?;
    until(client, "the isolated leader stepping down", |p| {
        (p.roles[second] != "leader").then_some(())
    })
    .await?;
    println!("cut node {second} off: it stepped down");

    click(client, "heal-all").await?;
    click(client, &format!("restart-{first}")).await?;
    let healed = seen(client).await?.windows;
    let page = until(
        client,
        "windows checked after healing, linearizable, nothing lost",
        |p| {
            let l = leaders(p);
            (p.windows >= healed + 2 && l.len() == 1 && !p.roles.contains(&"crashed".to_string()))
                .then_some(())
                .map(|()| p.verdict.clone())
        },
    )
    .await?;
    let last = seen(client).await?;
    if page != "linearizable" || last.lost != "0" {
        bail!(
            "after healing the verdict is {page:?} with {} lost writes",
            last.lost
        );
    }
    println!(
        "healed: the verdict is linearizable over {} windows, 0 lost",
        last.windows
    );

    let frames = replay(client).await?;
    println!("replayed the run so far in the page: {frames} frames, slider at the start");
    Ok(format!(
        "the page passed; crash → drawn as crashed in {} ms (click, crash, next frame, \
         paint); last frame → pixels {} ms; screenshot {}",
        drawn.as_millis(),
        last.latency,
        shot.display()
    ))
}
