//! Is a recorded history linearizable? A checker for the key-value model.
//!
//! A history is linearizable if every operation can be given a single instant, between
//! its invocation and its return, such that the operations, applied one at a time in
//! the order of those instants, produce exactly the outputs the clients saw. Keys are
//! independent in the key-value model, so the history is checked key by key.
//!
//! The search is Wing and Gong's: walk the history in time order and try to linearize
//! each operation that has been invoked, backtracking when a return is reached before
//! its operation could be placed. Lowe's memoization makes it practical: a state already
//! visited (the same set of linearized operations and the same value of the key) is not
//! explored twice. This is the algorithm of Porcupine (Athalye, 2017).
//!
//! Operations whose outcome is unknown may take effect at any time after their
//! invocation, or never: they are given a return time of +∞ and any output.
//!
//! The search can be exponential. [`check`] takes a time budget; running out of it
//! gives [`Verdict::Inconclusive`], which callers must treat as a failure, never as a
//! pass ([`Verdict::assert_linearizable`] does). A violation writes a timeline of the
//! offending key's history as an HTML page under `target/` and names its path.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::history::{Event, KvOp, KvOutput, Operation};

/// The checker's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every key's history has a valid linearization.
    Linearizable,
    /// This key's history has none.
    Violation {
        /// The key.
        key: String,
        /// Its operations (failed ones left out).
        operations: Vec<Operation>,
        /// The timeline page, if it could be written.
        timeline: Option<PathBuf>,
    },
    /// The budget ran out before this key was decided: treat as a failure.
    Inconclusive {
        /// The key being checked when time ran out.
        key: String,
        /// How many operations it had.
        operations: usize,
        /// The budget.
        budget: Duration,
    },
}

impl Verdict {
    /// Panics with a readable message unless the verdict is [`Verdict::Linearizable`].
    #[track_caller]
    pub fn assert_linearizable(&self) {
        if *self != Verdict::Linearizable {
            panic!("{self}");
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Linearizable => write!(f, "the history is linearizable"),
            Verdict::Violation {
                key,
                operations,
                timeline,
            } => {
                writeln!(
                    f,
                    "the history of key {key:?} is NOT linearizable: no order of its operations, each placed"
                )?;
                writeln!(
                    f,
                    "between its call and its return, explains what the clients saw. Its operations:"
                )?;
                for op in operations {
                    writeln!(f, "  {op}")?;
                }
                match timeline {
                    Some(path) => write!(f, "timeline: {}", path.display()),
                    None => write!(f, "(the timeline could not be written)"),
                }
            }
            Verdict::Inconclusive {
                key,
                operations,
                budget,
            } => write!(
                f,
                "INCONCLUSIVE: checking key {key:?} ({operations} operations) did not finish within {budget:?}. \
                 This is not a pass: shorten the history (fewer operations per key, more keys) or raise the budget"
            ),
        }
    }
}

/// What the model knows of one key: its value and version, if present, and the highest
/// version any operation on the key has shown so far (versions only grow, so a later
/// write's must be higher).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyState {
    /// The value and its version; the version is `None` when the write's answer was
    /// lost (it is then some version above `floor`, learnt when a read shows it).
    pub current: Option<(String, Option<u64>)>,
    /// The highest version seen on this key so far.
    pub floor: u64,
}

