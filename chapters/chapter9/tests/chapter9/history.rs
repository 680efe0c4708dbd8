//! What the simulator's and the loopback test's runs hand the harness's queue checker,
//! and how a failing run is shown.

use chapter9::clients::Seen;
use harness::queue::{Sent, Told};

use crate::sim::Ran;

/// At most 110 characters of `text`.
pub fn short(text: &str) -> String {
    match text.char_indices().nth(110) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

impl Ran {
    /// The last `n` lines of the timeline, for a failure's message.
    pub fn tail(&self, n: usize) -> String {
        let from = self.timeline.len().saturating_sub(n);
        self.timeline[from..].join("\n")
    }
}

/// A committed offset a member saw, as the harness's checker takes it.
pub fn observed(c: chapter9::clients::Committed) -> harness::queue::Committed {
    harness::queue::Committed {
        group: c.group,
        partition: c.partition,
        offset: c.offset,
        invoked: c.invoked,
        answered: c.answered,
    }
}

/// What the producers were told, as the harness's checker takes it.
pub fn sent(seen: &Seen) -> Vec<Sent> {
    seen.sends
        .iter()
        .map(|(producer, partition, value, offset)| Sent {
            producer: producer.clone(),
            partition: partition.clone(),
            value: value.clone(),
            told: offset.map_or(Told::Unknown, Told::Acked),
        })
        .collect()
}
