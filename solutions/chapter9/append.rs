//! Appending a producer's batch once, however often it is sent.
//!
//! Exercise 9.2 lives here. A producer that hears nothing back sends its batch again:
//! the first copy may have been appended (its answer was lost) or not. A producer that
//! numbers its batches lets the partition tell the two apart, as chapter 5's request ids
//! let a key-value store; on a stream, the numbers must also arrive in order, or a lost
//! batch would leave a hole nobody sees.

use crate::log::{Appended, Batch, Millis, Partition, ProducerState};

impl Partition {
    // ANCHOR: append
    /// Appends `batch` at `now`, once.
    ///
    /// A batch without a [`Sequence`](crate::log::Sequence) is appended as it is. A
    /// numbered batch covers its producer's numbers `first..end` and is judged against
    /// what the partition expects of that producer ([`Partition::expected`]: 0 for a
    /// producer never seen):
    /// - `first` is what it expects, and `end > first`: appended (its records from the
    ///   log's end, [`Partition::push`]); the producer is next expected at `end`, and
    ///   this batch is its last;
    /// - the same `first..end` as its last batch: [`Appended::Duplicate`], with that
    ///   batch's offset and record count, appending nothing;
    /// - `end` past `first` but at or below what it expects (an older batch):
    ///   [`Appended::Stale`];
    /// - anything else (a gap, an overlap, `end <= first`):
    ///   [`Appended::OutOfSequence`] with what it expects, appending nothing.
    pub fn append(&mut self, batch: &Batch, now: Millis) -> Appended {
        // EXERCISE 9.2: append a producer's batch once: the duplicate and the gap rules
        // HINT: Compare `first` with `self.expected(producer)`. Check for the last batch again before anything else, and remember what a retry must be told: the offset its first copy got (`ProducerState`). What does a batch whose `end` is not past its `first` mean?
        let Some(seq) = &batch.sequence else {
            let count = batch.records.len() as u64;
            return Appended::Appended {
                base: self.push(&batch.records, now),
                count,
            };
        };
        let expected = self.expected(&seq.producer);
        if let Some(last) = self.producers.get(&seq.producer)
            && last.last_first == seq.first
            && last.last_end == seq.end
        {
            return Appended::Duplicate {
                base: last.last_base,
                count: batch.records.len() as u64,
            };
        }
        if seq.end > seq.first && seq.end <= expected {
            return Appended::Stale;
        }
        if seq.first != expected || seq.end <= seq.first {
            return Appended::OutOfSequence { expected };
        }
        let count = batch.records.len() as u64;
        let base = self.push(&batch.records, now);
        self.producers.insert(
            seq.producer.clone(),
            ProducerState {
                next: seq.end,
                last_first: seq.first,
                last_end: seq.end,
                last_base: base,
            },
        );
        Appended::Appended { base, count }
        // END EXERCISE 9.2
    }
    // ANCHOR_END: append
}
