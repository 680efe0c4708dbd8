//! What several of chapter 9's test files share.

#![allow(dead_code)]

use chapter9::{Batch, Partition, PartitionId, Record, Sequence};

/// A batch of `producer` covering `first..end`, with records `key=value` for `pairs`.
pub fn numbered(producer: &str, first: u64, end: u64, pairs: &[(&str, &str)]) -> Batch {
    Batch {
        sequence: Some(Sequence {
            producer: producer.to_string(),
            first,
            end,
        }),
        records: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// A batch with no numbers.
pub fn plain(pairs: &[(&str, &str)]) -> Batch {
    Batch {
        sequence: None,
        records: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// A partition holding records with `keys` at offsets 0, 1, ..., appended at `times`
/// (all at 0 if `times` is empty), built without any exercise.
pub fn partition_with(keys: &[&str], times: &[u64]) -> Partition {
    let mut p = Partition::new(PartitionId::new("t", 0));
    for (i, key) in keys.iter().enumerate() {
        let time = times.get(i).copied().unwrap_or(0);
        p.push(&[(key.to_string(), format!("v{i}"))], time);
    }
    p
}

/// The offsets of a partition's records.
pub fn offsets(p: &Partition) -> Vec<u64> {
    p.records.iter().map(|r| r.offset).collect()
}

/// The values of records, in order.
pub fn values(records: &[Record]) -> Vec<String> {
    records.iter().map(|r| r.value.clone()).collect()
}
