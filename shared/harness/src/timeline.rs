//! A timeline of one key's history as an HTML page with an inline SVG: one lane per
//! client, one bar per operation from its call to its return, labelled with what it
//! asked and what it got. Unknown outcomes run to the right edge, dashed. Events that are
//! not client calls (crashes, partitions, configuration changes: [`Event`]) are drawn as
//! red lines across every lane, on the same time axis, so the operation a fault preceded
//! is plain to see.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::history::{Event, Operation};

/// Writes the timeline of `key`'s operations, with `events` across it, under the
/// workspace's `target/` folder (or the system's temporary folder) and returns the page's
/// path.
pub fn write(key: &str, operations: &[Operation], events: &[Event]) -> std::io::Result<PathBuf> {
    save(key, &render(key, operations, events))
}

/// Writes the timeline of a whole run's calls (every key), with `events` across it, for a
/// run that broke a rule other than linearizability (`what`: which rule, how), and returns
/// the page's path. The failure happened at the right end.
pub fn write_run(
    what: &str,
    operations: &[Operation],
    events: &[Event],
) -> std::io::Result<PathBuf> {
    let html = format!(
        "<!doctype html><meta charset=\"utf-8\"><title>a failed run</title>\
         <h2>The run failed: {what}</h2>\
         <p>Each bar is one call of a client, on any key, from its call (left edge) to its \
         return (right edge); dashed bars never returned. Red lines are what happened to the \
         system meanwhile (crashes, partitions, configuration changes), on the same clock. The \
         failure was seen after the last of them. Hover a bar or a line for its full label.</p>{svg}",
        what = escape(what),
        svg = svg(operations, events, None, Scale::EventOrder)
    );
    save("run", &html)
}

/// Writes `html` to a new page named after `name` under `target/linearizability/`.
fn save(name: &str, html: &str) -> std::io::Result<PathBuf> {
    let dir = target_dir().join("linearizability");
    std::fs::create_dir_all(&dir)?;
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(40)
        .collect();
    // The clock alone is not unique: two tests of one process (or two processes)
    // may write the same key in the same tick, and one would truncate the other's
    // page while it is being read. The process id and a counter make each name new.
    static WRITTEN: AtomicU64 = AtomicU64::new(0);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let pid = std::process::id();
    let n = WRITTEN.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{safe}-{stamp}-{pid}-{n}.html"));
    std::fs::write(&path, html)?;
    Ok(path)
}

/// `$CARGO_TARGET_DIR`, else `target/` beside the nearest `Cargo.lock` above the
/// current directory, else the temporary folder.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| std::env::temp_dir());
    cwd.ancestors()
        .find(|dir| dir.join("Cargo.lock").exists())
        .map_or_else(std::env::temp_dir, |root| root.join("target"))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The page's HTML.
pub fn render(key: &str, operations: &[Operation], events: &[Event]) -> String {
    let faults = if events.is_empty() {
        ""
    } else {
        " Red lines are what happened to the system meanwhile (crashes, partitions, \
         configuration changes), on the same clock."
    };
    format!(
        "<!doctype html><meta charset=\"utf-8\"><title>history of {k}</title>\
         <h2>The history of key {k} is not linearizable</h2>\
         <p>Each bar is one operation, from its call (left edge) to its return (right edge). \
         Linearizability needs one instant inside every bar such that the operations, applied in that \
         order, give exactly the results shown. No such order exists. Dashed bars never returned: they may \
         have taken effect at any time after their call, or not at all.{faults} Hover a bar for its full label.</p>{svg}",
        k = escape(key),
        svg = svg(
            operations,
            &within(operations, events),
            None,
            Scale::RealTime
        )
    )
}

/// How a timeline places time along its width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// To scale: a bar's length is how long the call took.
    RealTime,
    /// In order: every call and return keeps its place in the order of all of them
    /// (which is all linearizability depends on), spaced so that every label fits.
    EventOrder,
}

