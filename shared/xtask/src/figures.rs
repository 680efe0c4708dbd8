//! `cargo xtask figures`: the book's figures, drawn from benchmark results.
//!
//! Each benchmark writes its results as JSON into `book/src/figures/`; this turns them
//! into SVG with plotters. SVG text is left to the reader's browser, so no font is
//! needed at build time. Every figure's caption line names the machine and the date.

use std::path::Path;

use anyhow::Context as _;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use serde::Deserialize;

use crate::workspace::Workspace;

/// The parts of a benchmark results file a figure needs (see `harness::load`).
#[derive(Debug, Deserialize)]
struct Results {
    benchmark: String,
    date: String,
    machine: Machine,
    runs: Vec<Run>,
}

#[derive(Debug, Deserialize)]
struct Machine {
    cpu: String,
    cores: usize,
    os: String,
}

#[derive(Debug, Deserialize)]
struct Run {
    name: String,
    clients: usize,
    throughput: f64,
    latency_us: Latency,
}

#[derive(Debug, Deserialize)]
struct Latency {
    p50: u64,
    p99: u64,
}

/// Draws one figure: results JSON in, SVG out.
type Draw = fn(&Path, &Path) -> anyhow::Result<()>;

pub fn draw_all(ws: &Workspace) -> anyhow::Result<()> {
    let dir = ws.root.join("book/src/figures");
    let figures: [(&str, Draw); 5] = [
        ("chapter1-bench", throughput_and_latency),
        ("chapter2-bench", durability),
        ("chapter3-bench", replication),
        ("chapter4-bench", partitioning),
        ("chapter5-bench", failover),
    ];
    for (name, draw) in figures {
        let (json, svg) = (
            dir.join(format!("{name}.json")),
            dir.join(format!("{name}.svg")),
        );
        if json.exists() {
            draw(&json, &svg)?;
            println!("drew {}", svg.display());
        } else {
            println!(
                "skipped {name}: no {} (run the chapter's bench first)",
                json.display()
            );
        }
    }
    Ok(())
}

const COLORS: [RGBColor; 4] = [
    RGBColor(120, 120, 120),
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
];

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The client counts on the x axis, on a log scale (base 2: a tick per doubling).
struct Clients(Vec<usize>);

impl Clients {
    fn of(runs: &[Run]) -> Self {
        let mut clients: Vec<usize> = runs.iter().map(|r| r.clients).collect();
        clients.sort_unstable();
        clients.dedup();
        Clients(clients)
    }
    fn x(&self, clients: usize) -> f64 {
        (clients.max(1) as f64).log2()
    }
    fn range(&self) -> std::ops::Range<f64> {
        let (low, high) = (
            self.0.first().map_or(0.0, |&c| self.x(c)),
            self.0.last().map_or(1.0, |&c| self.x(c)),
        );
        (low - 0.3)..(high + 0.3)
    }
    /// One tick per doubling across the range.
    fn ticks(&self) -> usize {
        let range = self.range();
        (range.end.floor() - range.start.ceil()) as usize + 1
    }
}

/// A white 960×440 canvas with a title and a grey subtitle (machine and date); returns
/// the left and right panels' areas.
fn canvas<'a>(
    svg: &'a Path,
    title: &str,
    subtitle: &str,
) -> anyhow::Result<(Area<'a>, Area<'a>, Area<'a>)> {
    let root = SVGBackend::new(svg, (960, 440)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(60);
    top.draw(&Text::new(
        title.to_string(),
        (20, 12),
        ("sans-serif", 20).into_font(),
    ))?;
    top.draw(&Text::new(
        subtitle.to_string(),
        (20, 38),
        ("sans-serif", 13).into_font().color(&RGBColor(90, 90, 90)),
    ))?;
    let (left, right) = body.split_horizontally(480);
    Ok((root, left, right))
}

/// One panel: client counts across, `0..y_max` up, axes labelled.
fn panel<'a, 'b>(
    area: &'a Area<'b>,
    caption: &str,
    clients: &Clients,
    y_max: f64,
    y_label: &dyn Fn(&f64) -> String,
) -> anyhow::Result<Chart<'a, 'b>> {
    let axis = Axis {
        range: clients.range(),
        desc: "concurrent clients (log scale)",
        labels: clients.ticks(),
        label: &|x: &f64| format!("{:.0}", 2f64.powf(x.round())),
    };
    panel_with(area, caption, &axis, y_max, y_label)
}

/// The x axis of a panel.
struct Axis<'f> {
    range: std::ops::Range<f64>,
    desc: &'f str,
    labels: usize,
    label: &'f dyn Fn(&f64) -> String,
}

