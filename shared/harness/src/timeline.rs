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
    let start = operations.iter().map(|op| op.invoke).min().unwrap_or(0);
    let known_end = operations
        .iter()
        .filter_map(|op| op.ret)
        .chain(operations.iter().map(|op| op.invoke))
        .max();
    let end = known_end.unwrap_or(start + 1).max(start + 1);
    let span = (end - start) as f64 * 1.1;
    let mut clients: Vec<usize> = operations.iter().map(|op| op.client).collect();
    clients.sort_unstable();
    clients.dedup();
    let (left, width, lane) = (110.0, 1000.0, 46.0);
    let x = |t: u64| left + (t.saturating_sub(start)) as f64 / span * width;
    let height = 60.0 + lane * clients.len() as f64;

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" font-family="sans-serif" font-size="12">"#,
        w = left + width + 20.0
    );
    for (row, client) in clients.iter().enumerate() {
        let y = 40.0 + lane * row as f64;
        let _ = write!(
            svg,
            r#"<text x="8" y="{}">client {client}</text>"#,
            y + 20.0
        );
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{}" y2="{}" stroke="#ddd"/>"##,
            left + width,
            y + 30.0,
            y + 30.0
        );
        for op in operations.iter().filter(|op| op.client == *client) {
            let x0 = x(op.invoke);
            let x1 = op.ret.map_or(left + width, x).max(x0 + 2.0);
            let (fill, dash) = if op.ret.is_some() {
                ("#cfe3f6", "")
            } else {
                ("#eeeeee", r#" stroke-dasharray="4 3""#)
            };
            let output = op
                .output
                .as_ref()
                .map_or("unknown".to_string(), ToString::to_string);
            let label = escape(&format!("{} → {output}", op.op));
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
    format!(
        "<!doctype html><meta charset=\"utf-8\"><title>history of {k}</title>\
         <h2>The history of key {k} is not linearizable</h2>\
         <p>Each bar is one operation, from its call (left edge) to its return (right edge). \
         Linearizability needs one instant inside every bar such that the operations, applied in that \
         order, give exactly the results shown. No such order exists. Dashed bars never returned: they may \
         have taken effect at any time after their call, or not at all. Hover a bar for its full label.</p>{svg}",
        k = escape(key)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
