//! Chapter 7's figure: how long a moving shard is unavailable against its size, what
//! the other shards keep doing meanwhile, and throughput against the number of groups.

use super::*;
use harness::results::chapter7::BenchResults;

pub(super) fn sharding(json: &Path, svg: &Path) -> anyhow::Result<()> {
    let results: BenchResults = read(json)?;
    let finding = match results.moves.iter().max_by_key(|m| m.shard_bytes) {
        Some(m) => format!(
            "a {:.1} MiB shard is unavailable for {:.0} ms ({}) while it moves",
            m.shard_bytes as f64 / (1024.0 * 1024.0),
            m.p99_ms,
            if m.moves < 100 {
                format!("the slowest of {} moves", m.moves)
            } else {
                "p99".to_string()
            }
        ),
        None => "moving shards".into(),
    };
    let (root, left, right) = canvas(
        svg,
        &format!("{}: {finding}", results.benchmark),
        &format!(
            "{} · release build · service and groups: 3-replica logs, one process, loopback · {} shards",
            machine_line(&results.machine, &results.date),
            results.shards
        ),
    )?;
    // Left: unavailability against shard size (log scale, base 2), from 1 KiB.
    let kib = |b: u64| (b as f64 / 1024.0).max(1.0).log2();
    let high = results
        .moves
        .iter()
        .map(|m| kib(m.shard_bytes).ceil())
        .fold(2.0, f64::max);
    let high = high + high % 2.0; // an even power, so every label is 4 times the last
    let top = results.moves.iter().map(|m| m.p99_ms).fold(10.0, f64::max) * 1.2;
    let size = |x: &f64| {
        let k = 2f64.powf(x.round());
        if k >= 1024.0 {
            format!("{:.0} MiB", k / 1024.0)
        } else {
            format!("{k:.0} KiB")
        }
    };
    let axis = Axis {
        range: 0.0..high,
        desc: "shard size (log scale)",
        labels: (high / 2.0) as usize + 1,
        label: &size,
    };
    let ms = |y: &f64| format!("{y:.0} ms");
    let mut chart = panel_with(&left, "a moving shard's unavailability", &axis, top, &ms)?;
    let series = |f: fn(&harness::results::chapter7::MoveRun) -> f64| {
        results
            .moves
            .iter()
            .map(|m| (kib(m.shard_bytes), f(m)))
            .collect::<Vec<_>>()
    };
    line(&mut chart, series(|m| m.p50_ms), COLORS[1], "median")?;
    line(
        &mut chart,
        series(|m| m.p99_ms),
        COLORS[2],
        "p99 (the slowest, under 100 moves)",
    )?;
    legend(&mut chart)?;
    // Right: calls per second against groups, and the other shards during moves.
    let most = results.groups.iter().map(|g| g.groups).max().unwrap_or(1) as f64;
    let fastest = results
        .groups
        .iter()
        .map(|g| g.calls_per_s)
        .chain(results.moves.iter().map(|m| m.others_steady_per_s))
        .fold(1.0, f64::max)
        * 1.5;
    let count = |x: &f64| format!("{x:.0}");
    let axis = Axis {
        range: 0.5..most + 0.5,
        desc: "groups (3 replicas each)",
        labels: most as usize,
        label: &count,
    };
    let rate = |y: &f64| format!("{y:.0}/s");
    let mut chart = panel_with(&right, "calls answered per second", &axis, fastest, &rate)?;
    let points = results
        .groups
        .iter()
        .map(|g| (g.groups as f64, g.calls_per_s))
        .collect();
    line(
        &mut chart,
        points,
        COLORS[1],
        "8 clients writing, all shards serving",
    )?;
    // The other shards, with 2 groups, between moves and during them (the largest move).
    if let Some(m) = results.moves.iter().max_by_key(|m| m.shard_bytes) {
        line(
            &mut chart,
            vec![(1.9, m.others_steady_per_s), (2.1, m.others_steady_per_s)],
            COLORS[3],
            "other shards between moves (2 groups)",
        )?;
        line(
            &mut chart,
            vec![(1.9, m.others_moving_per_s), (2.1, m.others_moving_per_s)],
            COLORS[0],
            "other shards while the largest moves",
        )?;
    }
    legend(&mut chart)?;
    root.present()?;
    Ok(())
}
