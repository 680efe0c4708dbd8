//! Chapter 4's figure: balance, keys moved per join, and routing.

use super::*;
use harness::results::chapter4::{BalancePoint, BenchResults, MovementPoint};

/// The finding of chapter 4's run, for its title: balance with the joins' virtual
/// nodes, and the keys a join moves, against mod-N.
fn what_placement_buys(results: &BenchResults) -> String {
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
pub(super) fn partitioning(json: &Path, svg: &Path) -> anyhow::Result<()> {
    let results: BenchResults = read(json)?;
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
