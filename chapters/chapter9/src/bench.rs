//! The benchmark: throughput against producers and partitions, a message's time from
//! send to consumer, a rebalance's pause (a member crashed, a member that left), and
//! what exactly once costs against at least once. Everything runs here: two groups of
//! three replicas on loopback, and the clients as tasks of this process.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use harness::cluster::Cluster;
use harness::results::chapter9::{BenchResults, Consumed, Latency, Pause, Throughput};

use crate::client::ClusterClient;
use crate::clients::{self, Client, Member, Seen, Semantics};
use crate::command::Command;
use crate::log::{Appended, Batch, PartitionId, Retention, Sequence};
use crate::machine::Applied;
use crate::raft::Timing;
use crate::{Spec, Topic, group_of, partition_for, system};

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Messages per throughput run.
    pub messages: usize,
    /// Runs of each measurement (the figure shows the median).
    pub runs: usize,
}

/// The session timeout of the rebalance runs.
const SESSION_MS: u64 = 1_000;

pub async fn run(options: &BenchOptions) -> anyhow::Result<BenchResults> {
    let mut results = BenchResults {
        benchmark: "chapter 9: a replicated, partitioned log".into(),
        machine: harness::machine::Machine::detect(),
        date: harness::machine::today(),
        groups: clients::GROUPS,
        session_timeout_ms: SESSION_MS,
        by_producers: Vec::new(),
        by_partitions: Vec::new(),
        latency: latency(options.messages).await?,
        pauses: Vec::new(),
        consumed: Vec::new(),
    };
    for producers in [1, 2, 4, 8] {
        results
            .by_producers
            .push(throughput(producers, 4, options).await?);
    }
    for partitions in [1, 2, 4, 8] {
        results
            .by_partitions
            .push(throughput(4, partitions, options).await?);
    }
    for leave in [false, true] {
        let mut pause_ms = Vec::new();
        for _ in 0..options.runs {
            pause_ms.push(pause(leave).await?);
        }
        results.pauses.push(Pause {
            name: if leave {
                "a member left"
            } else {
                "a member crashed"
            }
            .into(),
            median_ms: median(&pause_ms),
            pause_ms,
        });
    }
    for semantics in [Semantics::AtLeastOnce, Semantics::ExactlyOnce] {
        let records = 200;
        let mut ms = Vec::new();
        for _ in 0..options.runs {
            ms.push(consume(semantics, records).await?);
        }
        results.consumed.push(Consumed {
            name: match semantics {
                Semantics::ExactlyOnce => "exactly once",
                _ => "at least once",
            }
            .into(),
            records,
            median_ms: median(&ms),
            ms,
        });
    }
    Ok(results)
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// A cluster of the workload's two groups, topic `in` of `partitions` partitions.
async fn cluster(partitions: u32) -> anyhow::Result<(Vec<Cluster>, Arc<ClusterClient>)> {
    let spec = if partitions == clients::PARTITIONS {
        clients::spec(SESSION_MS)
    } else {
        Spec {
            groups: clients::GROUPS,
            topics: vec![Topic {
                name: clients::INPUT.into(),
                partitions,
                retention: Retention::default(),
            }],
            session_timeout: SESSION_MS,
        }
    };
    let groups = system::start(&spec, Timing::FAST, 1)?;
    let http = harness::cluster::http_client(Duration::from_secs(2))?;
    let client = Arc::new(ClusterClient::new(http, system::servers(&groups)));
    Ok((groups, client))
}

async fn stop(mut groups: Vec<Cluster>) {
    for g in &mut groups {
        let _ = g.stop_all().await;
    }
}

/// One producer: `count` messages, one at a time, numbered per partition; each
/// message's value is the time it was sent (µs since `base`).
async fn produce(
    client: Arc<ClusterClient>,
    name: String,
    count: usize,
    partitions: u32,
    base: Instant,
) -> anyhow::Result<()> {
    let mut next: BTreeMap<u32, u64> = BTreeMap::new();
    for i in 0..count {
        let key = format!("{name}-{i}");
        let p = partition_for(&key, partitions);
        let first = *next.entry(p).or_insert(0);
        let value = base.elapsed().as_micros().to_string();
        let command = Command::Produce {
            partition: PartitionId::new(clients::INPUT, p),
            batch: Batch {
                sequence: Some(Sequence {
                    producer: name.clone(),
                    first,
                    end: first + 1,
                }),
                records: vec![(key, value)],
            },
            now: 0,
        };
        match client
            .call(group_of(p, clients::GROUPS) as usize, command)
            .await
            .map_err(anyhow::Error::msg)?
        {
            Applied::Appended(Appended::Appended { .. } | Appended::Duplicate { .. }) => {
                next.insert(p, first + 1);
            }
            other => anyhow::bail!("{name} was answered {other:?}"),
        }
    }
    Ok(())
}

/// Messages per second, `producers` at once over `partitions` partitions.
async fn throughput(
    producers: usize,
    partitions: u32,
    options: &BenchOptions,
) -> anyhow::Result<Throughput> {
    let mut per_second = Vec::new();
    for _ in 0..options.runs {
        let (groups, client) = cluster(partitions).await?;
        // A first message makes sure both groups have leaders before the clock starts.
        produce(
            client.clone(),
            "warm-up".into(),
            8,
            partitions,
            Instant::now(),
        )
        .await?;
        let started = Instant::now();
        let each = options.messages / producers;
        let tasks: Vec<_> = (0..producers)
            .map(|p| {
                let client = client.clone();
                tokio::spawn(produce(client, format!("p{p}"), each, partitions, started))
            })
            .collect();
        for t in tasks {
            t.await??;
        }
        per_second.push((each * producers) as f64 / started.elapsed().as_secs_f64());
        stop(groups).await;
    }
    Ok(Throughput {
        producers,
        partitions,
        messages: options.messages,
        median: median(&per_second),
        per_second,
    })
}

/// Two producers, one consumer reading every partition in turn: each message's time
/// from its send to the read that returned it.
async fn latency(messages: usize) -> anyhow::Result<Latency> {
    let (groups, client) = cluster(clients::PARTITIONS).await?;
    produce(
        client.clone(),
        "warm-up".into(),
        8,
        clients::PARTITIONS,
        Instant::now(),
    )
    .await?;
    let base = Instant::now();
    let tasks: Vec<_> = (0..2)
        .map(|p| {
            let client = client.clone();
            let count = messages / 2;
            tokio::spawn(produce(
                client,
                format!("p{p}"),
                count,
                clients::PARTITIONS,
                base,
            ))
        })
        .collect();
    let mut histogram = hdrhistogram::Histogram::<u64>::new(3)?;
    let mut from = [0u64; clients::PARTITIONS as usize];
    let mut seen = 0;
    while seen < (messages / 2) * 2 + 8 {
        for p in 0..clients::PARTITIONS {
            let command = Command::Read {
                partition: PartitionId::new(clients::INPUT, p),
                from: from[p as usize],
                max: 100,
            };
            let group = group_of(p, clients::GROUPS) as usize;
            let Applied::Read(read) = client
                .call(group, command)
                .await
                .map_err(anyhow::Error::msg)?
            else {
                anyhow::bail!("a read was not answered with records");
            };
            let now = base.elapsed().as_micros() as u64;
            for r in &read.records {
                seen += 1;
                if !r.key.starts_with("warm-up")
                    && let Ok(sent) = r.value.parse::<u64>()
                {
                    histogram.record(now.saturating_sub(sent).max(1))?;
                }
            }
            from[p as usize] = read.next;
        }
    }
    for t in tasks {
        t.await??;
    }
    stop(groups).await;
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    Ok(Latency {
        samples: histogram.len(),
        p50_ms: ms(0.5),
        p90_ms: ms(0.9),
        p99_ms: ms(0.99),
        max_ms: histogram.max() as f64 / 1000.0,
    })
}

/// When each record a member processed was processed: (partition, ms since the start).
type Times = Arc<Mutex<Vec<(u32, f64)>>>;

/// Drives one client's machine over HTTP until `stop`, noting when it processed each
/// record; a member that `leave`s says so to its group as it stops.
async fn drive(
    mut c: Client,
    client: Arc<ClusterClient>,
    stop: Arc<AtomicBool>,
    leave: bool,
    (base, times): (Instant, Times),
) -> Client {
    let mut seen = Seen::default();
    let mut processed = 0;
    while !stop.load(Ordering::Relaxed) {
        let now = base.elapsed().as_millis() as u64;
        let Some((group, command)) = c.next_call(now) else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let Ok(applied) = client.call(group, command.clone()).await else {
            continue;
        };
        c.on_answer(&command, applied, (now, now), &mut seen);
        let all: Vec<&(String, String)> = seen.processed.values().flatten().collect();
        let at = base.elapsed().as_secs_f64() * 1000.0;
        let mut times = times.lock().unwrap_or_else(PoisonError::into_inner);
        for (partition, _) in &all[processed..] {
            let index = partition.rsplit('/').next().and_then(|i| i.parse().ok());
            times.push((index.unwrap_or(0), at));
        }
        processed = all.len();
    }
    if leave && let Client::Member(m) = &c {
        let command = Command::Leave {
            group: m.semantics.group().into(),
            member: m.name(),
        };
        let group = crate::coordinator_of(m.semantics.group(), clients::GROUPS) as usize;
        let _ = client.call(group, command).await;
    }
    c
}

/// Two members read a steady stream; one goes (crashes, or leaves); how long until the
/// other processes a record of a partition that was the first one's (ms).
async fn pause(leave: bool) -> anyhow::Result<f64> {
    let (groups, client) = cluster(clients::PARTITIONS).await?;
    let base = Instant::now();
    let steady = "steady".to_string();
    let producing = tokio::spawn(produce(
        client.clone(),
        steady,
        1_000_000,
        clients::PARTITIONS,
        base,
    ));
    let mut members = Vec::new();
    for m in 0..2 {
        let (stop, times): (Arc<AtomicBool>, Times) = Default::default();
        let member = Member::new(Semantics::AtLeastOnce, &format!("bench-{m}"));
        let task = tokio::spawn(drive(
            Client::Member(member),
            client.clone(),
            stop.clone(),
            leave && m == 0,
            (base, times.clone()),
        ));
        members.push((task, stop, times));
    }
    // Both read until each has processed something, then member 0 goes.
    harness::eventually(Duration::from_secs(20), "both members reading", || {
        let counts: Vec<usize> = members
            .iter()
            .map(|(_, _, t)| t.lock().unwrap_or_else(PoisonError::into_inner).len())
            .collect();
        async move {
            if counts.iter().all(|&n| n > 20) {
                Ok(())
            } else {
                Err(format!("records processed by each: {counts:?}"))
            }
        }
    })
    .await?;
    let (task0, stop0, _) = members.remove(0);
    stop0.store(true, Ordering::Relaxed);
    let went_at = base.elapsed().as_secs_f64() * 1000.0;
    let Client::Member(gone) = task0.await? else {
        anyhow::bail!("member 0 is a member");
    };
    let theirs = gone
        .membership()
        .map(|m| m.partitions.clone())
        .unwrap_or_default();
    let (task1, stop1, times1) = members.remove(0);
    let limit = Duration::from_millis(SESSION_MS + 10_000);
    let resumed = harness::eventually(
        limit,
        "the other member to read the partitions of the one gone",
        || {
            let first = times1
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .find(|(p, t)| *t > went_at && theirs.contains(p))
                .map(|(_, t)| *t);
            async move { first.ok_or_else(|| "not yet".to_string()) }
        },
    )
    .await;
    stop1.store(true, Ordering::Relaxed);
    let _ = task1.await;
    producing.abort();
    stop(groups).await;
    Ok(resumed? - went_at)
}

/// One member of `semantics` consumes `records` records already in the log, to the
/// end of every partition (its commits, or its pipeline's output, say so); ms.
async fn consume(semantics: Semantics, records: usize) -> anyhow::Result<f64> {
    let (groups, client) = cluster(clients::PARTITIONS).await?;
    produce(
        client.clone(),
        "p".into(),
        records,
        clients::PARTITIONS,
        Instant::now(),
    )
    .await?;
    let mut ends = Vec::new();
    for p in 0..clients::PARTITIONS {
        let command = Command::Read {
            partition: PartitionId::new(clients::INPUT, p),
            from: u64::MAX,
            max: 1,
        };
        let group = group_of(p, clients::GROUPS) as usize;
        match client
            .call(group, command)
            .await
            .map_err(anyhow::Error::msg)?
        {
            Applied::Read(read) => ends.push(read.next),
            other => anyhow::bail!("a read answered {other:?}"),
        }
    }
    let started = Instant::now();
    let stop_flag = Arc::new(AtomicBool::new(false));
    let member = Member::new(semantics, "bench");
    let task = tokio::spawn(drive(
        Client::Member(member),
        client.clone(),
        stop_flag.clone(),
        false,
        (started, Times::default()),
    ));
    let group = semantics.group().to_string();
    let done = harness::eventually(
        Duration::from_secs(60),
        "the member at every partition's end",
        || {
            let (client, group, ends) = (client.clone(), group.clone(), ends.clone());
            async move {
                let at = client.position(semantics, &group).await?;
                if at == ends {
                    Ok(())
                } else {
                    Err(format!("at {at:?} of {ends:?}"))
                }
            }
        },
    )
    .await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    stop_flag.store(true, Ordering::Relaxed);
    let _ = task.await;
    stop(groups).await;
    done?;
    Ok(ms)
}

/// Prints the results as a table.
pub fn print(results: &BenchResults) {
    println!(
        "{} ({}, {})",
        results.benchmark, results.machine.cpu, results.date
    );
    for t in results.by_producers.iter().chain(&results.by_partitions) {
        println!(
            "  {} producers, {} partitions: {:.0} messages/s",
            t.producers, t.partitions, t.median
        );
    }
    let l = &results.latency;
    println!(
        "  send to read: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} messages)",
        l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.samples
    );
    for p in &results.pauses {
        println!(
            "  {}: its partitions unread for {:.0} ms",
            p.name, p.median_ms
        );
    }
    for c in &results.consumed {
        println!("  {} records {}: {:.0} ms", c.records, c.name, c.median_ms);
    }
}
