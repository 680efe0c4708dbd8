//! The HTTP client every node, CLI and test uses to reach a node.

use std::time::Duration;

/// A reqwest client for node-to-node calls, the CLIs and tests: no proxy from the
/// environment, no idle pooled connections (so none can outlive a killed node), and a
/// timeout.
pub fn client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(timeout)
        .build()?)
}