/// The key-value model: the states a key can be in after `op` returned `output` from
/// `state` (none: it cannot have). `output: None` (unknown) accepts whatever the
/// operation would have returned, including not taking effect at all only where the
/// operation could have been refused (a conditional put).
pub fn step(state: &KeyState, op: &KvOp, output: Option<&KvOutput>) -> Vec<KeyState> {
    let mut next = Vec::new();
    match (op, output) {
        (KvOp::Get { .. }, None) => next.push(state.clone()),
        (KvOp::Get { .. }, Some(KvOutput::Value(None))) if state.current.is_none() => {
            next.push(state.clone());
        }
        (KvOp::Get { .. }, Some(KvOutput::Value(Some((value, version))))) => {
            if let Some((held, known)) = &state.current
                && held == value
            {
                next.extend(pin(state, *known, *version));
            }
        }
        (
            KvOp::Put {
                value, if_version, ..
            },
            output,
        ) => {
            let (can_match, can_miss) = condition(state, *if_version);
            match output {
                None => {
                    if can_match {
                        next.push(written(value, None, state.floor));
                    }
                    if can_miss {
                        next.push(state.clone());
                    }
                }
                Some(KvOutput::Written { version }) => {
                    if can_match && *version > state.floor.max(if_version.unwrap_or(0)) {
                        next.push(written(value, Some(*version), *version));
                    }
                }
                Some(KvOutput::Mismatch { current }) => {
                    if can_miss && *if_version != Some(*current) {
                        match &state.current {
                            None if *current == 0 => next.push(state.clone()),
                            None => {}
                            Some((_, known)) => next.extend(pin(state, *known, *current)),
                        }
                    }
                }
                Some(_) => {}
            }
        }
        (KvOp::Delete { .. }, None) => next.push(KeyState {
            current: None,
            floor: state.floor,
        }),
        (KvOp::Delete { .. }, Some(KvOutput::Deleted { version }))
            if state.current.is_some() && *version > state.floor =>
        {
            next.push(KeyState {
                current: None,
                floor: *version,
            });
        }
        (KvOp::Delete { .. }, Some(KvOutput::NotFound)) if state.current.is_none() => {
            next.push(state.clone());
        }
        _ => {}
    }
    next
}

/// Whether a put with `if_version` can take effect from `state`, and whether it can be
/// refused: (can match, can miss).
fn condition(state: &KeyState, if_version: Option<u64>) -> (bool, bool) {
    let Some(expected) = if_version else {
        return (true, false);
    };
    match &state.current {
        None => (expected == 0, expected != 0),
        Some((_, Some(known))) => (*known == expected, *known != expected),
        // A version nobody has seen yet: anything above the floor.
        Some((_, None)) => (expected > state.floor, true),
    }
}

/// The key's state once an operation showed its version is `seen`.
fn pin(state: &KeyState, known: Option<u64>, seen: u64) -> Option<KeyState> {
    match known {
        Some(version) => (version == seen).then(|| state.clone()),
        None => (seen > state.floor).then(|| KeyState {
            current: state.current.as_ref().map(|(v, _)| (v.clone(), Some(seen))),
            floor: seen,
        }),
    }
}

fn written(value: &str, version: Option<u64>, floor: u64) -> KeyState {
    KeyState {
        current: Some((value.to_string(), version)),
        floor,
    }
}

/// Every state `op` can lead to from any of `states`, sorted and without repeats.
fn step_all(states: &[KeyState], op: &KvOp, output: Option<&KvOutput>) -> Vec<KeyState> {
    let mut next: Vec<KeyState> = states.iter().flat_map(|s| step(s, op, output)).collect();
    next.sort();
    next.dedup();
    next
}

/// Checks a whole history within `budget`. Failed operations are ignored; each key
/// starts absent. Every key is given an equal share of the budget first, then the
/// undecided ones share what is left: a violation on one key is reported even if
/// another key's search runs out of time.
pub fn check(history: &[Operation], budget: Duration) -> Verdict {
    check_with_events(history, &[], budget)
}

/// [`check`], with what happened to the system meanwhile (crashes, partitions,
/// configuration changes): a violation's timeline draws `events` on the same time axis.
pub fn check_with_events(history: &[Operation], events: &[Event], budget: Duration) -> Verdict {
    let start = Instant::now();
    let mut by_key: BTreeMap<&str, Vec<Operation>> = BTreeMap::new();
    for op in history.iter().filter(|op| !op.failed) {
        by_key.entry(op.op.key()).or_default().push(op.clone());
    }
    let share = budget / (by_key.len().max(1) as u32);
    let mut undecided = Vec::new();
    for (key, operations) in &by_key {
        match check_key(operations, Instant::now() + share) {
            Some(true) => {}
            Some(false) => return violation(key, operations, events),
            None => undecided.push(*key),
        }
    }
    for key in &undecided {
        let operations = &by_key[key];
        match check_key(operations, start + budget) {
            Some(true) => {}
            Some(false) => return violation(key, operations, events),
            None => {
                return Verdict::Inconclusive {
                    key: key.to_string(),
                    operations: operations.len(),
                    budget,
                };
            }
        }
    }
    Verdict::Linearizable
}

