//! The file abstraction storage code is written against, with a real implementation
//! and a simulated one that can crash.
//!
//! `kill -9` cannot catch a missing `fsync`: the operating system still holds the
//! unsynced bytes in its page cache and writes them out later, so the data survives a
//! process crash and the bug stays hidden until the *machine* loses power. The
//! [`SimDisk`] makes that loss happen on demand. Its [`SimDisk::crash`]:
//!
//! - keeps every byte that was synced ([`AppendFile::sync`], [`Disk::sync_file`]);
//! - of an append-only file's unsynced tail, keeps nothing, or (decided by the seed) a
//!   prefix that ends inside a write: a **torn write**, whose surviving bytes may even
//!   read as zeros (the file's size reached the disk before its data did); or, as a real
//!   page cache may (it writes dirty pages back in any order: Pillai et al., OSDI 2014),
//!   **any subset of its blocks**, the others reading as zeros, so that damage can be
//!   followed by intact unsynced bytes ([`CrashMode::Reordered`]);
//! - of a file **rewritten in place** since its last sync ([`Disk::write_file`] over an
//!   existing file), keeps the old content, or (decided by the seed) a mix block by
//!   block of old and new, its length the old or the new one: a rewrite is many block
//!   writes, and power can fail between any two ([`CrashMode::Torn`] keeps the new
//!   blocks up to a point, [`CrashMode::Reordered`] any subset). Writing a file that must
//!   survive whole in place, instead of to a temporary file renamed over it, loses it;
//! - of a file **truncated** since its last sync, keeps the old content, or only part of
//!   the truncation (any length between the new and the old, old bytes), or the
//!   truncation with what was appended after it torn like any unsynced tail: a large
//!   truncation is carried out in steps, each its own transaction;
//! - forgets directory changes (create, rename, remove) not made durable with
//!   [`Disk::sync_dir`], as a real file system may.
//!
//! It can also fail on purpose: a full disk ([`SimDisk::set_full`]), failing syncs
//! ([`SimDisk::set_failing_syncs`]) and one failing sync at a chosen point
//! ([`SimDisk::fail_sync`], as [`SimDisk::crash_during_sync`] crashes at one), so a
//! node's error paths get tested too, after every step of a multi-step operation.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

pub use plumbing::disk::{AppendFile, Disk, RealDisk, write_atomically};

mod crash;
pub use crash::{BLOCK_BYTES, CrashMode, CrashReport};

/// An in-memory disk that can crash. Cloning it gives another handle on the same disk,
/// so a restarted node can be handed the disk its previous incarnation wrote.
///
/// Give the code under test a [`SimDisk::mount`]ed handle: after a crash, every
/// operation through it fails, as it would for a machine that lost power. Without that,
/// a thread of the "crashed" program that is still running (a committer in the middle
/// of a compaction, say) could go on renaming and truncating files on the disk the
/// restarted program is already using. The test keeps the unmounted handle, which
/// outlives crashes.
///
/// ```
/// use std::path::Path;
/// use harness::disk::{CrashMode, Disk, SimDisk};
///
/// let disk = SimDisk::new(7);
/// disk.create_dir_all(Path::new("/data")).unwrap();
/// let mut log = disk.open_append(Path::new("/data/log")).unwrap();
/// disk.sync_dir(Path::new("/data")).unwrap(); // the new file's name is durable
/// log.append(b"synced;").unwrap();
/// log.sync().unwrap();
/// log.append(b"not synced").unwrap();
///
/// disk.crash_with(CrashMode::LoseUnsynced);
/// assert_eq!(disk.read(Path::new("/data/log")).unwrap(), b"synced;");
/// assert!(log.append(b"x").is_err(), "handles from before the crash are dead");
///
/// let program = disk.mount();
/// disk.crash();
/// assert!(program.read(Path::new("/data/log")).is_err(), "so is a mount from before it");
/// ```
#[derive(Clone)]
pub struct SimDisk {
    state: Arc<Mutex<SimState>>,
    /// For a mounted handle, the crash generation it belongs to.
    mounted: Option<u64>,
}

