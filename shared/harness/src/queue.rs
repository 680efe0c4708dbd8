//! A checker for queues and logs: what producers were told, what the partitions hold in
//! the end, what consumers read and processed, and what their groups committed.
//!
//! The rules are the ones Jepsen checks of Kafka and Redpanda, and the ones a user of a
//! partitioned log relies on:
//! - **no acknowledged message lost**: a send that was acknowledged at an offset is in
//!   the final log of its partition, at that offset;
//! - **no duplicate**: a message is in its partition at most once;
//! - **order per producer**: a producer's messages are in each partition in the order it
//!   sent them;
//! - **reads agree**: every read saw at an offset what the final log holds there (an
//!   offset names one message for ever), and the final log's offsets only grow;
//! - **committed offsets never go backwards** for a group and a partition.
//!
//! What consumers processed is counted rather than judged ([`Deliveries`]): at most
//! once may lose, at least once may repeat, exactly once may do neither; each test
//! says which it expects. Messages are named by their value, which the test makes
//! unique.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// What a producer was told of one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Told {
    /// Acknowledged: appended at this offset.
    Acked(u64),
    /// No answer (a timeout, a crash): it may or may not be in the log.
    Unknown,
}

/// One send: who sent what to which partition, and what it was told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub producer: String,
    pub partition: String,
    pub value: String,
    pub told: Told,
}

/// A committed offset observed: a group's commit accepted, or a read of it; the call
/// was made at `invoked` and answered at `answered` (any clock, the same for all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub group: String,
    pub partition: String,
    pub offset: u64,
    pub invoked: u64,
    pub answered: u64,
}

/// A history of a partitioned log.
#[derive(Debug, Clone, Default)]
pub struct QueueHistory {
    /// Every send, in the order each producer made them.
    pub sends: Vec<Sent>,
    /// Each partition's final log: (offset, value), in log order.
    pub logs: BTreeMap<String, Vec<(u64, String)>>,
    /// Every record a read returned: (partition, offset, value).
    pub reads: Vec<(String, u64, String)>,
    /// Every committed offset observed (a commit accepted, or a read of the committed
    /// offsets), with when the call was made and when it was answered.
    pub commits: Vec<Committed>,
}

/// How often each message of the final logs was processed by one consumer group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deliveries {
    /// Messages in the logs.
    pub messages: usize,
    /// Messages never processed.
    pub lost: usize,
    /// Extra processings: a message processed three times counts two.
    pub duplicated: usize,
}

impl QueueHistory {
    /// Every rule above that the history breaks, one line each (empty: none).
    pub fn violations(&self) -> Vec<String> {
        let mut problems = Vec::new();
        // Where each value is in the final logs.
        let mut at: BTreeMap<(&str, &str), Vec<u64>> = BTreeMap::new();
        for (partition, log) in &self.logs {
            let mut last = None;
            for (offset, value) in log {
                if last.is_some_and(|l| *offset <= l) {
                    problems.push(format!(
                        "partition {partition}: offset {offset} follows offset {} in the log \
                         (offsets only grow)",
                        last.unwrap_or(0)
                    ));
                }
                last = Some(*offset);
                at.entry((partition, value)).or_default().push(*offset);
            }
        }
        for ((partition, value), offsets) in &at {
            if offsets.len() > 1 {
                problems.push(format!(
                    "partition {partition}: message {value:?} is in the log {} times, at \
                     offsets {offsets:?} (no message may be duplicated)",
                    offsets.len()
                ));
            }
        }
        for sent in &self.sends {
            let Told::Acked(offset) = sent.told else {
                continue;
            };
            match at.get(&(sent.partition.as_str(), sent.value.as_str())) {
                None => problems.push(format!(
                    "partition {}: message {:?} from {} was acknowledged at offset {offset} \
                     but is not in the log (an acknowledged message was lost)",
                    sent.partition, sent.value, sent.producer
                )),
                Some(offsets) if !offsets.contains(&offset) => problems.push(format!(
                    "partition {}: message {:?} was acknowledged at offset {offset} but is \
                     at {offsets:?}",
                    sent.partition, sent.value
                )),
                Some(_) => {}
            }
        }
        // Order per producer and partition: the offsets of its messages, in send order.
        let mut order: BTreeMap<(&str, &str), Vec<(u64, &str)>> = BTreeMap::new();
        for sent in &self.sends {
            if let Some(offsets) = at.get(&(sent.partition.as_str(), sent.value.as_str())) {
                order
                    .entry((&sent.producer, &sent.partition))
                    .or_default()
                    .push((offsets[0], &sent.value));
            }
        }
        for ((producer, partition), offsets) in &order {
            if let Some(w) = offsets.windows(2).find(|w| w[1].0 < w[0].0) {
                problems.push(format!(
                    "partition {partition}: {producer} sent {:?} before {:?}, but they are at \
                     offsets {} and {} (a producer's messages keep their order)",
                    w[0].1, w[1].1, w[0].0, w[1].0
                ));
            }
        }
        let logged: BTreeMap<(&str, u64), &str> = self
            .logs
            .iter()
            .flat_map(|(p, log)| log.iter().map(move |(o, v)| ((p.as_str(), *o), v.as_str())))
            .collect();
        let mut read_at: BTreeMap<(&str, u64), &str> = BTreeMap::new();
        for (partition, offset, value) in &self.reads {
            if let Some(before) = read_at.insert((partition, *offset), value)
                && before != value
            {
                problems.push(format!(
                    "partition {partition}: offset {offset} was read as {before:?} and as \
                     {value:?} (an offset names one message for ever)"
                ));
            }
            if let Some(final_value) = logged.get(&(partition.as_str(), *offset))
                && final_value != value
            {
                problems.push(format!(
                    "partition {partition}: offset {offset} was read as {value:?}, but the \
                     log holds {final_value:?} there"
                ));
            }
        }
        // A committed offset never goes back: an observation answered before another
        // was made may not be ahead of it (calls that overlap in time may be seen in
        // either order).
        let mut by_partition: BTreeMap<(&str, &str), Vec<&Committed>> = BTreeMap::new();
        for c in &self.commits {
            by_partition
                .entry((&c.group, &c.partition))
                .or_default()
                .push(c);
        }
        for ((group, partition), mut seen) in by_partition {
            let mut by_invoked = seen.clone();
            by_invoked.sort_by_key(|c| c.invoked);
            seen.sort_by_key(|c| c.answered);
            let (mut i, mut highest): (usize, Option<&Committed>) = (0, None);
            for later in by_invoked {
                while i < seen.len() && seen[i].answered < later.invoked {
                    if highest.is_none_or(|h| seen[i].offset > h.offset) {
                        highest = Some(seen[i]);
                    }
                    i += 1;
                }
                if let Some(h) = highest
                    && later.offset < h.offset
                {
                    problems.push(format!(
                        "group {group}, partition {partition}: the committed offset went back \
                         from {} (answered at {}) to {} (asked at {})",
                        h.offset, h.answered, later.offset, later.invoked
                    ));
                    break;
                }
            }
        }
        problems
    }

