//! Exercise 2.3: writing a batch, with one fsync for all of it.
//! Book: chapter 2, "Exercise 2.3: group commit".

use std::io;

use chapter2::wal::{FsyncPolicy, LogStats, Pending, write_batch};
use harness::disk::AppendFile;

/// A log file that remembers what happened to it.
#[derive(Debug, Default)]
struct Recording {
    events: Vec<&'static str>,
    bytes: Vec<u8>,
}

impl AppendFile for Recording {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.events.push("append");
        self.bytes.extend_from_slice(bytes);
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        self.events.push("sync");
        Ok(())
    }
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
}

fn batch(n: u64) -> Vec<Pending> {
    (1..=n)
        .map(|version| Pending {
            version,
            frame: vec![version as u8; 3],
        })
        .collect()
}

#[test]
fn ex3_group_commit_appends_everything_then_syncs_once() {
    let (mut log, mut stats) = (Recording::default(), LogStats::default());
    let last = write_batch(&mut log, &batch(10), FsyncPolicy::Group, &mut stats).expect("writes");
    assert_eq!(last, 10, "the batch's last version is returned");
    let mut expected = vec!["append"; 10];
    expected.push("sync");
    assert_eq!(
        log.events, expected,
        "ten appends, then one sync that covers them all"
    );
    assert_eq!((stats.records, stats.syncs), (10, 1));
    assert_eq!(log.bytes.len(), 30, "every frame is written whole");
}

#[test]
fn ex3_fsync_per_write_syncs_after_each_record() {
    let (mut log, mut stats) = (Recording::default(), LogStats::default());
    write_batch(&mut log, &batch(3), FsyncPolicy::Always, &mut stats).expect("writes");
    assert_eq!(
        log.events,
        ["append", "sync", "append", "sync", "append", "sync"]
    );
    assert_eq!((stats.records, stats.syncs), (3, 3));
}

#[test]
fn ex3_never_means_never_and_an_error_stops_the_batch() {
    let (mut log, mut stats) = (Recording::default(), LogStats::default());
    write_batch(&mut log, &batch(4), FsyncPolicy::Never, &mut stats).expect("writes");
    assert_eq!(
        log.events, ["append"; 4],
        "no sync at all (which is why it is unsafe)"
    );

    #[derive(Debug)]
    struct Failing;
    impl AppendFile for Failing {
        fn append(&mut self, _: &[u8]) -> io::Result<()> {
            Ok(())
        }
        fn sync(&mut self) -> io::Result<()> {
            Err(io::Error::other("disk on fire"))
        }
        fn len(&self) -> u64 {
            0
        }
    }
    let outcome = write_batch(
        &mut Failing,
        &batch(2),
        FsyncPolicy::Group,
        &mut LogStats::default(),
    );
    assert!(
        outcome.is_err(),
        "a failed sync is an error: the batch is not durable"
    );
}
