//! Every assertion in a test says the rule it checks: no `assert!(x)` or `assert_eq!(a,
//! b)` without a message. A student reads a failing test's message before its code; a
//! bare assertion tells them what differed, never which rule broke.

use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::workspace::Workspace;

/// The assertion macros and how many arguments they take before their message.
const MACROS: &[(&str, usize)] = &[
    ("assert!(", 1),
    ("assert_eq!(", 2),
    ("assert_ne!(", 2),
    ("debug_assert!(", 1),
    ("debug_assert_eq!(", 2),
];

/// Every test file of the chapters and the harness: no bare assertion.
pub(super) fn tests_name_their_rules(ws: &Workspace) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for chapter in ws.chapters()? {
        collect(
            &ws.root.join(format!("chapters/{}/tests", chapter.name())),
            &mut files,
        );
    }
    collect(&ws.root.join("shared/harness/tests"), &mut files);
    let mut bare = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file)?;
        for line in bare_assertions(&source) {
            bare.push(format!(
                "{}:{line}",
                file.strip_prefix(&ws.root).unwrap_or(file).display()
            ));
        }
    }
    if !bare.is_empty() {
        bail!(
            "{} assertions in tests have no message: add one that names the rule they check\n  {}",
            bare.len(),
            bare.join("\n  ")
        );
    }
    println!("{} test files: every assertion names its rule", files.len());
    Ok(())
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The lines (1-based) of `source` with an assertion that carries no message.
fn bare_assertions(source: &str) -> Vec<usize> {
    let bytes = source.as_bytes();
    let mut lines = Vec::new();
    for (name, before_message) in MACROS {
        let mut from = 0;
        while let Some(at) = source[from..].find(name).map(|i| from + i) {
            from = at + name.len();
            // `debug_assert!(` contains `assert!(`: count each call once.
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            if arguments(&source[at + name.len() - 1..]) <= *before_message {
                lines.push(source[..at].matches('\n').count() + 1);
            }
        }
    }
    lines.sort_unstable();
    lines
}

/// How many arguments the call whose `(` starts `text` has (a trailing comma adds none).
fn arguments(text: &str) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let (mut depth, mut count, mut i) = (0usize, 1usize, 0usize);
    while i < chars.len() {
        match chars[i] {
            '"' => i = skip_string(&chars, i),
            'r' if matches!(chars.get(i + 1), Some('"' | '#'))
                && !chars
                    .get(i.wrapping_sub(1))
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') =>
            {
                i = skip_raw_string(&chars, i);
            }
            '\'' => {
                // A char literal ('x', '\n', '\u{1F600}'), not a lifetime.
                if let Some(end) = (i + 2..(i + 12).min(chars.len())).find(|&j| chars[j] == '\'')
                    && (chars[i + 1] == '\\' || end == i + 2)
                {
                    i = end;
                }
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return count;
                }
            }
            ',' if depth == 1 => {
                let rest: String = chars[i + 1..].iter().collect();
                if !rest.trim_start().starts_with(')') {
                    count += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    count
}

/// The index of the `"` that closes the string opened at `start`.
fn skip_string(chars: &[char], start: usize) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '"' => return i,
            _ => {}
        }
        i += 1;
    }
    i
}

/// The index of the last character of the raw string `r#"..."#` opened at `start`.
fn skip_raw_string(chars: &[char], start: usize) -> usize {
    let hashes = chars[start + 1..].iter().take_while(|c| **c == '#').count();
    let mut i = start + 1 + hashes + 1;
    while i < chars.len() {
        if chars[i] == '"'
            && chars[i + 1..]
                .iter()
                .take(hashes)
                .filter(|c| **c == '#')
                .count()
                == hashes
        {
            return i + hashes;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assertion_without_a_message_is_found_and_one_with_a_message_is_not() {
        let source = r##"
fn t() {
    assert!(x);
    assert!(x, "the rule");
    assert_eq!(f(a, b), [1, 2]);
    assert_eq!(f(a, b), [1, 2], "the rule: {}", 3);
    assert_eq!(
        r#"a, b"#,
        "c, d",
    );
    debug_assert!(y > ',' as u8);
    assert_ne!(s, "x,y", "differ");
}
"##;
        assert_eq!(
            bare_assertions(source),
            [3, 5, 7, 11],
            "the bare ones, whatever commas hide in strings, chars and calls"
        );
    }
}