/// Lane geometry: where the bars start, the width of a time-scaled drawing, a lane's
/// height, and the width of a label's character (12 px sans-serif, generously).
const LEFT: f64 = 110.0;
const WIDTH: f64 = 1000.0;
const LANE: f64 = 46.0;
const CHAR: f64 = 7.0;

fn label(op: &Operation) -> String {
    let output = op
        .output
        .as_ref()
        .map_or("unknown".to_string(), ToString::to_string);
    format!("{} → {output}", op.op)
}

/// Where a drawing puts things: every call's start and end (`None`: it never returned),
/// every event shown (its index in the events given, and its x), and the right edge.
struct Placed {
    calls: Vec<(f64, Option<f64>)>,
    events: Vec<(usize, f64)>,
    right: f64,
}

/// What happens at one instant of an event-ordered drawing. At one instant, returns come
/// first (a call at the instant another returned did not overlap it), then events, then
/// calls (a fault at the instant of a call is drawn before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mark {
    Return(usize),
    Event(usize),
    Call(usize),
}

/// The first and last instants of `operations` (calls and returns) and `events`.
fn span(operations: &[Operation], events: &[Event]) -> (u64, u64) {
    let times = || {
        operations
            .iter()
            .flat_map(|op| std::iter::once(op.invoke).chain(op.ret))
            .chain(events.iter().map(|e| e.at))
    };
    (times().min().unwrap_or(0), times().max().unwrap_or(0))
}

/// The events inside the operations' span (a key's history is a window of the run; the
/// faults outside it explain nothing in it).
fn within(operations: &[Operation], events: &[Event]) -> Vec<Event> {
    let (start, end) = span(operations, &[]);
    events
        .iter()
        .filter(|e| (start..=end).contains(&e.at))
        .cloned()
        .collect()
}

fn positions(operations: &[Operation], events: &[Event], scale: Scale) -> Placed {
    match scale {
        Scale::RealTime => {
            let (start, end) = span(operations, events);
            let end = end.max(start + 1);
            let span = (end - start) as f64 * 1.1;
            let x = |t: u64| LEFT + t.saturating_sub(start) as f64 / span * WIDTH;
            Placed {
                calls: operations
                    .iter()
                    .map(|op| (x(op.invoke), op.ret.map(x)))
                    .collect(),
                events: (0..events.len()).map(|i| (i, x(events[i].at))).collect(),
                right: LEFT + WIDTH,
            }
        }
        Scale::EventOrder => {
            let mut marks: Vec<(u64, Mark)> = Vec::new();
            for (i, op) in operations.iter().enumerate() {
                marks.push((op.invoke, Mark::Call(i)));
                if let Some(ret) = op.ret {
                    marks.push((ret, Mark::Return(i)));
                }
            }
            marks.extend(
                events
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (e.at, Mark::Event(i))),
            );
            marks.sort_unstable();
            let mut placed = Placed {
                calls: vec![(0.0, None); operations.len()],
                events: Vec::new(),
                right: 0.0,
            };
            let mut x = LEFT;
            for (_, mark) in marks {
                match mark {
                    Mark::Call(i) => {
                        x += 12.0;
                        placed.calls[i].0 = x;
                    }
                    Mark::Event(i) => {
                        x += 12.0;
                        placed.events.push((i, x));
                    }
                    Mark::Return(i) => {
                        let fits = placed.calls[i].0
                            + CHAR * label(&operations[i]).chars().count() as f64
                            + 10.0;
                        x = (x + 12.0).max(fits);
                        placed.calls[i].1 = Some(x);
                    }
                }
            }
            let unknown_room = operations
                .iter()
                .filter(|op| op.ret.is_none())
                .map(|op| CHAR * label(op).chars().count() as f64)
                .fold(0.0, f64::max);
            placed.right = x + unknown_room + 30.0;
            placed
        }
    }
}

/// The most rows of event labels above the lanes; past that, labels may overlap (each
/// keeps its full text in a tooltip).
const EVENT_ROWS: usize = 6;

