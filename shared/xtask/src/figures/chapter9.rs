//! Chapter 9's figure: throughput against producers and partitions, and the times a
//! user waits: a message's trip to a consumer, a rebalance, consuming under each
//! semantics.

use super::*;
use harness::results::chapter9::{BenchResults, Throughput};

pub(super) fn messaging(json: &Path, svg: &Path) -> anyhow::Result<()> {
    let results: BenchResults = read(json)?;
    let crash = results.pauses.iter().find(|p| p.name == "a member crashed");
    let title = match crash {
        Some(p) => format!(
            "{}: a crashed member's partitions go unread for {:.1} s",
            results.benchmark,
            p.median_ms / 1000.0
        ),
        None => results.benchmark.clone(),
    };
    let (root, left, right) = canvas(
        svg,
        &title,
        &format!(
            "{} · {} groups of 3 replicas and every client on one machine · one message per \
             fsynced log entry · session timeout {} ms · median of {} runs",
            machine_line(&results.machine, &results.date),
            results.groups,
            results.session_timeout_ms,
            results
                .by_producers
                .first()
                .map_or(0, |t| t.per_second.len())
        ),
    )?;
    // Left: messages per second against producers, and against partitions.
    let x = |n: f64| n.max(1.0).log2();
    let top = results
        .by_producers
        .iter()
        .chain(&results.by_partitions)
        .map(|t| t.median)
        .fold(1.0, f64::max)
        * 1.2;
    let label = |v: &f64| format!("{:.0}", 2f64.powf(v.round()));
    let axis = Axis {
        range: -0.3..3.3,
        desc: "producers, or partitions (log scale)",
        labels: 4,
        label: &label,
    };
    let per_second = |y: &f64| format!("{y:.0}/s");
    let mut chart = panel_with(
        &left,
        "acknowledged messages per second",
        &axis,
        top,
        &per_second,
    )?;
    let series: [(&Vec<Throughput>, RGBColor, &str, bool); 2] = [
        (
            &results.by_producers,
            COLORS[1],
            "producers (4 partitions)",
            true,
        ),
        (
            &results.by_partitions,
            COLORS[2],
            "partitions (4 producers)",
            false,
        ),
    ];
    for (runs, color, name, by_producers) in series {
        let points = runs
            .iter()
            .map(|t| {
                let n = if by_producers {
                    t.producers as f64
                } else {
                    f64::from(t.partitions)
                };
                (x(n), t.median)
            })
            .collect();
        line(&mut chart, points, color, name)?;
    }
    legend_at(&mut chart, SeriesLabelPosition::UpperLeft)?;
    // Right: what a user waits for, one bar each.
    let l = &results.latency;
    let mut bars = vec![
        ("send → read p50".to_string(), l.p50_ms),
        ("p99".to_string(), l.p99_ms),
    ];
    for p in &results.pauses {
        let name = p.name.replace("a member ", "");
        bars.push((format!("pause: {name}"), p.median_ms));
    }
    for c in &results.consumed {
        bars.push((c.name.clone(), c.median_ms));
    }
    let highest = bars.iter().map(|b| b.1).fold(1.0, f64::max) * 1.2;
    let names: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    let name_of = |v: &f64| names.get(v.round() as usize).cloned().unwrap_or_default();
    let records = results.consumed.first().map_or(0, |c| c.records);
    let desc = format!("the last two: one member consumes {records} records");
    let axis = Axis {
        range: -0.5..bars.len() as f64 - 0.5,
        desc: &desc,
        labels: bars.len(),
        label: &name_of,
    };
    let ms = |y: &f64| format!("{y:.0} ms");
    let mut chart = panel_with(
        &right,
        "time a user waits (lower is better)",
        &axis,
        highest,
        &ms,
    )?;
    for (i, (_, value)) in bars.iter().enumerate() {
        let color = COLORS[(i / 2) % COLORS.len()];
        let x = i as f64;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x - 0.35, 0.0), (x + 0.35, *value)],
            color.filled(),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("{value:.0}"),
            (x - 0.3, value + highest * 0.03),
            ("sans-serif", 11).into_font(),
        )))?;
    }
    root.present()?;
    Ok(())
}