impl fmt::Debug for SimDisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("SimDisk")
            .field("files", &state.names.keys().collect::<Vec<_>>())
            .finish()
    }
}

struct SimState {
    inodes: HashMap<u64, Inode>,
    /// The directory entries as the running program sees them.
    names: BTreeMap<PathBuf, u64>,
    /// The directory entries that would survive a crash.
    durable_names: BTreeMap<PathBuf, u64>,
    dirs: BTreeSet<PathBuf>,
    next_inode: u64,
    /// Bumped by every crash; handles of an older generation are dead.
    generation: u64,
    rng: fastrand::Rng,
    full: bool,
    failing_syncs: bool,
    /// A crash armed to happen during a later sync: syncs left before it, and how.
    crash_on_sync: Option<(u64, CrashMode)>,
    /// A failure armed for a later sync: syncs left before it.
    fail_on_sync: Option<u64>,
    /// The report of the armed crash, once it happened.
    armed_report: Option<CrashReport>,
}

#[derive(Debug, Clone, Default)]
struct Inode {
    data: Vec<u8>,
    synced: Vec<u8>,
    /// Offsets where each unsynced append started (for tearing inside a write).
    unsynced_writes: Vec<usize>,
    /// What happened to it, besides appends, since the last sync.
    change: Change,
}

/// How a file changed since its last sync, besides appends at its end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Change {
    /// Only appends (or nothing).
    #[default]
    Appended,
    /// Cut to `to` bytes (the shortest cut since the sync), perhaps appended to since.
    Truncated { to: usize },
    /// Rewritten in place with new content.
    Rewritten,
}

impl SimDisk {
    /// An empty disk whose crashes are decided by `seed`.
    pub fn new(seed: u64) -> Self {
        let state = SimState {
            inodes: HashMap::new(),
            names: BTreeMap::new(),
            durable_names: BTreeMap::new(),
            dirs: BTreeSet::from([PathBuf::from("/")]),
            next_inode: 1,
            generation: 0,
            rng: fastrand::Rng::with_seed(seed),
            full: false,
            failing_syncs: false,
            crash_on_sync: None,
            fail_on_sync: None,
            armed_report: None,
        };
        Self {
            state: Arc::new(Mutex::new(state)),
            mounted: None,
        }
    }

    /// A handle for the program running now: every operation through it fails once the
    /// disk has crashed (the program is gone); mount again for the restarted one.
    pub fn mount(&self) -> SimDisk {
        let generation = self.lock().generation;
        SimDisk {
            state: Arc::clone(&self.state),
            mounted: Some(generation),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state, unless this is a mount from before a crash.
    fn live(&self) -> io::Result<MutexGuard<'_, SimState>> {
        let state = self.lock();
        match self.mounted {
            Some(generation) if generation != state.generation => Err(io::Error::other(
                "this disk handle belongs to a program from before the simulated crash",
            )),
            _ => Ok(state),
        }
    }

    /// From now on, appends and writes fail with `StorageFull` ("no space left").
    pub fn set_full(&self, full: bool) {
        self.lock().full = full;
    }

    /// From now on, syncs fail with an I/O error (and make nothing durable).
    pub fn set_failing_syncs(&self, failing: bool) {
        self.lock().failing_syncs = failing;
    }

    /// Crashes the machine, deciding each file's fate from the seed.
    pub fn crash(&self) -> CrashReport {
        self.crash_with(CrashMode::Seeded)
    }

    /// Arms a crash (in `mode`) in the middle of the `n`-th sync from now, of a file or
    /// a directory (1: the next one): power is lost while that fsync runs, so it makes nothing durable and
    /// returns an error, and every handle from before is dead. A test that crashes
    /// this way lands exactly in the window between writing and syncing, which a crash
    /// from another thread would hit only by luck.
    pub fn crash_during_sync(&self, n: u64, mode: CrashMode) {
        let mut state = self.lock();
        state.crash_on_sync = Some((n.max(1), mode));
        state.armed_report = None;
    }

    /// Arms a failure of the `n`-th sync from now (1: the next one): that fsync makes
    /// nothing durable and returns an I/O error, and the program goes on. A test that
    /// fails each step of a multi-step operation in turn this way reaches the window
    /// after every step.
    pub fn fail_sync(&self, n: u64) {
        self.lock().fail_on_sync = Some(n.max(1));
    }

    /// Whether no failure armed by [`SimDisk::fail_sync`] is left to happen (it has
    /// happened, or none was armed).
    pub fn failed_sync(&self) -> bool {
        self.lock().fail_on_sync.is_none()
    }

    /// What the armed crash did, once it has happened.
    pub fn armed_crash(&self) -> Option<CrashReport> {
        self.lock().armed_report.clone()
    }

    /// Crashes the machine: see the module documentation for what survives.
    pub fn crash_with(&self, mode: CrashMode) -> CrashReport {
        let mut state = self.lock();
        state.crash_on_sync = None;
        state.crash(mode)
    }

    fn not_found(path: &Path) -> io::Error {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{}: no such file", path.display()),
        )
    }
}

