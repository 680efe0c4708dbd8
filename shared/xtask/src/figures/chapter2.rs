//! Chapter 2's figure: durable writes, fsync per write against group commit.

use super::*;
use harness::results::chapter2::BenchResults;

/// The finding of chapter 2's run, for its title: group commit's gain at the most clients.
fn group_commit_gain(results: &BenchResults) -> String {
    let Some(most) = results.runs.iter().map(|r| r.clients).max() else {
        return "no runs".into();
    };
    let at = |name: &str| {
        results
            .runs
            .iter()
            .find(|r| r.name == name && r.clients == most)
            .map_or(0.0, |r| r.throughput)
    };
    let shared = results
        .syncs
        .iter()
        .find(|s| s.name == "group" && s.clients == most)
        .map_or(1.0, |s| s.writes_per_fsync);
    format!(
        "with {most} clients, group commit acknowledges {:.1}× the writes of fsync per write ({shared:.0} writes per fsync)",
        at("group") / at("always").max(1.0)
    )
}

/// Two panels over the client counts: durable writes per second for fsync-per-write and
/// group commit (with the disk's own limit, one write per fsync), and writes per fsync.
pub(super) fn durability(json: &Path, svg: &Path) -> anyhow::Result<()> {
    let results: BenchResults = read(json)?;
    let clients = Clients::of(&results.runs);
    let limit = 1e6 / results.fsync_latency_us.p50.max(1) as f64;
    let max_throughput = results
        .runs
        .iter()
        .map(|r| r.throughput)
        .fold(limit, f64::max)
        * 1.15;
    let max_batch = results
        .syncs
        .iter()
        .map(|s| s.writes_per_fsync)
        .fold(1.0, f64::max)
        * 1.15;
    let title = format!("{}: {}", results.benchmark, group_commit_gain(&results));
    let subtitle = format!(
        "{} · fsync p50 {} µs · recovery of {} records: {:.2} s",
        machine_line(&results.machine, &results.date),
        results.fsync_latency_us.p50,
        results.recovery.records,
        results.recovery.seconds
    );
    let (root, left, right) = canvas(svg, &title, &subtitle)?;
    let policies = [
        ("always", "fsync per write", COLORS[1]),
        ("group", "group commit", COLORS[2]),
    ];
    let whole = |y: &f64| format!("{y:.0}");

    let mut chart = panel(
        &left,
        "acknowledged writes/s (higher is better)",
        &clients,
        max_throughput,
        &whole,
    )?;
    let grey = COLORS[0];
    let range = clients.range();
    chart
        .draw_series(DashedLineSeries::new(
            vec![(range.start, limit), (range.end, limit)],
            6,
            4,
            grey.stroke_width(1),
        ))?
        .label("one write per fsync (this disk)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], grey.stroke_width(1)));
    for (name, label, color) in policies {
        let points = results
            .runs
            .iter()
            .filter(|r| r.name == name)
            .map(|r| (clients.x(r.clients), r.throughput));
        line(&mut chart, points.collect(), color, label)?;
    }
    legend(&mut chart)?;

    let mut chart = panel(
        &right,
        "writes covered by one fsync",
        &clients,
        max_batch,
        &whole,
    )?;
    for (name, label, color) in policies {
        let points = results
            .syncs
            .iter()
            .filter(|s| s.name == name)
            .map(|s| (clients.x(s.clients), s.writes_per_fsync));
        line(&mut chart, points.collect(), color, label)?;
    }
    legend(&mut chart)?;
    root.present()?;
    Ok(())
}
