//! One partition: an append-only log of records, each at an offset, and what it knows
//! of the producers that write to it.
//!
//! Offsets in a partition are dense as they are handed out (0, 1, 2, ...) and never
//! reused: retention drops a prefix of the log (its start moves up), compaction drops
//! records from the middle (their offsets stay unused), and neither renumbers a record.
//!
//! This file holds the data and the reads; the rules are exercises:
//! [`append`](crate::append) (9.2: a producer's retried batch is appended once) and
//! [`compaction`](crate::compaction) (9.6: retention by size and age, compaction by key).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A record's position in its partition.
pub type Offset = u64;
/// Milliseconds, on the clock of whoever drives the machine.
pub type Millis = u64;
/// A producer that numbers its batches (an idempotent producer), named by itself.
pub type ProducerId = String;

/// A partition of a topic: `orders/2` is partition 2 of topic `orders`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PartitionId {
    pub topic: String,
    pub index: u32,
}

impl PartitionId {
    pub fn new(topic: &str, index: u32) -> PartitionId {
        PartitionId {
            topic: topic.to_string(),
            index,
        }
    }
}

impl std::fmt::Display for PartitionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.topic, self.index)
    }
}

/// One record of a partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub offset: Offset,
    pub key: String,
    pub value: String,
    /// When the leader that appended it received it (retention by age counts from it).
    pub time: Millis,
}

/// A batch's place in its producer's numbering: it covers sequence numbers
/// `first..end`. A plain producer numbers its records (a batch of 3 from 7 is `7..10`);
/// a pipeline numbers the input it has consumed, so a batch may cover more numbers than
/// it has records, or none at all (exercise 9.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequence {
    pub producer: ProducerId,
    pub first: u64,
    pub end: u64,
}

/// What a producer sends: records for one partition, numbered or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// `None`: a producer that does not number its batches; a retry may be appended twice.
    pub sequence: Option<Sequence>,
    /// Each record's key and value.
    pub records: Vec<(String, String)>,
}

/// What a partition remembers of a producer: the next sequence number it expects, and
/// the last batch it appended (so a retry of it gets the same answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerState {
    /// The `first` the next new batch must have.
    pub next: u64,
    /// The last batch appended: its `first..end`, and the offset of its first record.
    pub last_first: u64,
    pub last_end: u64,
    pub last_base: Offset,
}

/// The answer to an append.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Appended {
    /// The batch is in the log: its first record at `base` (if it has any), then the
    /// next offsets, one per record.
    Appended { base: Offset, count: u64 },
    /// The producer's last batch again (a retry): appended once already, at `base`.
    Duplicate { base: Offset, count: u64 },
    /// An older batch than the last (a late copy of a message): already in the log.
    Stale,
    /// Numbers the partition cannot take: a gap (`first` past what it expects) or a
    /// batch that overlaps another. Nothing is appended; the producer must resend from
    /// `expected`.
    OutOfSequence { expected: u64 },
}

/// A read of a partition: the records at or after the offset asked for, and where the
/// log starts and ends now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Read {
    pub records: Vec<Record>,
    /// The first offset still in the log (retention moves it up).
    pub start: Offset,
    /// The offset the next record appended will get (the log's end).
    pub next: Offset,
}

/// How long a topic keeps its records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// Keep at most this many records (the oldest go first).
    pub max_records: Option<u64>,
    /// Drop records older than this (ms since they were appended).
    pub max_age: Option<Millis>,
    /// Keep only the last record of each key (exercise 9.6).
    pub compact: bool,
}

/// One partition's log and its producers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    pub id: PartitionId,
    /// The records still in the log, in offset order (not always consecutive offsets:
    /// compaction leaves holes).
    pub records: Vec<Record>,
    /// The first offset still in the log: every record below it is gone.
    pub start: Offset,
    /// The offset the next record gets.
    pub next: Offset,
    /// What the partition knows of each numbered producer.
    pub producers: BTreeMap<ProducerId, ProducerState>,
}

impl Partition {
    /// An empty partition.
    pub fn new(id: PartitionId) -> Partition {
        Partition {
            id,
            records: Vec::new(),
            start: 0,
            next: 0,
            producers: BTreeMap::new(),
        }
    }

    /// The records at or after `from` (from the start if `from` is below it), at most
    /// `max` of them.
    pub fn read(&self, from: Offset, max: usize) -> Read {
        let at = self.records.partition_point(|r| r.offset < from);
        Read {
            records: self.records[at..].iter().take(max).cloned().collect(),
            start: self.start,
            next: self.next,
        }
    }

    /// Appends `records` as new records at `now`, from the log's end; returns the first
    /// one's offset. Used by [`Partition::append`] (exercise 9.2) once it has decided the
    /// batch is new.
    pub fn push(&mut self, records: &[(String, String)], now: Millis) -> Offset {
        let base = self.next;
        for (key, value) in records {
            self.records.push(Record {
                offset: self.next,
                key: key.clone(),
                value: value.clone(),
                time: now,
            });
            self.next += 1;
        }
        base
    }

    /// The next sequence number `producer` is expected to send (0 for one never seen).
    pub fn expected(&self, producer: &str) -> u64 {
        self.producers.get(producer).map_or(0, |p| p.next)
    }
}