impl SimState {
    fn inode_of(&self, path: &Path) -> io::Result<u64> {
        self.names
            .get(path)
            .copied()
            .ok_or_else(|| SimDisk::not_found(path))
    }

    fn check_parent(&self, path: &Path) -> io::Result<()> {
        match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() && !self.dirs.contains(parent) => {
                Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "{}: no such directory (create it with create_dir_all)",
                        parent.display()
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    fn check_space(&self) -> io::Result<()> {
        if self.full {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "no space left on device (simulated)",
            ));
        }
        Ok(())
    }

    fn create(&mut self, path: &Path) -> io::Result<u64> {
        self.check_parent(path)?;
        let id = self.next_inode;
        self.next_inode += 1;
        self.inodes.insert(id, Inode::default());
        self.names.insert(path.to_path_buf(), id);
        Ok(id)
    }

    /// Counts a sync (of a file or a directory) towards an armed crash, and crashes
    /// the disk if this is the one: the sync then makes nothing durable and fails.
    fn armed_crash(&mut self) -> io::Result<()> {
        if let Some((left, mode)) = self.crash_on_sync {
            if left <= 1 {
                self.crash_on_sync = None;
                let report = self.crash(mode);
                self.armed_report = Some(report);
                return Err(io::Error::other("power lost during sync (simulated crash)"));
            }
            self.crash_on_sync = Some((left - 1, mode));
        }
        Ok(())
    }

    /// What may stop a sync before it makes anything durable: an armed crash, a disk
    /// whose syncs fail, an armed failure.
    fn before_sync(&mut self) -> io::Result<()> {
        self.armed_crash()?;
        let armed = match self.fail_on_sync {
            Some(left) if left <= 1 => {
                self.fail_on_sync = None;
                true
            }
            Some(left) => {
                self.fail_on_sync = Some(left - 1);
                false
            }
            None => false,
        };
        if self.failing_syncs || armed {
            return Err(io::Error::other(
                "input/output error during sync (simulated)",
            ));
        }
        Ok(())
    }

    fn sync_inode(&mut self, id: u64) -> io::Result<()> {
        self.before_sync()?;
        if let Some(inode) = self.inodes.get_mut(&id) {
            inode.synced = inode.data.clone();
            inode.unsynced_writes.clear();
            inode.change = Change::Appended;
        }
        Ok(())
    }
}

#[derive(Debug)]
struct SimAppendFile {
    disk: SimDisk,
    inode: u64,
    generation: u64,
}

