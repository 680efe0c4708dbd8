//! What every chapter's command-line tool shares: one key-value command, as the CLI and
//! the demos run it and print it.

use std::fmt;

/// One key-value command, as the CLI and the demo run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kv {
    /// `get KEY`.
    Get {
        /// The key.
        key: String,
    },
    /// `put KEY VALUE [--if-version N]`.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// Write only if the key is at this version.
        if_version: Option<u64>,
    },
    /// `delete KEY`.
    Delete {
        /// The key.
        key: String,
    },
}

impl Kv {
    /// The key the command touches.
    pub fn key(&self) -> &str {
        match self {
            Kv::Get { key } | Kv::Put { key, .. } | Kv::Delete { key } => key,
        }
    }
}

impl fmt::Display for Kv {
    /// The command line that runs this command (keys and values quoted when needed).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quote = |s: &str| {
            if s.chars()
                .all(|c| c.is_alphanumeric() || "-_.:/".contains(c))
            {
                s.to_string()
            } else {
                format!("{s:?}")
            }
        };
        match self {
            Kv::Get { key } => write!(f, "get {}", quote(key)),
            Kv::Put {
                key,
                value,
                if_version,
            } => {
                write!(f, "put {} {}", quote(key), quote(value))?;
                if let Some(version) = if_version {
                    write!(f, " --if-version {version}")?;
                }
                Ok(())
            }
            Kv::Delete { key } => write!(f, "delete {}", quote(key)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_prints_as_the_line_that_runs_it() {
        let put = Kv::Put {
            key: "user:1".into(),
            value: "hello world".into(),
            if_version: Some(3),
        };
        assert_eq!(put.to_string(), "put user:1 \"hello world\" --if-version 3");
        assert_eq!(Kv::Get { key: "a b".into() }.to_string(), "get \"a b\"");
        assert_eq!(Kv::Delete { key: "k".into() }.key(), "k");
    }
}
