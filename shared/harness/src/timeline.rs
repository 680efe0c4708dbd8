//! A timeline of one key's history as an HTML page with an inline SVG: one lane per
//! client, one bar per operation from its call to its return, labelled with what it
//! asked and what it got. Unknown outcomes run to the right edge, dashed.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::history::Operation;

/// Writes the timeline of `key`'s operations under the workspace's `target/` folder
/// (or the system's temporary folder) and returns the page's path.
pub fn write(key: &str, operations: &[Operation]) -> std::io::Result<PathBuf> {
    let dir = target_dir().join("linearizability");
    std::fs::create_dir_all(&dir)?;
    let safe: String = key
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
    std::fs::write(&path, render(key, operations))?;
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
pub fn render(key: &str, operations: &[Operation]) -> String {
    format!(
        "<!doctype html><meta charset=\"utf-8\"><title>history of {k}</title>\
         <h2>The history of key {k} is not linearizable</h2>\
         <p>Each bar is one operation, from its call (left edge) to its return (right edge). \
         Linearizability needs one instant inside every bar such that the operations, applied in that \
         order, give exactly the results shown. No such order exists. Dashed bars never returned: they may \
         have taken effect at any time after their call, or not at all. Hover a bar for its full label.</p>{svg}",
        k = escape(key),
        svg = svg(operations, None, Scale::RealTime)
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

/// The x of every call's start and end (`None`: it never returned), and the right edge.
fn positions(operations: &[Operation], scale: Scale) -> (Vec<(f64, Option<f64>)>, f64) {
    match scale {
        Scale::RealTime => {
            let start = operations.iter().map(|op| op.invoke).min().unwrap_or(0);
            let end = operations
                .iter()
                .filter_map(|op| op.ret)
                .chain(operations.iter().map(|op| op.invoke))
                .max()
                .unwrap_or(start + 1)
                .max(start + 1);
            let span = (end - start) as f64 * 1.1;
            let x = |t: u64| LEFT + t.saturating_sub(start) as f64 / span * WIDTH;
            let placed = operations
                .iter()
                .map(|op| (x(op.invoke), op.ret.map(x)))
                .collect();
            (placed, LEFT + WIDTH)
        }
        Scale::EventOrder => {
            // Every call and return, in time order (a return before a call at the same
            // instant: the call did not overlap it).
            let mut events: Vec<(u64, bool, usize)> = Vec::new();
            for (i, op) in operations.iter().enumerate() {
                events.push((op.invoke, true, i));
                if let Some(ret) = op.ret {
                    events.push((ret, false, i));
                }
            }
            events.sort_unstable();
            let mut placed: Vec<(f64, Option<f64>)> = vec![(0.0, None); operations.len()];
            let mut x = LEFT;
            for (_, is_call, i) in events {
                if is_call {
                    x += 12.0;
                    placed[i].0 = x;
                } else {
                    let fits =
                        placed[i].0 + CHAR * label(&operations[i]).chars().count() as f64 + 10.0;
                    x = (x + 12.0).max(fits);
                    placed[i].1 = Some(x);
                }
            }
            let unknown_room = operations
                .iter()
                .filter(|op| op.ret.is_none())
                .map(|op| CHAR * label(op).chars().count() as f64)
                .fold(0.0, f64::max);
            (placed, x + unknown_room + 30.0)
        }
    }
}

/// The timeline itself, as a standalone SVG: one lane per client, one bar per call,
/// under `title` if there is one (the book's figures put the checker's verdict there).
pub fn svg(operations: &[Operation], title: Option<&str>, scale: Scale) -> String {
    let (placed, right) = positions(operations, scale);
    let mut clients: Vec<usize> = operations.iter().map(|op| op.client).collect();
    clients.sort_unstable();
    clients.dedup();
    let height = 60.0 + LANE * clients.len() as f64;
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
    for (row, client) in clients.iter().enumerate() {
        let y = 40.0 + LANE * row as f64;
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
            .zip(&placed)
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
                            .map(|_| write("x", &[]).expect("the page is written"))
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
        let (placed, right) = positions(&ops, Scale::EventOrder);
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
}