impl SimAppendFile {
    fn live<'a>(&self, state: &'a mut SimState) -> io::Result<&'a mut SimState> {
        if state.generation != self.generation {
            return Err(io::Error::other(
                "this file handle is from before the simulated crash: reopen the file",
            ));
        }
        Ok(state)
    }
}

impl AppendFile for SimAppendFile {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut guard = self.disk.lock();
        let state = self.live(&mut guard)?;
        state.check_space()?;
        let inode = state
            .inodes
            .get_mut(&self.inode)
            .ok_or_else(|| io::Error::other("the file was removed"))?;
        inode.unsynced_writes.push(inode.data.len());
        inode.data.extend_from_slice(bytes);
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        let mut guard = self.disk.lock();
        self.live(&mut guard)?.sync_inode(self.inode)
    }
    fn len(&self) -> u64 {
        self.disk
            .lock()
            .inodes
            .get(&self.inode)
            .map_or(0, |i| i.data.len() as u64)
    }
}

impl Disk for SimDisk {
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn AppendFile>> {
        let mut state = self.live()?;
        let inode = match state.names.get(path) {
            Some(id) => *id,
            None => state.create(path)?,
        };
        let generation = state.generation;
        Ok(Box::new(SimAppendFile {
            disk: self.clone(),
            inode,
            generation,
        }))
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let state = self.live()?;
        let id = state.inode_of(path)?;
        Ok(state
            .inodes
            .get(&id)
            .map(|i| i.data.clone())
            .unwrap_or_default())
    }
    fn write_file(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut state = self.live()?;
        state.check_space()?;
        let id = match state.names.get(path) {
            Some(id) => *id,
            None => state.create(path)?,
        };
        if let Some(inode) = state.inodes.get_mut(&id) {
            inode.data = bytes.to_vec();
            inode.unsynced_writes.clear();
            inode.change = Change::Rewritten;
        }
        Ok(())
    }
    fn sync_file(&self, path: &Path) -> io::Result<()> {
        let mut state = self.live()?;
        let id = state.inode_of(path)?;
        state.sync_inode(id)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.live()?;
        if !state.dirs.contains(dir) {
            return Err(Self::not_found(dir));
        }
        state.before_sync()?;
        let in_dir = |p: &Path| p.parent() == Some(dir);
        state.durable_names.retain(|p, _| !in_dir(p));
        let entries: Vec<(PathBuf, u64)> = state
            .names
            .iter()
            .filter(|(p, _)| in_dir(p))
            .map(|(p, i)| (p.clone(), *i))
            .collect();
        state.durable_names.extend(entries);
        Ok(())
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut state = self.live()?;
        let id = state.inode_of(path)?;
        if let Some(inode) = state.inodes.get_mut(&id) {
            let to = (len as usize).min(inode.data.len());
            inode.data.truncate(to);
            inode.unsynced_writes.retain(|&w| w < to);
            inode.change = match inode.change {
                Change::Rewritten => Change::Rewritten,
                Change::Truncated { to: before } => Change::Truncated { to: before.min(to) },
                Change::Appended if to < inode.synced.len() => Change::Truncated { to },
                Change::Appended => Change::Appended,
            };
        }
        Ok(())
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.live()?;
        state.check_parent(to)?;
        let id = state
            .names
            .remove(from)
            .ok_or_else(|| Self::not_found(from))?;
        state.names.insert(to.to_path_buf(), id);
        Ok(())
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut state = self.live()?;
        state
            .names
            .remove(path)
            .map(drop)
            .ok_or_else(|| Self::not_found(path))
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let state = self.live()?;
        if !state.dirs.contains(dir) {
            return Err(Self::not_found(dir));
        }
        Ok(state
            .names
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .cloned()
            .collect())
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.live()?;
        // Directories themselves are treated as always durable: the lesson is about
        // files and their entries, not about mkdir.
        for ancestor in dir.ancestors() {
            if !ancestor.as_os_str().is_empty() {
                state.dirs.insert(ancestor.to_path_buf());
            }
        }
        Ok(())
    }
}