/// One panel: `axis` across, `0..y_max` up, axes labelled.
fn panel_with<'a, 'b>(
    area: &'a Area<'b>,
    caption: &str,
    axis: &Axis<'_>,
    y_max: f64,
    y_label: &dyn Fn(&f64) -> String,
) -> anyhow::Result<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .caption(caption, ("sans-serif", 15))
        .build_cartesian_2d(axis.range.clone(), 0.0..y_max)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(232, 232, 232))
        .axis_style(RGBColor(150, 150, 150))
        .x_labels(axis.labels)
        .x_label_formatter(axis.label)
        .x_desc(axis.desc)
        .y_label_formatter(y_label)
        .draw()?;
    Ok(chart)
}

/// A labelled line with a dot at each point.
fn line(
    chart: &mut Chart<'_, '_>,
    points: Vec<(f64, f64)>,
    color: RGBColor,
    label: &str,
) -> anyhow::Result<()> {
    chart
        .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
    chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    Ok(())
}

fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>) -> anyhow::Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn read<T: serde::de::DeserializeOwned>(json: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(json).with_context(|| format!("reading {}", json.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", json.display()))
}

fn machine_line(machine: &Machine, date: &str) -> String {
    format!(
        "{} · {} cores · {} · {date}",
        machine.cpu, machine.cores, machine.os
    )
}

/// The finding of a throughput-by-clients run, for its title: where throughput stops
/// growing, and what more clients cost from there.
fn levels_off(runs: &[Run]) -> String {
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
fn throughput_and_latency(json: &Path, svg: &Path) -> anyhow::Result<()> {
    let results: Results = read(json)?;
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
        let runs: Vec<&Run> = results.runs.iter().filter(|r| r.name == *name).collect();
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

/// The chapter 2 results: what `harness::load` and the chapter's bench write.
#[derive(Debug, Deserialize)]
struct DurabilityResults {
    benchmark: String,
    date: String,
    machine: Machine,
    fsync_latency_us: Latency,
    runs: Vec<Run>,
    syncs: Vec<SyncCount>,
    recovery: Recovery,
}

#[derive(Debug, Deserialize)]
struct SyncCount {
    name: String,
    clients: usize,
    writes_per_fsync: f64,
}

#[derive(Debug, Deserialize)]
struct Recovery {
    records: u64,
    seconds: f64,
}

/// The finding of chapter 2's run, for its title: group commit's gain at the most clients.
fn group_commit_gain(results: &DurabilityResults) -> String {
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
fn durability(json: &Path, svg: &Path) -> anyhow::Result<()> {
    let results: DurabilityResults = read(json)?;
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

/// The chapter 3 results.
#[derive(Debug, Deserialize)]
struct ReplicationResults {
    benchmark: String,
    date: String,
    machine: Machine,
    clients: usize,
    runs: Vec<ModeRun>,
}

#[derive(Debug, Deserialize)]
struct ModeRun {
    mode: String,
    nodes: usize,
    report: Run,
    lag: Lag,
}

#[derive(Debug, Deserialize)]
struct Lag {
    samples: Vec<(u64, u64)>,
}

/// The finding of chapter 3's run, for its title: what each mode keeps of async's writes.
fn cost_of_modes(results: &ReplicationResults, nodes: usize) -> String {
    let at = |mode: &str| {
        results
            .runs
            .iter()
            .find(|r| r.nodes == nodes && r.mode == mode)
            .map_or(0.0, |r| r.report.throughput)
    };
    let async_ = at("async").max(1.0);
    format!(
        "on {nodes} nodes, quorum keeps {:.0} % of async's writes/s and all {:.0} %",
        100.0 * at("quorum") / async_,
        100.0 * at("all") / async_
    )
}

/// Two panels: acknowledged writes/s per mode (bars, one per group size), and the
/// largest follower lag over the run, per mode, in the smallest group.
fn replication(json: &Path, svg: &Path) -> anyhow::Result<()> {
    let results: ReplicationResults = read(json)?;
    let modes = ["async", "quorum", "all"];
    let mut sizes: Vec<usize> = results.runs.iter().map(|r| r.nodes).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let title = format!(
        "{}: {}",
        results.benchmark,
        cost_of_modes(&results, sizes.first().copied().unwrap_or(3))
    );
    let subtitle = format!(
        "{} · {} concurrent writers · 100-byte values",
        machine_line(&results.machine, &results.date),
        results.clients
    );
    let (root, left, right) = canvas(svg, &title, &subtitle)?;
    let whole = |y: &f64| format!("{y:.0}");
    let max_throughput = results
        .runs
        .iter()
        .map(|r| r.report.throughput)
        .fold(1.0, f64::max)
        * 1.2;
    let mode_label = |x: &f64| {
        modes
            .get(x.round() as usize)
            .map_or(String::new(), |m| (*m).to_string())
    };
    let axis = Axis {
        range: -0.5..2.5,
        desc: "acknowledgement mode",
        labels: modes.len(),
        label: &mode_label,
    };
    let mut chart = panel_with(
        &left,
        "acknowledged writes/s (higher is better)",
        &axis,
        max_throughput,
        &whole,
    )?;
    // One bar per (mode, group size), side by side, the value on top.
    let width = 0.8 / sizes.len().max(1) as f64;
    for (i, &size) in sizes.iter().enumerate() {
        let color = COLORS[(i + 1) % COLORS.len()];
        let offset = (i as f64 - (sizes.len() as f64 - 1.0) / 2.0) * width;
        let bars: Vec<(f64, f64)> = modes
            .iter()
            .enumerate()
            .filter_map(|(x, mode)| {
                results
                    .runs
                    .iter()
                    .find(|r| r.nodes == size && r.mode == *mode)
                    .map(|r| (x as f64 + offset, r.report.throughput))
            })
            .collect();
        chart
            .draw_series(bars.iter().map(|&(x, y)| {
                Rectangle::new(
                    [(x - width * 0.45, 0.0), (x + width * 0.45, y)],
                    color.filled(),
                )
            }))?
            .label(format!("{size} nodes"))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
        chart.draw_series(bars.iter().map(|&(x, y)| {
            Text::new(
                format!("{:.1}k", y / 1000.0),
                (x - width * 0.4, y + max_throughput * 0.03),
                ("sans-serif", 11).into_font(),
            )
        }))?;
    }
    legend_at(&mut chart, SeriesLabelPosition::UpperRight)?;

    let smallest = sizes.first().copied().unwrap_or(3);
    let runs: Vec<&ModeRun> = results
        .runs
        .iter()
        .filter(|r| r.nodes == smallest)
        .collect();
    let max_t = runs
        .iter()
        .flat_map(|r| r.lag.samples.iter().map(|s| s.0))
        .max()
        .unwrap_or(1) as f64
        / 1000.0;
    let max_lag = runs
        .iter()
        .flat_map(|r| r.lag.samples.iter().map(|s| s.1))
        .max()
        .unwrap_or(1)
        .max(1) as f64
        * 1.2;
    let seconds = |x: &f64| format!("{x:.1}");
    let axis = Axis {
        range: 0.0..max_t.max(0.1),
        desc: "seconds into the run (warm-up included)",
        labels: 6,
        label: &seconds,
    };
    let mut chart = panel_with(
        &right,
        &format!("largest follower lag, entries ({smallest} nodes)"),
        &axis,
        max_lag,
        &whole,
    )?;
    for (i, mode) in modes.iter().enumerate() {
        if let Some(run) = runs.iter().find(|r| r.mode == *mode) {
            let color = COLORS[(i + 1) % COLORS.len()];
            let points: Vec<(f64, f64)> = run
                .lag
                .samples
                .iter()
                .map(|&(t, lag)| (t as f64 / 1000.0, lag as f64))
                .collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(1)))?
                .label(*mode)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
    }
    legend(&mut chart)?;
    root.present()?;
    Ok(())
}

/// The parts of chapter 4's results the figure needs.
#[derive(Debug, Deserialize)]
struct PartitioningResults {
    benchmark: String,
    date: String,
    machine: Machine,
    balance_nodes: usize,
    mod_n_max_over_mean: f64,
    balance: Vec<BalancePoint>,
    movement_vnodes: u32,
    movement: Vec<MovementPoint>,
    clients: usize,
    routing: Vec<RoutingRun>,
}

#[derive(Debug, Deserialize)]
struct BalancePoint {
    vnodes: u32,
    max_over_mean: f64,
    worst_max_over_mean: f64,
}

#[derive(Debug, Deserialize)]
struct MovementPoint {
    nodes: usize,
    ideal: f64,
    consistent: f64,
    mod_n_sampled: f64,
}

#[derive(Debug, Deserialize)]
struct RoutingRun {
    routing: String,
    report: RoutingReport,
}

#[derive(Debug, Deserialize)]
struct RoutingReport {
    throughput: f64,
    latency_us: Latency,
}

/// The finding of chapter 4's run, for its title: balance with the joins' virtual
/// nodes, and the keys a join moves, against mod-N.
fn what_placement_buys(results: &PartitioningResults) -> String {
    let vnodes = results.movement_vnodes;
    let balance = results
        .balance
        .iter()
        .find(|b| b.vnodes == vnodes)
        .or(results.balance.last())
        .map_or(0.0, |b| b.max_over_mean);
    let Some(join) = results.movement.iter().max_by_key(|m| m.nodes) else {
        return "no runs".into();
    };
    format!(
        "with {vnodes} vnodes the largest share is {balance:.2}× fair (mod-N {:.2}×); joining node {} moves {:.0} % of keys (mod-N {:.0} %)",
        results.mod_n_max_over_mean,
        join.nodes + 1,
        100.0 * join.consistent,
        100.0 * join.mod_n_sampled
    )
}

/// Chapter 4: balance against virtual nodes, keys moved per join, routing throughput.
fn partitioning(json: &Path, svg: &Path) -> anyhow::Result<()> {
    let results: PartitioningResults = read(json)?;
    let root = SVGBackend::new(svg, (1200, 440)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(60);
    top.draw(&Text::new(
        format!("{}: {}", results.benchmark, what_placement_buys(&results)),
        (20, 12),
        ("sans-serif", 20).into_font(),
    ))?;
    top.draw(&Text::new(
        format!(
            "{} · balance over {} nodes · joins with {} vnodes · {} writers on 3 nodes",
            machine_line(&results.machine, &results.date),
            results.balance_nodes,
            results.movement_vnodes,
            results.clients
        ),
        (20, 38),
        ("sans-serif", 13).into_font().color(&RGBColor(90, 90, 90)),
    ))?;
    let panels = body.split_evenly((1, 3));

    let vnodes: Vec<String> = results
        .balance
        .iter()
        .map(|b| b.vnodes.to_string())
        .collect();
    let vnode_label = |x: &f64| vnodes.get(x.round() as usize).cloned().unwrap_or_default();
    let worst = results
        .balance
        .iter()
        .map(|b| b.worst_max_over_mean)
        .fold(1.0, f64::max);
    let axis = Axis {
        range: -0.2..(vnodes.len() as f64 - 0.8),
        desc: "virtual nodes per node",
        labels: vnodes.len(),
        label: &vnode_label,
    };
    let ratio = |y: &f64| format!("{y:.1}");
    let mut chart = panel_with(
        &panels[0],
        "largest share / fair share (lower is better)",
        &axis,
        worst * 1.15,
        &ratio,
    )?;
    let at = |f: fn(&BalancePoint) -> f64| -> Vec<(f64, f64)> {
        results
            .balance
            .iter()
            .enumerate()
            .map(|(i, b)| (i as f64, f(b)))
            .collect()
    };
    line(
        &mut chart,
        at(|b| b.max_over_mean),
        COLORS[1],
        "consistent, mean of 20 rings",
    )?;
    line(
        &mut chart,
        at(|b| b.worst_max_over_mean),
        COLORS[2],
        "consistent, worst ring",
    )?;
    let flat = |y: f64| vec![(-0.2, y), (vnodes.len() as f64 - 0.8, y)];
    chart
        .draw_series(LineSeries::new(
            flat(results.mod_n_max_over_mean),
            COLORS[0].stroke_width(2),
        ))?
        .label("mod-N")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], COLORS[0].stroke_width(2)));
    legend_at(&mut chart, SeriesLabelPosition::UpperRight)?;

    let max_n = results.movement.iter().map(|m| m.nodes).max().unwrap_or(1) as f64;
    let nodes_label = |x: &f64| format!("{x:.0}");
    let axis = Axis {
        range: 0.5..max_n + 0.5,
        desc: "nodes before the join (N -> N+1)",
        labels: 8,
        label: &nodes_label,
    };
    let percent = |y: &f64| format!("{:.0}%", y * 100.0);
    let mut chart = panel_with(&panels[1], "share of keys that move", &axis, 1.05, &percent)?;
    let series = |f: fn(&MovementPoint) -> f64| -> Vec<(f64, f64)> {
        results
            .movement
            .iter()
            .map(|m| (m.nodes as f64, f(m)))
            .collect()
    };
    line(&mut chart, series(|m| m.mod_n_sampled), COLORS[0], "mod-N")?;
    line(
        &mut chart,
        series(|m| m.consistent),
        COLORS[1],
        "consistent hashing",
    )?;
    line(&mut chart, series(|m| m.ideal), COLORS[3], "ideal: 1/(N+1)")?;
    legend_at(&mut chart, SeriesLabelPosition::MiddleRight)?;

    let names: Vec<String> = results.routing.iter().map(|r| r.routing.clone()).collect();
    let name_label = |x: &f64| names.get(x.round() as usize).cloned().unwrap_or_default();
    let top = results
        .routing
        .iter()
        .map(|r| r.report.throughput)
        .fold(1.0, f64::max)
        * 1.25;
    let axis = Axis {
        range: -0.5..(names.len() as f64 - 0.5),
        desc: "how requests reach the owner",
        labels: names.len(),
        label: &name_label,
    };
    let whole = |y: &f64| format!("{y:.0}");
    let mut chart = panel_with(
        &panels[2],
        "writes/s (higher is better)",
        &axis,
        top,
        &whole,
    )?;
    for (i, run) in results.routing.iter().enumerate() {
        let x = i as f64;
        let color = COLORS[(i + 1) % COLORS.len()];
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x - 0.3, 0.0), (x + 0.3, run.report.throughput)],
            color.filled(),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            format!(
                "{:.0}/s, p99 {:.1} ms",
                run.report.throughput,
                run.report.latency_us.p99 as f64 / 1000.0
            ),
            (x - 0.35, run.report.throughput + top * 0.06),
            ("sans-serif", 12).into_font(),
        )))?;
    }
    root.present()?;
    Ok(())
}

