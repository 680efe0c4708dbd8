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
    let figures: [(&str, Draw); 2] = [
        ("chapter1-bench", throughput_and_latency),
        ("chapter2-bench", durability),
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

/// The client counts on the x axis, evenly spaced whatever their values.
struct Clients(Vec<usize>);

impl Clients {
    fn of(runs: &[Run]) -> Self {
        let mut clients: Vec<usize> = runs.iter().map(|r| r.clients).collect();
        clients.sort_unstable();
        clients.dedup();
        Clients(clients)
    }
    fn x(&self, clients: usize) -> f64 {
        self.0.iter().position(|&c| c == clients).unwrap_or(0) as f64
    }
    fn range(&self) -> std::ops::Range<f64> {
        -0.2..(self.0.len() as f64 - 0.8)
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
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .caption(caption, ("sans-serif", 15))
        .build_cartesian_2d(clients.range(), 0.0..y_max)?;
    let x_label = |x: &f64| {
        clients
            .0
            .get(x.round() as usize)
            .map_or(String::new(), ToString::to_string)
    };
    chart
        .configure_mesh()
        .x_labels(clients.0.len())
        .x_label_formatter(&x_label)
        .x_desc("concurrent clients")
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
    let title = format!(
        "{}: throughput and latency by number of concurrent clients",
        results.benchmark
    );
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
    let title = format!(
        "{}: durable writes, fsync per write vs group commit",
        results.benchmark
    );
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
