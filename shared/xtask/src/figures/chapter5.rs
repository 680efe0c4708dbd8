//! Chapter 5's figure: time without a leader.

use super::*;
use harness::results::chapter5::BenchResults;

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
fn time_without_leader(results: &BenchResults) -> String {
    match &results.failover {
        Some(run) => format!(
            "after the leader is killed, writes resume in {:.0} ms at the median, {:.0} ms at p99",
            run.median_ms, run.p99_ms
        ),
        None => "time without a leader after the leader crashes".into(),
    }
}

pub(super) fn failover(json: &Path, svg: &Path) -> anyhow::Result<()> {
    let results: BenchResults = read(json)?;
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
