//! Chapter 8's figure: job time against workers, and what a slow worker and a lost
//! leader cost.

use super::*;
use harness::results::chapter8::{BenchResults, JobRuns};

/// The finding of chapter 8's run, for its title: what backups save with a straggler.
fn finding(results: &BenchResults) -> String {
    let at = |name: &str| {
        results
            .faults
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.median_ms)
    };
    match (
        at("one 10x slower, backups"),
        at("one 10x slower, no backups"),
    ) {
        (Some(with), Some(without)) if with > 0.0 => format!(
            "with one worker 10x slower, the job takes {:.0} % longer without backups",
            100.0 * (without / with - 1.0)
        ),
        _ => "job time against workers and faults".into(),
    }
}

pub(super) fn mapreduce(json: &Path, svg: &Path) -> anyhow::Result<()> {
    let results: BenchResults = read(json)?;
    let task_ms = results.scaling.first().map_or(0, |r| r.task_ms);
    let (root, left, right) = canvas(
        svg,
        &format!("{}: {}", results.benchmark, finding(&results)),
        &format!(
            "{} · 3 coordinator replicas and the workers on one machine · word count, {} KiB, {} maps, {} reduces · median of {} runs",
            machine_line(&results.machine, &results.date),
            results.input_bytes / 1024,
            results.maps,
            results.reduces,
            results.scaling.first().map_or(0, |r| r.job_ms.len())
        ),
    )?;
    // Left: job time against workers, log scale across.
    let x = |workers: usize| (workers.max(1) as f64).log2();
    let high = results
        .scaling
        .iter()
        .chain(&results.compute_only)
        .map(|r| x(r.workers))
        .fold(1.0, f64::max);
    let slowest = results
        .scaling
        .iter()
        .chain(&results.compute_only)
        .chain(&results.faults)
        .map(|r| r.median_ms)
        .fold(1.0, f64::max)
        * 1.15;
    let label = |v: &f64| format!("{:.0}", 2f64.powf(v.round()));
    let axis = Axis {
        range: -0.3..high + 0.3,
        desc: "worker processes (log scale)",
        labels: high as usize + 1,
        label: &label,
    };
    let ms = |y: &f64| format!("{y:.0} ms");
    let mut chart = panel_with(&left, "job time (lower is better)", &axis, slowest, &ms)?;
    let series: [(&Vec<JobRuns>, RGBColor, String); 2] = [
        (
            &results.scaling,
            COLORS[1],
            format!("tasks of at least {task_ms} ms"),
        ),
        (
            &results.compute_only,
            COLORS[2],
            "tasks that only compute".into(),
        ),
    ];
    for (runs, color, name) in series {
        let points = runs.iter().map(|r| (x(r.workers), r.median_ms)).collect();
        line(&mut chart, points, color, &name)?;
    }
    legend_at(&mut chart, SeriesLabelPosition::UpperRight)?;
    // Right: the faults, one bar each.
    let names: Vec<String> = results.faults.iter().map(|r| r.name.clone()).collect();
    let name_of = |v: &f64| {
        names
            .get(v.round() as usize)
            .cloned()
            .unwrap_or_default()
            .replace("one 10x slower", "1 slow")
    };
    let axis = Axis {
        range: -0.5..names.len() as f64 - 0.5,
        desc: "4 workers, tasks of the same length",
        labels: names.len(),
        label: &name_of,
    };
    let mut chart = panel_with(&right, "a slow worker, a lost leader", &axis, slowest, &ms)?;
    for (i, run) in results.faults.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let x = i as f64;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x - 0.35, 0.0), (x + 0.35, run.median_ms)],
            color.filled(),
        )))?;
        let attempts = run.attempts.iter().sum::<usize>() as f64 / run.attempts.len().max(1) as f64;
        chart.draw_series(std::iter::once(Text::new(
            format!("{:.0} ms, {attempts:.0} att.", run.median_ms),
            (x - 0.4, run.median_ms + slowest * 0.03),
            ("sans-serif", 11).into_font(),
        )))?;
    }
    root.present()?;
    Ok(())
}
