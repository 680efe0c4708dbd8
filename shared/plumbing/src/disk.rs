//! The file abstraction storage code is written against, and the real file system
//! behind it.
//!
//! Chapters write their logs and snapshots through [`Disk`] and [`AppendFile`], never
//! through `std::fs` directly, so that the tests can swap in the harness's simulated disk,
//! which loses what was not synced when it "crashes". [`write_atomically`] is the one way
//! a whole file (a snapshot, a term and vote, a ring) is replaced.

use std::fmt;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `dir/name` atomically: a temporary file, fsync, rename over the
/// old file, fsync the directory. After a crash the file holds the old bytes or the new
/// ones, never a mix (the temporary file may be left behind).
pub fn write_atomically(disk: &dyn Disk, dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let temp = dir.join(format!("{name}.tmp"));
    disk.write_file(&temp, bytes)?;
    disk.sync_file(&temp)?;
    disk.rename(&temp, &dir.join(name))?;
    disk.sync_dir(dir)
}

/// A file system as storage code sees it. Paths are plain paths; directories are
/// created with [`Disk::create_dir_all`].
pub trait Disk: Send + Sync + fmt::Debug {
    /// Opens `path` for appending, creating it empty if it does not exist.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn AppendFile>>;
    /// The whole content of `path`.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Creates or replaces `path` with `bytes` (not synced).
    fn write_file(&self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// Makes `path`'s content durable (`fsync`).
    fn sync_file(&self, path: &Path) -> io::Result<()>;
    /// Makes the entries of directory `dir` durable: files created, renamed or removed
    /// in it survive a crash only after this.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Cuts `path` to `len` bytes (not synced).
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Renames `from` to `to`, replacing `to` (not durable until [`Disk::sync_dir`]).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes the file `path` (not durable until [`Disk::sync_dir`]).
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// The files directly inside `dir`, sorted.
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
    /// Creates `dir` and its parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
}

/// A file open for appending: the shape of a log.
pub trait AppendFile: Send + fmt::Debug {
    /// Appends `bytes` at the end (not synced).
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Makes everything appended so far durable (`fdatasync`).
    fn sync(&mut self) -> io::Result<()>;
    /// The file's length in bytes.
    fn len(&self) -> u64;
    /// Whether the file is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The real file system, through `std::fs`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealDisk;

#[derive(Debug)]
struct RealAppendFile {
    file: std::fs::File,
}

impl AppendFile for RealAppendFile {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
    fn len(&self) -> u64 {
        // Asked of the file, not counted here: compaction truncates through the path.
        self.file.metadata().map_or(0, |m| m.len())
    }
}

impl Disk for RealDisk {
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn AppendFile>> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Box::new(RealAppendFile { file }))
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn write_file(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        std::fs::write(path, bytes)
    }
    fn sync_file(&self, path: &Path) -> io::Result<()> {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)?
            .sync_all()
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        std::fs::File::open(dir)?.sync_all()
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)?
            .set_len(len)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                files.push(entry.path());
            }
        }
        files.sort();
        Ok(files)
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }
}
