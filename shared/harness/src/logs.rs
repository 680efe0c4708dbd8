//! A node's `tracing` events in tests, on demand: with `RUST_LOG` set (the same filter
//! syntax as the binaries, e.g. `RUST_LOG=chapter5=debug`), the harness prints every
//! event of every node it starts, each line with its thread's name (`node-2#5`: node 2,
//! in the fifth node run of this process; a restart takes a new number). The lines go
//! through the test's captured output: shown when the test fails, or always with
//! `-- --nocapture`. Without `RUST_LOG`, nothing is installed and nothing is printed.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// Installs the subscriber once per test process if `RUST_LOG` is set. Called by
/// everything in the harness that starts nodes or a simulation; harmless to call again,
/// and a no-op if the test installed a subscriber of its own.
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Ok(filter) = EnvFilter::try_from_default_env() else {
            return; // unset (or not a filter): stay quiet
        };
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .with_thread_names(true)
            .with_target(false)
            .with_ansi(std::io::stdout().is_terminal())
            .try_init();
    });
}
