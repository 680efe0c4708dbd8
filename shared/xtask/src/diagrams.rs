//! Every ```` ```mermaid ```` diagram in the book parses. The book draws its diagrams in
//! the reader's browser, so a syntax error (a `;` in a sequence diagram's message, say)
//! shows only as "Syntax error in text" on the page. This check hands every diagram to
//! the vendored mermaid's own parser in headless Chromium and fails naming the page and
//! line of each one it refuses.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::workspace::Workspace;

/// Set to require the check (CI does): without it, a machine with no Chromium skips it.
const REQUIRE: &str = "XTASK_REQUIRE_BROWSER";

/// A diagram: where it starts (`page:line`) and its text.
#[derive(serde::Serialize)]
struct Diagram {
    at: String,
    text: String,
}

pub fn check(ws: &Workspace) -> anyhow::Result<()> {
    let diagrams = collect(ws)?;
    let Some(browser) = browser() else {
        if std::env::var_os(REQUIRE).is_some() {
            bail!("no Chromium to parse the book's diagrams with (apt install chromium)");
        }
        println!(
            "skipped: no Chromium on this machine to parse the book's {} diagrams",
            diagrams.len()
        );
        return Ok(());
    };
    let dir = ws.root.join("target/xtask/diagrams");
    std::fs::create_dir_all(&dir)?;
    let page = dir.join("check.html");
    std::fs::write(&page, html(ws, &diagrams)?)?;
    let mut command = Command::new(&browser);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
            "--virtual-time-budget=20000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()));
    let out = crate::workspace::output_within(&mut command, LIMIT)
        .with_context(|| format!("running {browser}"))?;
    let dom = String::from_utf8_lossy(&out.stdout);
    let report = between(&dom, "<pre id=\"out\">", "</pre>")
        .map(|r| {
            r.replace("&gt;", ">")
                .replace("&lt;", "<")
                .replace("&amp;", "&")
        })
        .unwrap_or_default();
    let errors: Vec<&str> = report.lines().filter(|l| l.starts_with("ERROR")).collect();
    let parsed = report.lines().filter(|l| l.starts_with("ok")).count();
    if !errors.is_empty() {
        bail!("diagrams that do not parse:\n  {}", errors.join("\n  "));
    }
    if parsed != diagrams.len() {
        bail!(
            "the diagram check did not finish: {parsed} of {} parsed ({browser} said: {})",
            diagrams.len(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("nothing")
        );
    }
    println!("{parsed} diagrams parse");
    Ok(())
}

fn collect(ws: &Workspace) -> anyhow::Result<Vec<Diagram>> {
    let mut diagrams = Vec::new();
    let mut pages = crate::workspace::files_ending(&ws.root.join("book/src"), "md")?;
    pages.sort();
    for page in pages {
        let text = std::fs::read_to_string(&page)?;
        let shown = page
            .strip_prefix(&ws.root)
            .unwrap_or(&page)
            .display()
            .to_string();
        let mut current: Option<(usize, Vec<&str>)> = None;
        for (i, line) in text.lines().enumerate() {
            match &mut current {
                None if line.trim_start().starts_with("```mermaid") => {
                    current = Some((i + 1, Vec::new()))
                }
                Some((start, lines)) if line.trim_start().starts_with("```") => {
                    diagrams.push(Diagram {
                        at: format!("{shown}:{start}"),
                        text: lines.join("\n"),
                    });
                    current = None;
                }
                Some((_, lines)) => lines.push(line),
                None => {}
            }
        }
    }
    Ok(diagrams)
}

/// A page that parses every diagram with the vendored mermaid and lists the results.
fn html(ws: &Workspace, diagrams: &[Diagram]) -> anyhow::Result<String> {
    let script = ws.root.join("book/vendor/mermaid/mermaid.min.js");
    let json = serde_json::to_string(diagrams)?.replace("</", "<\\/");
    Ok(format!(
        r#"<!doctype html><meta charset="utf-8"><script src="file://{script}"></script>
<pre id="out"></pre><script>
const diagrams = {json};
mermaid.initialize({{ startOnLoad: false }});
(async () => {{
  const out = [];
  for (const d of diagrams) {{
    try {{ await mermaid.parse(d.text); out.push('ok ' + d.at); }}
    catch (e) {{ out.push('ERROR ' + d.at + ': ' + String(e.message || e).split('\n').slice(0, 3).join(' | ')); }}
  }}
  document.getElementById('out').textContent = out.join('\n');
}})();
</script>"#,
        script = script.display()
    ))
}

/// How long the browser may take: it parses a few diagrams in a second or two; a browser
/// that hangs must fail the check, not the CI run.
const LIMIT: Duration = Duration::from_secs(120);

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

/// The first Chromium on `PATH`.
fn browser() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::workspace::output_within;

    #[test]
    fn a_command_that_hangs_is_killed_at_the_limit_and_one_that_ends_is_read_whole() {
        let mut hang = Command::new("sleep");
        hang.arg("30");
        let started = Instant::now();
        assert!(output_within(&mut hang, Duration::from_millis(200)).is_err());
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "killed, not waited for"
        );
        let mut echo = Command::new("echo");
        echo.arg("<pre id=\"out\">ok a</pre>");
        let out = output_within(&mut echo, Duration::from_secs(10)).expect("echo ends");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(between(&text, "<pre id=\"out\">", "</pre>"), Some("ok a"));
    }
}
