//! Chapter 6's figure: what a node holds over a long run, and catch-up and restart
//! times against history length, with and without snapshots.

use super::*;
use harness::results::chapter6::BenchResults;

pub(super) fn snapshots(json: &Path, svg: &Path) -> anyhow::Result<()> {
    let results: BenchResults = read(json)?;
    let longest = results
        .histories
        .iter()
        .map(|h| h.writes)
        .max()
        .unwrap_or(1);
    let at = |mode: &str| {
        results
            .histories
            .iter()
            .find(|h| h.mode == mode && h.writes == longest)
    };
    let finding = match (at("no snapshots"), at("snapshots")) {
        (Some(without), Some(with)) => format!(
            "after {longest} writes, a follower catches up in {:.0} ms instead of {:.0} ms",
            with.catch_up_ms, without.catch_up_ms
        ),
        _ => "what snapshots bound".into(),
    };
    let (root, left, right) = canvas(
        svg,
        &format!("{}: {finding}", results.benchmark),
        &format!(
            "{} · 3 replicas in one process, real fsyncs, no network · writes over {} keys",
            machine_line(&results.machine, &results.date),
            results.keys
        ),
    )?;
    // Left: bytes held on disk as the writes go.
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let last_write = results
        .long_runs
        .iter()
        .flat_map(|r| r.points.last().map(|p| p.writes))
        .max()
        .unwrap_or(1) as f64;
    let top = results
        .long_runs
        .iter()
        .flat_map(|r| {
            r.points
                .iter()
                .map(|p| mib(p.log_bytes.max(p.snapshot_bytes)))
        })
        .fold(0.1, f64::max)
        * 1.1;
    let thousands = |x: &f64| format!("{:.0}k", x / 1000.0);
    let axis = Axis {
        range: 0.0..last_write * 1.02,
        desc: "writes",
        labels: 6,
        label: &thousands,
    };
    let mb = |y: &f64| format!("{y:.1} MiB");
    let mut chart = panel_with(&left, "disk held by the leader", &axis, top, &mb)?;
    for (i, run) in results.long_runs.iter().enumerate() {
        let points = run
            .points
            .iter()
            .map(|p| (p.writes as f64, mib(p.log_bytes)))
            .collect();
        line(
            &mut chart,
            points,
            COLORS[1 + i],
            &format!("log file, {}", run.mode),
        )?;
        if run.every.is_some() {
            let points = run
                .points
                .iter()
                .map(|p| (p.writes as f64, mib(p.snapshot_bytes)))
                .collect();
            line(&mut chart, points, COLORS[3], "snapshot file")?;
        }
    }
    legend(&mut chart)?;
    // Right: catch-up and restart against history length, log scale across.
    let lengths: Vec<f64> = results
        .histories
        .iter()
        .map(|h| (h.writes.max(1) as f64).log10())
        .collect();
    let (low, high) = (
        lengths.iter().copied().fold(f64::MAX, f64::min),
        lengths.iter().copied().fold(0.0, f64::max),
    );
    let slowest = results
        .histories
        .iter()
        .map(|h| h.catch_up_ms.max(h.restart_ms))
        .fold(1.0, f64::max)
        * 1.1;
    let label = |x: &f64| format!("{:.0}", 10f64.powf(x.round()));
    let axis = Axis {
        range: (low - 0.2)..(high + 0.2),
        desc: "writes in the history (log scale)",
        labels: (high - low).round() as usize + 1,
        label: &label,
    };
    let ms = |y: &f64| format!("{y:.0} ms");
    let mut chart = panel_with(&right, "catch-up and restart time", &axis, slowest, &ms)?;
    let series = [
        ("no snapshots", false, COLORS[1], "catch-up, entries only"),
        ("snapshots", false, COLORS[2], "catch-up, by snapshot"),
        ("no snapshots", true, COLORS[0], "restart, whole log"),
        ("snapshots", true, COLORS[3], "restart, snapshot + tail"),
    ];
    for (mode, restart, color, name) in series {
        let points = results
            .histories
            .iter()
            .filter(|h| h.mode == mode)
            .map(|h| {
                let y = if restart { h.restart_ms } else { h.catch_up_ms };
                ((h.writes.max(1) as f64).log10(), y)
            })
            .collect();
        line(&mut chart, points, color, name)?;
    }
    legend(&mut chart)?;
    root.present()?;
    Ok(())
}
