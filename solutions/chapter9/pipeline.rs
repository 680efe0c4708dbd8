//! An exactly-once pipeline: read a partition, transform each record, write the result
//! to another topic, and never lose or repeat one, across crashes and rebalances.
//!
//! Exercise 9.5 lives here. Writing the output and then committing the input's offset
//! is two writes: a crash between them repeats the output (at least once); the other
//! order loses it (at most once). The cure is one write that holds both: the output
//! batch is numbered by the *input* offsets it consumed (`first..end`), as a producer
//! numbers its batches, so the output partition's record of the pipeline's numbers
//! ([`Partition::expected`](crate::log::Partition::expected)) *is* its committed offset.
//! Appending the batch commits the output and the position in one entry of one log; a
//! batch processed twice (a retry, a member that lost its partition but did not know
//! yet) is refused as a duplicate by exercise 9.2's rules. Chapter 9's pipeline keeps a
//! record's key, so input partition `p` feeds output partition `p` and its numbers live
//! in one place.

use crate::log::{Batch, Offset, PartitionId, ProducerId, Read, Record, Sequence};

/// The producer a pipeline writes its output of input partition `input` as: one
/// numbering per input partition.
pub fn pipeline_producer(pipeline: &str, input: &PartitionId) -> ProducerId {
    format!("{pipeline}<{input}")
}

// ANCHOR: output_batch
/// The output batch for one read of input partition `input`, asked from offset `from`
/// (the pipeline's position, which the output partition expects next): each record read
/// transformed by `transform` (`None`: the record has no output), numbered by the input
/// it consumed: from `from` to just after the last record read. A read with no record
/// consumed nothing, and has no batch.
pub fn output_batch(
    pipeline: &str,
    input: &PartitionId,
    from: Offset,
    read: &Read,
    transform: &dyn Fn(&Record) -> Option<(String, String)>,
) -> Option<Batch> {
    // EXERCISE 9.5: one batch that holds the output and the input position it reaches
    // HINT: The numbers must continue exactly where the last batch ended (9.2 refuses a gap), even if compaction or retention left holes before the first record read, and even if every record was filtered out: which numbers does this read consume?
    let last = read.records.last()?;
    Some(Batch {
        sequence: Some(Sequence {
            producer: pipeline_producer(pipeline, input),
            first: from,
            end: crate::offsets::offset_after(last),
        }),
        records: read.records.iter().filter_map(transform).collect(),
    })
    // END EXERCISE 9.5
}
// ANCHOR_END: output_batch
