//! `cargo xtask figures`: the book's figures, drawn from benchmark results.
//!
//! Each benchmark writes its results as JSON into `book/src/figures/`; this turns them
//! into SVG with plotters. SVG text is left to the reader's browser, so no font is
//! needed at build time. Every figure's caption line names the machine and the date.

use std::path::Path;

use anyhow::Context as _;
use harness::load::LoadReport;
use harness::machine::Machine;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::workspace::Workspace;

mod chapter1;
mod chapter2;
mod chapter3;
mod chapter4;
mod chapter5;
mod chapter6;
mod chapter7;
mod chapter8;
mod chapter9;

/// Draws one figure: results JSON in, SVG out.
type Draw = fn(&Path, &Path) -> anyhow::Result<()>;

pub fn draw_all(ws: &Workspace) -> anyhow::Result<()> {
    let dir = ws.root.join("book/src/figures");
    let figures: [(&str, Draw); 9] = [
        ("chapter1-bench", chapter1::throughput_and_latency),
        ("chapter2-bench", chapter2::durability),
        ("chapter3-bench", chapter3::replication),
        ("chapter4-bench", chapter4::partitioning),
        ("chapter5-bench", chapter5::failover),
        ("chapter6-bench", chapter6::snapshots),
        ("chapter7-bench", chapter7::sharding),
        ("chapter8-bench", chapter8::mapreduce),
        ("chapter9-bench", chapter9::messaging),
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
    fn of(runs: &[LoadReport]) -> Self {
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
