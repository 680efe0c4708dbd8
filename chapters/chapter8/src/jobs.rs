//! The given jobs: a word count, an inverted index and a distributed grep.
//!
//! Each is a [`Job`]: a map that reads one split and emits pairs, a reduce that folds a
//! key's values. Exercise 8.6 adds one of your own, a join of two inputs
//! ([`Join`](crate::join::Join)).

use crate::job::Job;

/// The words of `text`: runs of letters and digits, lowercased.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

// ANCHOR: wordcount
/// How many times each word appears in the whole input.
#[derive(Debug, Clone, Copy, Default)]
pub struct WordCount;

impl Job for WordCount {
    fn name(&self) -> &'static str {
        "wordcount"
    }
    fn map(&self, _file: &str, text: &str, emit: &mut dyn FnMut(String, String)) {
        for word in words(text) {
            emit(word, "1".into());
        }
    }
    fn reduce(&self, _key: &str, values: &[String]) -> Option<String> {
        Some(values.len().to_string())
    }
}
// ANCHOR_END: wordcount

/// For each word, the input files it appears in (sorted, each once).
#[derive(Debug, Clone, Copy, Default)]
pub struct InvertedIndex;

impl Job for InvertedIndex {
    fn name(&self) -> &'static str {
        "index"
    }
    fn map(&self, file: &str, text: &str, emit: &mut dyn FnMut(String, String)) {
        for word in words(text) {
            emit(word, file.to_string());
        }
    }
    fn reduce(&self, _key: &str, values: &[String]) -> Option<String> {
        let files: std::collections::BTreeSet<&str> = values.iter().map(String::as_str).collect();
        Some(files.into_iter().collect::<Vec<_>>().join(","))
    }
}

/// Every line that contains `pattern`, keyed by the line itself, with how many times
/// and in which files it appears.
#[derive(Debug, Clone, Default)]
pub struct Grep {
    pub pattern: String,
}

impl Job for Grep {
    fn name(&self) -> &'static str {
        "grep"
    }
    fn map(&self, file: &str, text: &str, emit: &mut dyn FnMut(String, String)) {
        for line in text.lines().filter(|l| l.contains(&self.pattern)) {
            emit(line.to_string(), file.to_string());
        }
    }
    fn reduce(&self, _key: &str, values: &[String]) -> Option<String> {
        let files: std::collections::BTreeSet<&str> = values.iter().map(String::as_str).collect();
        let files = files.into_iter().collect::<Vec<_>>().join(",");
        Some(format!("{} {files}", values.len()))
    }
}

/// The job called `name`: `wordcount`, `index`, `grep:<pattern>` or `join`.
pub fn by_name(name: &str) -> Option<std::sync::Arc<dyn Job + Send>> {
    match name {
        "wordcount" => Some(std::sync::Arc::new(WordCount)),
        "index" => Some(std::sync::Arc::new(InvertedIndex)),
        "join" => Some(std::sync::Arc::new(crate::join::Join)),
        _ => name.strip_prefix("grep:").map(|pattern| {
            std::sync::Arc::new(Grep {
                pattern: pattern.to_string(),
            }) as std::sync::Arc<dyn Job + Send>
        }),
    }
}