    /// How often the messages of the final logs were processed, given every processing
    /// as a (partition, value).
    pub fn deliveries(&self, processed: &[(String, String)]) -> Deliveries {
        let mut count: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for (partition, value) in processed {
            *count.entry((partition, value)).or_default() += 1;
        }
        let mut d = Deliveries::default();
        for (partition, log) in &self.logs {
            for (_, value) in log {
                d.messages += 1;
                match count.get(&(partition.as_str(), value.as_str())) {
                    None => d.lost += 1,
                    Some(&n) => d.duplicated += n - 1,
                }
            }
        }
        d
    }

    /// The values the final logs hold, each with how many times (for an exactly-once
    /// pipeline's output: every input exactly once).
    pub fn values(&self) -> BTreeMap<&str, usize> {
        let mut count = BTreeMap::new();
        for log in self.logs.values() {
            for (_, value) in log {
                *count.entry(value.as_str()).or_default() += 1;
            }
        }
        count
    }

    /// A short account of the history, for a failure's message.
    pub fn summary(&self) -> String {
        let acked = self
            .sends
            .iter()
            .filter(|s| matches!(s.told, Told::Acked(_)))
            .count();
        let producers: BTreeSet<&str> = self.sends.iter().map(|s| s.producer.as_str()).collect();
        let mut out = format!(
            "{} sends from {} producers ({acked} acknowledged), {} reads, {} commits observed; \
             final logs:",
            self.sends.len(),
            producers.len(),
            self.reads.len(),
            self.commits.len()
        );
        for (partition, log) in &self.logs {
            let _ = write!(out, " {partition}: {} messages", log.len());
            if let (Some(first), Some(last)) = (log.first(), log.last()) {
                let _ = write!(out, " ({}..={})", first.0, last.0);
            }
            out.push(';');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(offset: u64, invoked: u64, answered: u64) -> Committed {
        Committed {
            group: "g".into(),
            partition: "t/0".into(),
            offset,
            invoked,
            answered,
        }
    }

    fn history() -> QueueHistory {
        QueueHistory {
            sends: vec![
                Sent {
                    producer: "p".into(),
                    partition: "t/0".into(),
                    value: "a".into(),
                    told: Told::Acked(0),
                },
                Sent {
                    producer: "p".into(),
                    partition: "t/0".into(),
                    value: "b".into(),
                    told: Told::Acked(1),
                },
            ],
            logs: [("t/0".to_string(), vec![(0, "a".into()), (1, "b".into())])].into(),
            reads: vec![("t/0".into(), 1, "b".into())],
            commits: vec![commit(1, 0, 1), commit(2, 2, 3)],
        }
    }

    #[test]
    fn a_good_history_has_no_violation() {
        assert_eq!(history().violations(), Vec::<String>::new());
    }

    #[test]
    fn each_rule_is_caught() {
        let mut lost = history();
        lost.logs.insert("t/0".into(), vec![(0, "a".into())]);
        assert!(lost.violations()[0].contains("lost"));
        let mut twice = history();
        twice.logs.insert(
            "t/0".into(),
            vec![(0, "a".into()), (1, "b".into()), (2, "a".into())],
        );
        assert!(twice.violations()[0].contains("duplicated"));
        let mut reordered = history();
        reordered.sends.swap(0, 1);
        reordered.sends[0].told = Told::Unknown;
        reordered.sends[1].told = Told::Unknown;
        assert!(reordered.violations()[0].contains("order"));
        let mut misread = history();
        misread.reads.push(("t/0".into(), 1, "z".into()));
        assert!(misread.violations()[0].contains("one message for ever"));
        let mut back = history();
        back.commits.push(commit(1, 4, 5));
        assert!(back.violations()[0].contains("went back"));
        let mut overlapping = history();
        overlapping.commits.push(commit(1, 2, 9));
        assert_eq!(
            overlapping.violations(),
            Vec::<String>::new(),
            "a read made before a commit was answered may see the older offset"
        );
    }

    #[test]
    fn deliveries_count_losses_and_duplicates() {
        let h = history();
        let processed = vec![
            ("t/0".to_string(), "a".to_string()),
            ("t/0".to_string(), "a".to_string()),
        ];
        assert_eq!(
            h.deliveries(&processed),
            Deliveries {
                messages: 2,
                lost: 1,
                duplicated: 1
            }
        );
    }
}