/// The row of each placed event's label: the first whose last label ends before this one
/// starts (labels are 11 px: about 6 px a character), else the row that frees up first.
fn label_rows(placed: &[(usize, f64)], events: &[Event]) -> Vec<usize> {
    let mut ends: Vec<f64> = Vec::new();
    placed
        .iter()
        .map(|&(i, x)| {
            let end = x + 3.0 + 6.0 * events[i].what.chars().count() as f64 + 6.0;
            let row = match ends.iter().position(|&e| e <= x) {
                Some(row) => row,
                None if ends.len() < EVENT_ROWS => {
                    ends.push(0.0);
                    ends.len() - 1
                }
                None => (0..ends.len())
                    .min_by(|&a, &b| ends[a].total_cmp(&ends[b]))
                    .unwrap_or(0),
            };
            ends[row] = end;
            row
        })
        .collect()
}

/// The timeline itself, as a standalone SVG: one lane per client, one bar per call,
/// `events` as red lines across the lanes, under `title` if there is one (the book's
/// figures put the checker's verdict there).
pub fn svg(
    operations: &[Operation],
    events: &[Event],
    title: Option<&str>,
    scale: Scale,
) -> String {
    let placed = positions(operations, events, scale);
    let right = placed.right;
    let mut clients: Vec<usize> = operations.iter().map(|op| op.client).collect();
    clients.sort_unstable();
    clients.dedup();
    // The band of event labels, between the title and the lanes: each label goes in the
    // first row where it does not run into the one before it.
    let rows = label_rows(&placed.events, events);
    let band = match rows.iter().max() {
        None => 0.0,
        Some(last) => 8.0 + 14.0 * (last + 1) as f64,
    };
    let top = 40.0 + band;
    let height = top + 20.0 + LANE * clients.len() as f64;
    let title_width = title.map_or(0.0, |t| 8.0 + 8.0 * t.chars().count() as f64);
    let w = (right + 20.0).max(title_width);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {height}" width="{w}" height="{height}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>"#,
    );
    if let Some(title) = title {
        let _ = write!(
            svg,
            r#"<text x="8" y="22" font-size="14" font-weight="bold">{}</text>"#,
            escape(title)
        );
    }
    for (&(i, x), row) in placed.events.iter().zip(&rows) {
        let what = escape(&events[i].what);
        let label_y = 40.0 + 14.0 * *row as f64 + 10.0;
        let _ = write!(
            svg,
            r##"<g><title>{what}</title><line x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{height:.1}" stroke="#c0392b" stroke-dasharray="3 2"/><text x="{:.1}" y="{label_y:.1}" font-size="11" fill="#c0392b">{what}</text></g>"##,
            label_y - 9.0,
            x + 3.0,
        );
    }
    for (row, client) in clients.iter().enumerate() {
        let y = top + LANE * row as f64;
        let _ = write!(
            svg,
            r#"<text x="8" y="{}">client {client}</text>"#,
            y + 20.0
        );
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{right}" y1="{}" y2="{}" stroke="#ddd"/>"##,
            y + 30.0,
            y + 30.0
        );
        for (op, (x0, x1)) in operations
            .iter()
            .zip(&placed.calls)
            .filter(|(op, _)| op.client == *client)
        {
            let x1 = x1.unwrap_or(right).max(x0 + 2.0);
            let (fill, dash) = if op.ret.is_some() {
                ("#cfe3f6", "")
            } else {
                ("#eeeeee", r#" stroke-dasharray="4 3""#)
            };
            let label = escape(&label(op));
            let _ = write!(
                svg,
                r##"<g><title>{label}</title><rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="26" rx="3" fill="{fill}" stroke="#4a7fb0"{dash}/><text x="{:.1}" y="{:.1}">{label}</text></g>"##,
                x1 - x0,
                x0 + 4.0,
                y + 17.0
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{KvOp, KvOutput};

    #[test]
    fn two_pages_of_one_key_never_share_a_file() {
        // Written back to back from several threads, as parallel tests do: every
        // page gets its own file and keeps its own contents.
        let pages: Vec<PathBuf> = std::thread::scope(|scope| {
            let writers: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        (0..8)
                            .map(|_| write("x", &[], &[]).expect("the page is written"))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            writers
                .into_iter()
                .flat_map(|w| w.join().expect("a writer panicked"))
                .collect()
        });
        let distinct: std::collections::HashSet<_> = pages.iter().collect();
        assert_eq!(distinct.len(), pages.len(), "two pages were given one file");
        for page in &pages {
            let text = std::fs::read_to_string(page).expect("the page is readable");
            assert!(
                text.contains("<svg"),
                "{} lost its contents",
                page.display()
            );
            std::fs::remove_file(page).expect("the page is removed");
        }
    }

    fn op(client: usize, invoke: u64, ret: Option<u64>, value: &str) -> Operation {
        Operation {
            client,
            op: KvOp::Put {
                key: "k".into(),
                value: value.into(),
                if_version: None,
            },
            invoke,
            ret,
            output: ret.map(|_| KvOutput::Written { version: 1 }),
            failed: false,
        }
    }

    #[test]
    fn in_event_order_every_before_and_overlap_is_kept_and_labels_fit() {
        // a (0..10) ends before b (20..50) starts; c (30..40) lies inside b; d never returns.
        let ops = [
            op(0, 0, Some(10), "a"),
            op(0, 20, Some(50), "b"),
            op(1, 30, Some(40), "a much longer value than the others"),
            op(2, 45, None, "d"),
        ];
        let Placed {
            calls: placed,
            right,
            ..
        } = positions(&ops, &[], Scale::EventOrder);
        let end = |i: usize| placed[i].1.expect("returned");
        assert!(end(0) < placed[1].0, "a before b");
        assert!(placed[1].0 < placed[2].0 && end(2) < end(1), "c inside b");
        assert!(placed[3].0 < end(1), "d starts before b returns");
        assert_eq!(placed[3].1, None, "d runs to the edge");
        for (i, op) in ops.iter().enumerate().take(3) {
            let needed = CHAR * label(op).chars().count() as f64;
            assert!(
                end(i) - placed[i].0 >= needed,
                "{}'s label fits its bar",
                op.op
            );
        }
        assert!(right > end(1));
    }

    #[test]
    fn events_sit_between_the_calls_they_fell_between_on_both_scales() {
        // a (0..10), a crash at 15, b (20..50), a configuration change at 50 (as b
        // returns: drawn after the return), an event outside the span (not drawn).
        let ops = [op(0, 0, Some(10), "a"), op(1, 20, Some(50), "b")];
        let events = [
            Event {
                at: 15,
                what: "crash 2".into(),
            },
            Event {
                at: 50,
                what: "configuration 3".into(),
            },
            Event {
                at: 500,
                what: "heal".into(),
            },
        ];
        let shown = within(&ops, &events);
        assert_eq!(shown.len(), 2, "the event at 500 is outside the history");
        for scale in [Scale::RealTime, Scale::EventOrder] {
            let placed = positions(&ops, &shown, scale);
            let end = |i: usize| placed.calls[i].1.expect("returned");
            assert_eq!(placed.events.len(), 2);
            let (crash, change) = (placed.events[0], placed.events[1]);
            assert_eq!((crash.0, change.0), (0, 1));
            assert!(
                end(0) < crash.1 && crash.1 < placed.calls[1].0,
                "{scale:?}: the crash falls between a and b"
            );
            assert!(
                change.1 >= end(1),
                "{scale:?}: the change is at b's return or after"
            );
        }
        let page = render("k", &ops, &events);
        assert!(page.contains("crash 2") && page.contains("configuration 3"));
        assert!(
            !page.contains("heal"),
            "a key's page draws only the events within its history"
        );
        let whole = svg(&ops, &events, None, Scale::RealTime);
        assert!(
            whole.contains("heal"),
            "a drawing draws every event it is given"
        );
    }
}
