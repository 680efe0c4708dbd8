//! Chapter 1's figure: throughput and latency by number of clients.

use super::*;
use harness::results::chapter1::BenchResults;

/// The finding of a throughput-by-clients run, for its title: where throughput stops
/// growing, and what more clients cost from there.
fn levels_off(runs: &[LoadReport]) -> String {
    let best = |clients: usize| {
        runs.iter()
            .filter(|r| r.clients == clients)
            .map(|r| r.throughput)
            .fold(0.0, f64::max)
    };
    let worst_p99 = |clients: usize| {
        runs.iter()
            .filter(|r| r.clients == clients)
            .map(|r| r.latency_us.p99)
            .max()
            .unwrap_or(0)
    };
    let clients = Clients::of(runs).0;
    let (Some(&first), Some(&last)) = (clients.first(), clients.last()) else {
        return "no runs".into();
    };
    let peak = best(last).max(best(first));
    let knee = clients
        .iter()
        .copied()
        .find(|&c| best(c) >= 0.9 * peak)
        .unwrap_or(last);
    if knee == last {
        return format!(
            "throughput still grows at {last} clients ({:.0}k operations/s)",
            peak / 1000.0
        );
    }
    format!(
        "throughput levels off near {:.0}k operations/s from {knee} clients; beyond, p99 grows {:.1}×",
        peak / 1000.0,
        worst_p99(last) as f64 / worst_p99(knee).max(1) as f64
    )
}

/// Two panels over the client counts: throughput, and p50/p99 latency, one line per target.
pub(super) fn throughput_and_latency(json: &Path, svg: &Path) -> anyhow::Result<()> {
    let results: BenchResults = read(json)?;
    let mut names: Vec<&str> = Vec::new();
    for run in &results.runs {
        if !names.contains(&run.name.as_str()) {
            names.push(&run.name);
        }
    }
    let clients = Clients::of(&results.runs);
    let max_throughput = results
        .runs
        .iter()
        .map(|r| r.throughput)
        .fold(1.0, f64::max)
        * 1.1;
    let max_latency = results
        .runs
        .iter()
        .map(|r| r.latency_us.p99 as f64)
        .fold(1.0, f64::max)
        * 1.1;
    let title = format!("{}: {}", results.benchmark, levels_off(&results.runs));
    let (root, left, right) = canvas(svg, &title, &machine_line(&results.machine, &results.date))?;

    let thousands = |y: &f64| {
        if *y == 0.0 {
            "0".into()
        } else {
            format!("{:.0}k", y / 1000.0)
        }
    };
    let mut chart = panel(
        &left,
        "throughput (operations/s, higher is better)",
        &clients,
        max_throughput,
        &thousands,
    )?;
    for (i, name) in names.iter().enumerate() {
        let points = results
            .runs
            .iter()
            .filter(|r| r.name == *name)
            .map(|r| (clients.x(r.clients), r.throughput));
        line(&mut chart, points.collect(), COLORS[i % COLORS.len()], name)?;
    }
    legend(&mut chart)?;

    let whole = |y: &f64| format!("{y:.0}");
    let mut chart = panel(
        &right,
        "latency (µs): p99 solid, p50 dashed",
        &clients,
        max_latency,
        &whole,
    )?;
    for (i, name) in names.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let runs: Vec<&LoadReport> = results.runs.iter().filter(|r| r.name == *name).collect();
        line(
            &mut chart,
            runs.iter()
                .map(|r| (clients.x(r.clients), r.latency_us.p99 as f64))
                .collect(),
            color,
            name,
        )?;
        let p50: Vec<(f64, f64)> = runs
            .iter()
            .map(|r| (clients.x(r.clients), r.latency_us.p50 as f64))
            .collect();
        chart.draw_series(DashedLineSeries::new(p50, 5, 4, color.stroke_width(1)))?;
    }
    legend(&mut chart)?;
    root.present()?;
    Ok(())
}
