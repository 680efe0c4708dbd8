//! Exercise 2.3: writing a batch, with one fsync for all of it.
//! Book: chapter 2, "Exercise 2.3: group commit".

use std::io;

use chapter2::record::{Record, decode};
use chapter2::wal::{FsyncPolicy, LogStats, write_batch};
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

fn batch(n: u64) -> Vec<Record> {
    (1..=n)
        .map(|version| Record {
            version,
            key: format!("k{version}"),
            value: Some("v".into()),
        })
        .collect()
}

/// The records of every frame in `bytes`, frame by frame.
fn frames(mut bytes: &[u8]) -> Vec<Vec<u64>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (records, length) = decode(bytes).expect("write_batch writes whole frames");
        out.push(records.iter().map(|r| r.version).collect());
        bytes = &bytes[length..];
    }
    out
}

#[test]
fn ex3_group_commit_appends_everything_then_syncs_once() {
    let (mut log, mut stats) = (Recording::default(), LogStats::default());
    let last = write_batch(&mut log, &batch(10), FsyncPolicy::Group, &mut stats).expect("writes");
    assert_eq!(last, 10, "the batch's last version is returned");
    assert_eq!(
        log.events,
        ["append", "sync"],
        "one frame holding the batch, then one sync that covers it all"
    );
    assert_eq!(
        (stats.records, stats.syncs),
        (10, 1),
        "the stats count every record written and the one sync"
    );
    assert_eq!(
        frames(&log.bytes),
        [(1..=10).collect::<Vec<_>>()],
        "group commit writes the whole batch as one frame"
    );
}

#[test]
fn ex3_fsync_per_write_syncs_after_each_record() {
    let (mut log, mut stats) = (Recording::default(), LogStats::default());
    write_batch(&mut log, &batch(3), FsyncPolicy::Always, &mut stats).expect("writes");
    assert_eq!(
        log.events,
        ["append", "sync", "append", "sync", "append", "sync"],
        "FsyncPolicy::Always appends and syncs each record before the next"
    );
    assert_eq!(
        (stats.records, stats.syncs),
        (3, 3),
        "the stats count one sync per record under FsyncPolicy::Always"
    );
    assert_eq!(
        frames(&log.bytes),
        [vec![1], vec![2], vec![3]],
        "FsyncPolicy::Always writes one frame per record"
    );
}

#[test]
fn ex3_never_means_never_and_an_error_stops_the_batch() {
    let (mut log, mut stats) = (Recording::default(), LogStats::default());
    write_batch(&mut log, &batch(4), FsyncPolicy::Never, &mut stats).expect("writes");
    assert_eq!(
        log.events,
        ["append"],
        "one frame and no sync at all (which is why it is unsafe)"
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
