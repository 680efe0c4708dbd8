//! Process mode: a chapter's real binary as a child process, killed with SIGKILL.
//!
//! In-process nodes crash by dropping their runtime, which is faithful for a node's
//! memory but not for its files: the process lives on, and so do its open file
//! descriptors. A real `kill -9` ends the process, so a test of "every acknowledged
//! write survives a crash" should also be run this way. (Neither catches a missing
//! `fsync`; the simulated disk does: see [`crate::disk`].)
//!
//! The child's standard output and error go to a log file in its data directory;
//! [`ProcessNode::log`] returns it, for a failing test to print.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;

use crate::cluster::http_client;
use crate::eventually;

/// Builds the child's arguments from its address and data directory.
pub type Args = Box<dyn Fn(SocketAddr, &Path) -> Vec<String> + Send + Sync>;

/// A node running as a child process.
pub struct ProcessNode {
    program: PathBuf,
    args: Args,
    addr: SocketAddr,
    data_dir: PathBuf,
    _temp: tempfile::TempDir,
    child: Option<Child>,
}

impl std::fmt::Debug for ProcessNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessNode")
            .field("program", &self.program)
            .field("addr", &self.addr)
            .finish()
    }
}

impl ProcessNode {
    /// Starts `program` with the arguments `args(addr, data_dir)` for a free loopback
    /// address and a fresh data directory, and waits until `GET /health` answers 200.
    ///
    /// In a chapter's integration test the program is `env!("CARGO_BIN_EXE_chapterN")`.
    pub async fn start(
        program: impl Into<PathBuf>,
        args: impl Fn(SocketAddr, &Path) -> Vec<String> + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        // Ask the kernel for a free port, then hand it to the child. (The port could in
        // principle be taken in between; on loopback in a test that does not happen.)
        let addr = std::net::TcpListener::bind((crate::loopback::fresh(), 0))?.local_addr()?;
        let temp = tempfile::Builder::new().prefix("process-node-").tempdir()?;
        let mut node = ProcessNode {
            program: program.into(),
            args: Box::new(args),
            addr,
            data_dir: temp.path().to_path_buf(),
            _temp: temp,
            child: None,
        };
        node.spawn().await?;
        Ok(node)
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let child = Command::new(&self.program)
            .args((self.args)(self.addr, &self.data_dir))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.program.display()))?;
        self.child = Some(child);
        let (client, url) = (
            http_client(Duration::from_secs(2))?,
            format!("{}/health", self.url()),
        );
        let result = eventually(
            Duration::from_secs(20),
            &format!("{} to answer /health", self.program.display()),
            || {
                let (client, url) = (client.clone(), url.clone());
                async move {
                    match client.get(&url).send().await {
                        Ok(r) if r.status().is_success() => Ok(()),
                        Ok(r) => Err(format!("status {}", r.status())),
                        Err(e) => Err(e.to_string()),
                    }
                }
            },
        )
        .await;
        result.with_context(|| format!("its log:\n{}", self.log()))
    }

    fn log_path(&self) -> PathBuf {
        self.data_dir.join("process.log")
    }

    /// Everything the child printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// `http://<address>:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The child's data directory (kept across restarts).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// SIGKILL: the process ends at once, whatever it was doing.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill(); // SIGKILL on Unix
            let _ = child.wait();
        }
    }

    /// Kills the child if it runs, and starts it again with the same address and data.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.spawn().await
    }
}

impl Drop for ProcessNode {
    fn drop(&mut self) {
        self.kill();
    }
}
