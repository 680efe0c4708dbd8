//! Exercise 9.5: the exactly-once pipeline's output batch carries its input position.

use chapter9::{Appended, Partition, PartitionId, Read, Record, output_batch, pipeline_producer};

use crate::common::partition_with;

fn upper(r: &Record) -> Option<(String, String)> {
    Some((r.key.clone(), r.value.to_uppercase()))
}

fn input() -> PartitionId {
    PartitionId::new("in", 0)
}

#[test]
fn ex5_a_batch_is_numbered_by_the_input_it_consumed() {
    let p = partition_with(&["a", "b", "c"], &[]);
    let batch = output_batch("pipe", &input(), 0, &p.read(0, 10), &upper)
        .expect("a read with records has a batch");
    let seq = batch.sequence.expect("a pipeline's batch is numbered");
    assert_eq!(
        seq.producer,
        pipeline_producer("pipe", &input()),
        "the batch is the pipeline's, for this input partition"
    );
    assert_eq!(
        (seq.first, seq.end),
        (0, 3),
        "records 0, 1, 2 read from 0: numbers 0..3, from where it read to just after the \
         last record (the next offset to read, 9.4's convention)"
    );
    assert_eq!(
        batch.records,
        vec![
            ("a".into(), "V0".into()),
            ("b".into(), "V1".into()),
            ("c".into(), "V2".into())
        ],
        "each record transformed, in order"
    );
    assert_eq!(
        output_batch("pipe", &input(), 3, &p.read(3, 10), &upper),
        None,
        "a read with no record consumed nothing: no batch"
    );
}

#[test]
fn ex5_a_read_that_stops_short_of_the_logs_end_covers_only_what_it_read() {
    let p = partition_with(&["a", "b", "c", "d", "e"], &[]);
    let read = p.read(1, 2); // records 1 and 2 of a log that ends at 5
    let seq = output_batch("pipe", &input(), 1, &read, &upper)
        .and_then(|b| b.sequence)
        .expect("numbered");
    assert_eq!(
        (seq.first, seq.end),
        (1, 3),
        "a read of at most 2 records from 1 got offsets 1 and 2 of a log that ends at 5: \
         the batch covers 1..3, just after the last record read, not the log's end (records \
         3 and 4 were not processed)"
    );
}

#[test]
fn ex5_a_batch_whose_records_are_all_filtered_out_still_moves_the_position() {
    let p = partition_with(&["a", "b"], &[]);
    let none = |_: &Record| None;
    let batch = output_batch("pipe", &input(), 0, &p.read(0, 10), &none)
        .expect("a batch with no output record still commits the input it consumed");
    let seq = batch.sequence.expect("numbered");
    assert_eq!(
        (seq.first, seq.end, batch.records.len()),
        (0, 2, 0),
        "every record filtered out: no output, but numbers 0..2 (otherwise the next \
         batch, from 2, is a gap 9.2 refuses, and the pipeline is stuck)"
    );
}

#[test]
fn ex5_numbers_cover_the_holes_compaction_left() {
    let read = Read {
        records: vec![
            Record {
                offset: 4,
                key: "a".into(),
                value: "x".into(),
                time: 0,
            },
            Record {
                offset: 6,
                key: "b".into(),
                value: "y".into(),
                time: 0,
            },
        ],
        start: 0,
        next: 7,
    };
    let seq = output_batch("pipe", &input(), 2, &read, &upper)
        .and_then(|b| b.sequence)
        .expect("numbered");
    assert_eq!(
        (seq.first, seq.end),
        (2, 7),
        "read from 2, the first record left is at 4 and the last at 6: the batch covers \
         2..7 (starting at 4 would leave 2..4 a gap; counting records would give 2..4)"
    );
}

#[test]
fn ex5_processing_a_read_twice_writes_its_output_once() {
    let source = partition_with(&["a", "b", "c", "d"], &[]);
    let mut output = Partition::new(PartitionId::new("out", 0));
    let producer = pipeline_producer("pipe", &input());
    let mut from = output.expected(&producer);
    // A member processes 0..2, appends, then crashes before it hears the answer; the
    // partition's next owner asks the output where to resume and processes it again.
    let first = output_batch("pipe", &input(), from, &source.read(from, 2), &upper)
        .expect("a read with records has a batch");
    assert!(
        matches!(output.append(&first, 0), Appended::Appended { .. }),
        "the pipeline's first batch is new: appended"
    );
    let again = output_batch("pipe", &input(), from, &source.read(from, 2), &upper)
        .expect("a read with records has a batch");
    assert!(
        matches!(output.append(&again, 0), Appended::Duplicate { .. }),
        "the same input read again gives the same numbers: a duplicate, not a second copy"
    );
    from = output.expected(&producer);
    assert_eq!(
        from, 2,
        "the output's record of the pipeline is its position"
    );
    let rest = output_batch("pipe", &input(), from, &source.read(from, 10), &upper)
        .expect("a read with records has a batch");
    output.append(&rest, 0);
    assert_eq!(
        output
            .records
            .iter()
            .map(|r| r.value.as_str())
            .collect::<Vec<_>>(),
        vec!["V0", "V1", "V2", "V3"],
        "every input record's output exactly once, in order"
    );
}