fn violation(key: &str, operations: &[Operation], events: &[Event]) -> Verdict {
    Verdict::Violation {
        key: key.to_string(),
        operations: operations.to_vec(),
        timeline: crate::timeline::write(key, operations, events).ok(),
    }
}

/// One entry of the time-ordered list: an operation's call or return.
#[derive(Debug, Clone, Copy)]
struct Entry {
    op: usize,
    is_call: bool,
    /// For a call, the index of its return entry.
    matching: usize,
    prev: usize,
    next: usize,
}

const NONE: usize = usize::MAX;

/// `Some(linearizable)`, or `None` if the deadline passed first.
fn check_key(ops: &[Operation], deadline: Instant) -> Option<bool> {
    // Events in time order; at equal times calls come first (the operations overlap).
    let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * ops.len());
    for (i, op) in ops.iter().enumerate() {
        events.push((op.invoke, true, i));
        events.push((op.ret.unwrap_or(u64::MAX), false, i));
    }
    events.sort_by_key(|&(time, is_call, op)| (time, !is_call, op));

    // entries[0] is the list head; entry k+1 is event k.
    let mut entries = vec![Entry {
        op: NONE,
        is_call: false,
        matching: NONE,
        prev: NONE,
        next: 1,
    }];
    let mut return_of = vec![NONE; ops.len()];
    for (k, &(_, is_call, op)) in events.iter().enumerate() {
        let index = k + 1;
        entries.push(Entry {
            op,
            is_call,
            matching: NONE,
            prev: k,
            next: index + 1,
        });
        if !is_call {
            return_of[op] = index;
        }
    }
    if let Some(last) = entries.last_mut() {
        last.next = NONE;
    }
    for entry in entries.iter_mut().filter(|e| e.is_call) {
        entry.matching = return_of[entry.op];
    }

    let words = ops.len().div_ceil(64);
    let mut linearized = vec![0u64; words];
    // The model may not know a version yet (a write whose answer was lost), so it
    // tracks every state the key can be in, as Porcupine does for such models.
    let mut state: Vec<KeyState> = vec![KeyState::default()];
    let mut cache: HashSet<(Vec<u64>, Vec<KeyState>)> = HashSet::new();
    let mut stack: Vec<(usize, Vec<KeyState>)> = Vec::new();
    let mut current = entries[0].next;
    let mut iterations = 0u64;

    while entries[0].next != NONE {
        iterations += 1;
        if iterations.is_multiple_of(4096) && Instant::now() > deadline {
            return None;
        }
        let entry = entries[current];
        if entry.is_call {
            let op = &ops[entry.op];
            let next_state = step_all(&state, &op.op, op.output.as_ref());
            if !next_state.is_empty() {
                let mut bits = linearized.clone();
                bits[entry.op / 64] |= 1 << (entry.op % 64);
                if cache.insert((bits.clone(), next_state.clone())) {
                    stack.push((current, std::mem::replace(&mut state, next_state)));
                    linearized = bits;
                    lift(&mut entries, current);
                    current = entries[0].next;
                    continue;
                }
            }
            current = entry.next;
        } else {
            // A return whose operation is not linearized yet: undo the last choice.
            let Some((call, previous)) = stack.pop() else {
                return Some(false);
            };
            state = previous;
            let op = entries[call].op;
            linearized[op / 64] &= !(1 << (op % 64));
            unlift(&mut entries, call);
            current = entries[call].next;
        }
    }
    Some(true)
}

