//! Every link between the book's pages leads somewhere: the page exists and, if the link
//! names a section (`rules.html#exercise-52-granting-votes`), the page has that section.
//! mdBook itself checks neither. Run on the built book, where heading ids are final.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::workspace::Workspace;

pub fn check(ws: &Workspace) -> anyhow::Result<()> {
    let built = ws.root.join("book/book");
    let pages = crate::workspace::files_ending(&built, "html")?;
    let mut ids: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut texts = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page)?;
        ids.insert(
            page.clone(),
            attribute_values(&text, "id=\"")
                .map(str::to_string)
                .collect(),
        );
        texts.push((page, text));
    }
    let (mut problems, mut count) = (Vec::new(), 0);
    for (page, text) in &texts {
        let dir = page.parent().context("a page has a folder")?;
        for href in attribute_values(text, "href=\"") {
            let Some((target, fragment)) = local(href) else {
                continue;
            };
            count += 1;
            let file = if target.is_empty() {
                page.to_path_buf()
            } else {
                normalize(&dir.join(target))
            };
            let shown = page.strip_prefix(&built).unwrap_or(page).display();
            match ids.get(&file) {
                None if !file.exists() => problems.push(format!("{shown}: {href}: no such page")),
                Some(known) if fragment.is_some_and(|f| !known.contains(f)) => {
                    problems.push(format!("{shown}: {href}: no such section"));
                }
                _ => {}
            }
        }
    }
    if !problems.is_empty() {
        bail!("broken links in the book:\n  {}", problems.join("\n  "));
    }
    println!("{count} links between the book's pages resolve");
    Ok(())
}

/// A link to one of the book's own pages: (the page, relative; its section). External
/// links, `mailto:`, and links to files that are not pages are left out.
fn local(href: &str) -> Option<(&str, Option<&str>)> {
    if href.contains("://") || href.starts_with("mailto:") || href.starts_with("javascript:") {
        return None;
    }
    let (target, fragment) = match href.split_once('#') {
        Some((t, f)) => (t, Some(f)),
        None => (href, None),
    };
    (target.is_empty() || target.ends_with(".html"))
        .then_some((target, fragment.filter(|f| !f.is_empty())))
}

/// Every value of `attribute` (given with its `="`) in `text`.
fn attribute_values<'a>(text: &'a str, attribute: &'a str) -> impl Iterator<Item = &'a str> {
    text.match_indices(attribute).filter_map(move |(at, _)| {
        let rest = &text[at + attribute.len()..];
        rest.find('"').map(|end| &rest[..end])
    })
}

/// `a/b/../c` as `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_links_to_the_books_pages_are_checked() {
        assert_eq!(
            local("rules.html#exercise-52"),
            Some(("rules.html", Some("exercise-52")))
        );
        assert_eq!(local("#top"), Some(("", Some("top"))));
        assert_eq!(
            local("../chapter1/index.html"),
            Some(("../chapter1/index.html", None))
        );
        assert_eq!(local("https://raft.github.io/"), None);
        assert_eq!(local("figures/chapter1-bench.svg"), None);
    }

    #[test]
    fn parent_folders_are_folded() {
        assert_eq!(
            normalize(Path::new("/b/book/chapter5/../appendix/x.html")),
            PathBuf::from("/b/book/appendix/x.html")
        );
    }
}
