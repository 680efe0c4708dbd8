//! A job's timeline, as text a failing test prints: one row per worker, its attempts in
//! order with their times and how each ended, backups marked.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chapter8::{Event, Why};

/// At most this many rows are printed (the busiest workers' first), each with at most
/// this many cells (its last ones).
const ROWS: usize = 24;
const CELLS: usize = 16;

pub fn timeline(events: &[Event]) -> String {
    let mut rows: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut open: BTreeMap<u64, (String, usize)> = BTreeMap::new();
    for event in events {
        match event {
            Event::Started {
                at,
                task,
                attempt,
                worker,
                backup,
            } => {
                let row = rows.entry(worker.clone()).or_default();
                let mark = if *backup { " backup" } else { "" };
                row.push(format!("[{task} #{attempt}{mark} {at}-"));
                open.insert(*attempt, (worker.clone(), row.len() - 1));
            }
            Event::Committed { at, attempt, .. } => {
                close(&mut rows, &mut open, *attempt, *at, "committed")
            }
            Event::Ended {
                at, attempt, why, ..
            } => {
                let how = match why {
                    Why::WorkerLost => "lost",
                    Why::Discarded => "discarded",
                    Why::InputMissing => "input missing",
                };
                close(&mut rows, &mut open, *attempt, *at, how);
            }
            Event::OutputLost { at, map, worker } => {
                rows.entry(worker.clone())
                    .or_default()
                    .push(format!("(map {map}'s output lost at {at})"));
            }
            Event::WorkerLost { at, worker } => {
                rows.entry(worker.clone())
                    .or_default()
                    .push(format!("<worker lost at {at}>"));
            }
        }
    }
    let mut out =
        String::from("timeline (ms; one row per worker; [task #attempt start-end how]):\n");
    let mut sorted: Vec<_> = rows.into_iter().collect();
    sorted.sort_by_key(|(_, row)| std::cmp::Reverse(row.len()));
    for (worker, row) in sorted.iter().take(ROWS) {
        let skipped = row.len().saturating_sub(CELLS);
        let shown = row[skipped..].join(" ");
        if skipped > 0 {
            let _ = writeln!(out, "  {worker:>6}: ({skipped} earlier) {shown}");
        } else {
            let _ = writeln!(out, "  {worker:>6}: {shown}");
        }
    }
    if sorted.len() > ROWS {
        let _ = writeln!(out, "  ... and {} more workers", sorted.len() - ROWS);
    }
    out
}

fn close(
    rows: &mut BTreeMap<String, Vec<String>>,
    open: &mut BTreeMap<u64, (String, usize)>,
    attempt: u64,
    at: u64,
    how: &str,
) {
    if let Some((worker, i)) = open.remove(&attempt)
        && let Some(cell) = rows.get_mut(&worker).and_then(|r| r.get_mut(i))
    {
        let _ = write!(cell, "{at} {how}]");
    }
}