fn lift(entries: &mut [Entry], call: usize) {
    let ret = entries[call].matching;
    for index in [call, ret] {
        let Entry { prev, next, .. } = entries[index];
        entries[prev].next = next;
        if next != NONE {
            entries[next].prev = prev;
        }
    }
}

fn unlift(entries: &mut [Entry], call: usize) {
    let ret = entries[call].matching;
    for index in [ret, call] {
        let Entry { prev, next, .. } = entries[index];
        entries[prev].next = index;
        if next != NONE {
            entries[next].prev = index;
        }
    }
}

/// A history from a correct concurrent execution, for tests and benchmarks: `clients`
/// sequential clients run `operations` operations over `keys` keys; each operation takes
/// effect at a random instant inside its interval; `unknown` is the share of operations
/// whose outcome is lost (half of those take effect). Always linearizable.
pub fn random_history(
    seed: u64,
    clients: usize,
    operations: usize,
    keys: usize,
    unknown: f64,
) -> Vec<Operation> {
    let mut rng = fastrand::Rng::with_seed(seed);
    // Intervals first: each client's operations follow one another.
    let mut clock = vec![0u64; clients.max(1)];
    let mut planned: Vec<(u64, Operation)> = Vec::with_capacity(operations);
    for _ in 0..operations {
        let client = rng.usize(0..clients.max(1));
        let invoke = clock[client] + rng.u64(0..2_000);
        let point = invoke + rng.u64(1..5_000);
        let ret = point + rng.u64(1..5_000);
        clock[client] = ret;
        let key = format!("k{}", rng.usize(0..keys.max(1)));
        let op = Operation {
            client,
            op: KvOp::Get { key },
            invoke,
            ret: Some(ret),
            output: None,
            failed: false,
        };
        planned.push((point, op));
    }
    // Then apply them in the order of their instants, choosing each operation's kind
    // and computing its output against the true state. Versions are one counter for
    // the whole store, as a log index is.
    planned.sort_by_key(|(point, _)| *point);
    let mut values: BTreeMap<String, Option<(String, u64)>> = BTreeMap::new();
    let mut version = 0u64;
    for (n, (_, op)) in planned.iter_mut().enumerate() {
        let key = op.op.key().to_string();
        let at = values
            .get(&key)
            .and_then(|v| v.as_ref().map(|(_, version)| *version))
            .unwrap_or(0);
        let value = format!("v{n}");
        op.op = match rng.u8(0..20) {
            0..=9 => KvOp::Get { key: key.clone() },
            10..=13 => KvOp::Put {
                key: key.clone(),
                value,
                if_version: None,
            },
            14..=17 => KvOp::Put {
                key: key.clone(),
                value,
                // Half the time the version the key is at; else one it may have had.
                if_version: Some(if rng.bool() { at } else { rng.u64(0..=version) }),
            },
            _ => KvOp::Delete { key: key.clone() },
        };
        let lost = rng.f64() < unknown;
        let takes_effect = !lost || rng.bool();
        let state = values.entry(key).or_default();
        if takes_effect {
            let output = match &op.op {
                KvOp::Get { .. } => KvOutput::Value(state.clone()),
                KvOp::Put {
                    value, if_version, ..
                } => {
                    if if_version.is_none_or(|expected| expected == at) {
                        version += 1;
                        *state = Some((value.clone(), version));
                        KvOutput::Written { version }
                    } else {
                        KvOutput::Mismatch { current: at }
                    }
                }
                KvOp::Delete { .. } => {
                    if state.is_some() {
                        version += 1;
                        *state = None;
                        KvOutput::Deleted { version }
                    } else {
                        KvOutput::NotFound
                    }
                }
            };
            op.output = Some(output);
        }
        if lost {
            op.ret = None;
            op.output = None;
        }
    }
    let mut history: Vec<Operation> = planned.into_iter().map(|(_, op)| op).collect();
    history.sort_by_key(|op| op.invoke);
    history
}
