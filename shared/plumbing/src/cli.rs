//! What every chapter's command-line tool shares: how `main` runs and reports, the logs,
//! the cluster key's flag, saving results, and one key-value command as the CLI and the
//! demos run it and print it.

use std::fmt;
use std::future::Future;
use std::io::IsTerminal as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use tracing_subscriber::EnvFilter;

/// Runs a command on a fresh multi-threaded runtime and turns its outcome into the exit
/// code: an error is printed as one line a person can act on (`error: key "x" not
/// found`, with its causes after colons).
pub fn main<F>(run: F) -> ExitCode
where
    F: Future<Output = anyhow::Result<()>>,
{
    let outcome = tokio::runtime::Runtime::new()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(run));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Sends the logs to stderr (coloured on a terminal), filtered by `RUST_LOG` when it is
/// set and by `default` otherwise (`info` for a serving node, `warn` for a one-shot
/// command).
pub fn init_logs(default: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Writes a benchmark's results as pretty JSON (what `cargo xtask figures` reads).
pub fn save_json<T: serde::Serialize>(out: &Path, results: &T) -> anyhow::Result<()> {
    std::fs::write(out, serde_json::to_string_pretty(results)?)
        .with_context(|| format!("writing {}", out.display()))?;
    eprintln!("results written to {}", out.display());
    Ok(())
}

/// The cluster's secret, as a flag or from `KV_CLUSTER_KEY`.
#[derive(Debug, clap::Args)]
pub struct KeyArg {
    /// The cluster's secret (16 to 256 characters), required on internal routes and
    /// membership changes; needed to serve any address but loopback.
    #[arg(long, env = "KV_CLUSTER_KEY", hide_env_values = true)]
    pub cluster_key: Option<String>,
}

impl KeyArg {
    /// The key, checked; with no flag, none (a node then serves loopback only).
    pub fn key(&self) -> anyhow::Result<crate::cluster_key::ClusterKey> {
        crate::cluster_key::ClusterKey::from_option(self.cluster_key.as_deref())
            .map_err(anyhow::Error::msg)
    }
}

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
