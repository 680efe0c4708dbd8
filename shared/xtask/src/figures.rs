//! `cargo xtask figures`: the book's figures, drawn from benchmark results.
//!
//! Each benchmark writes its results as JSON into `book/src/figures/`; this turns them
//! into SVG with plotters. SVG text is left to the reader's browser, so no font is
//! needed at build time. Every figure's caption line names the machine and the date.

use std::path::Path;

use anyhow::Context as _;
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

/// Two panels over the client counts: throughput, and p50/p99 latency, one line per target.
fn throughput_and_latency(json: &Path, svg: &Path) -> anyhow::Result<()> {
    let results: Results = serde_json::from_str(
        &std::fs::read_to_string(json).with_context(|| format!("reading {}", json.display()))?,
    )?;
    let mut names: Vec<&str> = Vec::new();
    let mut clients: Vec<usize> = Vec::new();
    for run in &results.runs {
        if !names.contains(&run.name.as_str()) {
            names.push(&run.name);
        }
        if !clients.contains(&run.clients) {
            clients.push(run.clients);
        }
    }
    clients.sort_unstable();
    let x_of = |c: usize| clients.iter().position(|&x| x == c).unwrap_or(0) as f64;
    let x_label = |x: &f64| {
        clients
            .get(x.round() as usize)
            .map_or(String::new(), |c| c.to_string())
    };
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
    let x_range = -0.2..(clients.len() as f64 - 0.8);

    let root = SVGBackend::new(svg, (960, 440)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(60);
    title.draw(&Text::new(
        format!(
            "{}: throughput and latency by number of concurrent clients",
            results.benchmark
        ),
        (20, 12),
        ("sans-serif", 20).into_font(),
    ))?;
    title.draw(&Text::new(
        format!(
            "{} · {} cores · {} · {}",
            results.machine.cpu, results.machine.cores, results.machine.os, results.date
        ),
        (20, 38),
        ("sans-serif", 13).into_font().color(&RGBColor(90, 90, 90)),
    ))?;
    let (left, right) = body.split_horizontally(480);

    let mut chart = ChartBuilder::on(&left)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .caption(
            "throughput (operations/s, higher is better)",
            ("sans-serif", 15),
        )
        .build_cartesian_2d(x_range.clone(), 0.0..max_throughput)?;
    chart
        .configure_mesh()
        .x_labels(clients.len())
        .x_label_formatter(&x_label)
        .x_desc("concurrent clients")
        .y_label_formatter(&|y| {
            if *y == 0.0 {
                "0".into()
            } else {
                format!("{:.0}k", y / 1000.0)
            }
        })
        .draw()?;
    for (i, name) in names.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points: Vec<(f64, f64)> = results
            .runs
            .iter()
            .filter(|r| r.name == *name)
            .map(|r| (x_of(r.clients), r.throughput))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    let mut chart = ChartBuilder::on(&right)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .caption("latency (µs): p99 solid, p50 dashed", ("sans-serif", 15))
        .build_cartesian_2d(x_range, 0.0..max_latency)?;
    chart
        .configure_mesh()
        .x_labels(clients.len())
        .x_label_formatter(&x_label)
        .x_desc("concurrent clients")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    for (i, name) in names.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let runs: Vec<&Run> = results.runs.iter().filter(|r| r.name == *name).collect();
        let p99: Vec<(f64, f64)> = runs
            .iter()
            .map(|r| (x_of(r.clients), r.latency_us.p99 as f64))
            .collect();
        let p50: Vec<(f64, f64)> = runs
            .iter()
            .map(|r| (x_of(r.clients), r.latency_us.p50 as f64))
            .collect();
        chart
            .draw_series(LineSeries::new(p99.clone(), color.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart.draw_series(p99.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        chart.draw_series(DashedLineSeries::new(p50, 5, 4, color.stroke_width(1)))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
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
    let results: DurabilityResults = serde_json::from_str(
        &std::fs::read_to_string(json).with_context(|| format!("reading {}", json.display()))?,
    )?;
    let mut clients: Vec<usize> = results.runs.iter().map(|r| r.clients).collect();
    clients.sort_unstable();
    clients.dedup();
    let x_of = |c: usize| clients.iter().position(|&x| x == c).unwrap_or(0) as f64;
    let x_label = |x: &f64| {
        clients
            .get(x.round() as usize)
            .map_or(String::new(), |c| c.to_string())
    };
    let x_range = -0.2..(clients.len() as f64 - 0.8);
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

    let root = SVGBackend::new(svg, (960, 440)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(60);
    title.draw(&Text::new(
        format!(
            "{}: durable writes, fsync per write vs group commit",
            results.benchmark
        ),
        (20, 12),
        ("sans-serif", 20).into_font(),
    ))?;
    title.draw(&Text::new(
        format!(
            "{} · {} cores · {} · {} · fsync p50 {} µs · recovery of {} records: {:.2} s",
            results.machine.cpu,
            results.machine.cores,
            results.machine.os,
            results.date,
            results.fsync_latency_us.p50,
            results.recovery.records,
            results.recovery.seconds
        ),
        (20, 38),
        ("sans-serif", 13).into_font().color(&RGBColor(90, 90, 90)),
    ))?;
    let (left, right) = body.split_horizontally(480);

    let mut chart = ChartBuilder::on(&left)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .caption(
            "acknowledged writes/s (higher is better)",
            ("sans-serif", 15),
        )
        .build_cartesian_2d(x_range.clone(), 0.0..max_throughput)?;
    chart
        .configure_mesh()
        .x_labels(clients.len())
        .x_label_formatter(&x_label)
        .x_desc("concurrent clients")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    let grey = COLORS[0];
    chart
        .draw_series(DashedLineSeries::new(
            vec![(x_range.start, limit), (x_range.end, limit)],
            6,
            4,
            grey.stroke_width(1),
        ))?
        .label("one write per fsync (this disk)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], grey.stroke_width(1)));
    for (i, name) in ["always", "group"].iter().enumerate() {
        let color = COLORS[i + 1];
        let points: Vec<(f64, f64)> = results
            .runs
            .iter()
            .filter(|r| r.name == *name)
            .map(|r| (x_of(r.clients), r.throughput))
            .collect();
        let label = if *name == "always" {
            "fsync per write"
        } else {
            "group commit"
        };
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    let mut chart = ChartBuilder::on(&right)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .caption("writes covered by one fsync", ("sans-serif", 15))
        .build_cartesian_2d(x_range, 0.0..max_batch)?;
    chart
        .configure_mesh()
        .x_labels(clients.len())
        .x_label_formatter(&x_label)
        .x_desc("concurrent clients")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    for (i, name) in ["always", "group"].iter().enumerate() {
        let color = COLORS[i + 1];
        let points: Vec<(f64, f64)> = results
            .syncs
            .iter()
            .filter(|s| s.name == *name)
            .map(|s| (x_of(s.clients), s.writes_per_fsync))
            .collect();
        let label = if *name == "always" {
            "fsync per write"
        } else {
            "group commit"
        };
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