fn legend_at<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    position: SeriesLabelPosition,
) -> anyhow::Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// The parts of chapter 5's results file the figure needs (see `chapter5::bench`).
#[derive(Debug, Deserialize)]
struct FailoverResults {
    benchmark: String,
    date: String,
    machine: Machine,
    nodes: usize,
    elections: Vec<ElectionRun>,
    failover: Option<FailoverRun>,
}

#[derive(Debug, Deserialize)]
struct ElectionRun {
    min_ms: u64,
    max_ms: u64,
    samples_ms: Vec<f64>,
    censored: usize,
}

#[derive(Debug, Deserialize)]
struct FailoverRun {
    samples_ms: Vec<f64>,
    median_ms: f64,
    p99_ms: f64,
}

/// Points of an empirical CDF: (sample, share of trials at or below it); censored
/// trials count in the denominator, so the curve stops short of 100%.
fn cdf(sorted: &[f64], censored: usize, x: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
    let total = (sorted.len() + censored).max(1) as f64;
    sorted
        .iter()
        .enumerate()
        .map(|(i, &v)| (x(v), (i + 1) as f64 / total))
        .collect()
}

/// The finding of chapter 5's run, for its title: how long writes stop after a crash.
fn time_without_leader(results: &FailoverResults) -> String {
    match &results.failover {
        Some(run) => format!(
            "after the leader is killed, writes resume in {:.0} ms at the median, {:.0} ms at p99",
            run.median_ms, run.p99_ms
        ),
        None => "time without a leader after the leader crashes".into(),
    }
}

