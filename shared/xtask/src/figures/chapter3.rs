//! Chapter 3's figure: writes per acknowledgement mode, and follower lag.

use super::*;
use harness::results::chapter3::{BenchResults, ModeRun};

/// The finding of chapter 3's run, for its title: what each mode keeps of async's writes.
fn cost_of_modes(results: &BenchResults, nodes: usize) -> String {
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
pub(super) fn replication(json: &Path, svg: &Path) -> anyhow::Result<()> {
    let results: BenchResults = read(json)?;
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