fn failover(json: &Path, svg: &Path) -> anyhow::Result<()> {
    let results: FailoverResults = read(json)?;
    let (root, left, right) = canvas(
        svg,
        &format!("{}: {}", results.benchmark, time_without_leader(&results)),
        &format!(
            "{} · {} nodes on loopback",
            machine_line(&results.machine, &results.date),
            results.nodes
        ),
    )?;
    // Left: the Figure 16 experiment, log scale across.
    let longest = results
        .elections
        .iter()
        .flat_map(|r| r.samples_ms.last().copied())
        .fold(100.0, f64::max);
    let log_label = |x: &f64| {
        let ms = 10f64.powf(*x);
        if ms >= 1000.0 {
            format!("{:.0} s", ms / 1000.0)
        } else {
            format!("{ms:.0}")
        }
    };
    let axis = Axis {
        range: 10f64.log10()..(longest * 1.5).log10(),
        desc: "ms from the crash to a new leader (log scale)",
        labels: 6,
        label: &log_label,
    };
    let percent = |y: &f64| format!("{:.0}%", y * 100.0);
    let mut chart = panel_with(
        &left,
        "elections: share of trials done (CDF)",
        &axis,
        1.02,
        &percent,
    )?;
    let palette = [
        RGBColor(120, 120, 120),
        RGBColor(148, 103, 189),
        RGBColor(214, 39, 40),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(31, 119, 180),
    ];
    for (i, run) in results.elections.iter().enumerate() {
        let color = palette[i % palette.len()];
        let points = cdf(&run.samples_ms, run.censored, |v| v.max(10.0).log10());
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(format!("{}-{} ms", run.min_ms, run.max_ms))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    legend_at(&mut chart, SeriesLabelPosition::LowerRight)?;

    // Right: the SIGKILL experiment.
    if let Some(run) = &results.failover {
        let top = run.samples_ms.last().copied().unwrap_or(100.0) * 1.15;
        let ms = |x: &f64| format!("{x:.0}");
        let axis = Axis {
            range: 0.0..top,
            desc: "ms from SIGKILL to the next acknowledged write",
            labels: 8,
            label: &ms,
        };
        let mut chart = panel_with(
            &right,
            &format!(
                "unavailability, {} kills (150-300 ms): CDF",
                run.samples_ms.len()
            ),
            &axis,
            1.02,
            &percent,
        )?;
        chart
            .draw_series(LineSeries::new(
                cdf(&run.samples_ms, 0, |v| v),
                COLORS[1].stroke_width(2),
            ))?
            .label("150-300 ms timeouts, 50 ms heartbeats")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], COLORS[1].stroke_width(2))
            });
        for (value, name, color) in [
            (run.median_ms, "median", COLORS[3]),
            (run.p99_ms, "p99", COLORS[2]),
        ] {
            chart.draw_series(LineSeries::new(
                vec![(value, 0.0), (value, 1.0)],
                color.stroke_width(1),
            ))?;
            chart.draw_series(std::iter::once(Text::new(
                format!("{name} {value:.0} ms"),
                (value + top * 0.01, if name == "median" { 0.2 } else { 0.1 }),
                ("sans-serif", 12).into_font(),
            )))?;
        }
        legend_at(&mut chart, SeriesLabelPosition::UpperLeft)?;
    }
    root.present()?;
    Ok(())
}
