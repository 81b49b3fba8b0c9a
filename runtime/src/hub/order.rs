//! One order per stream on every node: the events of a stream (a room's
//! messages) reach this node's connections in the stream's order, whichever
//! node published them.
//!
//! Each event carries its [`Position`]: its id in the stream and the id of the
//! stream's event before it, read by the publisher under the lock that made
//! the stream's order (a database row lock on the room). An event whose
//! predecessor was handed over goes at once; one whose predecessor is still on
//! its way from another node waits for it, at most [`WAIT`] and behind at
//! most [`MAX_HELD`] others. After that the gap is skipped, and a predecessor that turns up later is dropped (live
//! events are at most once, never out of order; history has it).
//!
//! A node that has not seen a stream lately cannot know whether the
//! predecessor passed by: the position says how long before the event its
//! predecessor was made, and one older than [`WAIT`] counts as passed.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// How long an event waits for its predecessor from another node.
pub const WAIT: Duration = Duration::from_millis(500);

/// Events a stream holds at most: past it the gap is skipped at once. A busy
/// stream behind a lost event would otherwise hand a connection the whole
/// wait's events at once, more than its queue takes (`--event-queue`, 256 by
/// default), and close it as a slow consumer.
pub const MAX_HELD: usize = 64;

/// How long a node remembers a quiet stream's last id.
const RETAIN: Duration = Duration::from_secs(60);

/// Where an event stands in its stream, so every node hands the stream's
/// events over in one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    /// The stream (a room's id).
    pub stream: i64,
    /// This event's id; ids grow along the stream.
    pub id: i64,
    /// The id of the stream's event before this one; `None` for its first.
    pub after: Option<i64>,
    /// How long before this event that one was made, in milliseconds.
    pub after_age_ms: u64,
}

/// What the sequencer did with an event.
#[derive(Debug)]
pub(super) struct Outcome<T> {
    /// Events to hand over now, in order.
    pub ready: Vec<T>,
    /// The event came after a later one of its stream was handed over: dropped.
    pub late: bool,
    /// The stream now holds events until this instant: wake it then
    /// ([`Sequencer::release_due`]). Only the first hold of a stream says so.
    pub wake_at: Option<Instant>,
}

/// The streams this node has seen lately.
#[derive(Debug)]
pub(super) struct Sequencer<T> {
    streams: HashMap<i64, Stream<T>>,
    swept: Instant,
}

#[derive(Debug)]
struct Stream<T> {
    /// The last id handed over here; `None` until the first.
    last: Option<i64>,
    seen: Instant,
    /// Events waiting for their predecessor, by id.
    held: BTreeMap<i64, Held<T>>,
}

#[derive(Debug)]
struct Held<T> {
    after: Option<i64>,
    until: Instant,
    event: T,
}

impl<T> Sequencer<T> {
    pub fn new(now: Instant) -> Self {
        Sequencer { streams: HashMap::new(), swept: now }
    }

    /// Takes an event at `position`. With `wait` false (the bus is down, so
    /// no predecessor can arrive) nothing is held.
    pub fn accept(&mut self, position: Position, event: T, now: Instant, wait: bool) -> Outcome<T> {
        self.sweep(now);
        let stream = self.streams.entry(position.stream).or_insert_with(|| Stream {
            last: None,
            seen: now,
            held: BTreeMap::new(),
        });
        stream.seen = now;
        if stream.last.is_some_and(|last| position.id <= last) {
            return Outcome { ready: Vec::new(), late: true, wake_at: None };
        }
        let follows = follows(stream.last, position.after)
            .unwrap_or_else(|| Duration::from_millis(position.after_age_ms) >= WAIT);
        if follows || !wait {
            let mut ready = vec![event];
            stream.last = Some(position.id);
            stream.drain(&mut ready);
            return Outcome { ready, late: false, wake_at: None };
        }
        let first_hold = stream.held.is_empty();
        let until = now + WAIT;
        stream.held.insert(position.id, Held { after: position.after, until, event });
        if stream.held.len() > MAX_HELD {
            let mut ready = Vec::with_capacity(stream.held.len());
            for (id, held) in std::mem::take(&mut stream.held) {
                ready.push(held.event);
                stream.last = Some(id);
            }
            return Outcome { ready, late: false, wake_at: None };
        }
        Outcome { ready: Vec::new(), late: false, wake_at: first_hold.then_some(until) }
    }

    /// Hands over what waited its time in `stream`, skipping the gaps it waited
    /// on; and when to wake the stream next, if it still holds events.
    pub fn release_due(&mut self, stream: i64, now: Instant) -> (Vec<T>, Option<Instant>) {
        let Some(stream) = self.streams.get_mut(&stream) else { return (Vec::new(), None) };
        let mut ready = Vec::new();
        // Everything up to the last event whose time is up goes, in order.
        if let Some(due) = stream.held.iter().filter(|(_, held)| held.until <= now).map(|(id, _)| *id).last() {
            let rest = stream.held.split_off(&(due + 1));
            for (id, held) in std::mem::replace(&mut stream.held, rest) {
                ready.push(held.event);
                stream.last = Some(id);
            }
            stream.drain(&mut ready);
        }
        let next = stream.held.values().map(|held| held.until).min();
        (ready, next)
    }

    /// Forgets streams quiet for [`RETAIN`], now and then.
    fn sweep(&mut self, now: Instant) {
        if now.duration_since(self.swept) < RETAIN {
            return;
        }
        self.swept = now;
        self.streams.retain(|_, stream| !stream.held.is_empty() || now.duration_since(stream.seen) < RETAIN);
    }
}

/// Whether an event whose predecessor is `after` may follow `last`, the last
/// one handed over here; `None` when none of the stream was.
fn follows(last: Option<i64>, after: Option<i64>) -> Option<bool> {
    match (last, after) {
        (_, None) => Some(true),
        (Some(last), Some(after)) => Some(after <= last),
        (None, Some(_)) => None,
    }
}

impl<T> Stream<T> {
    /// Moves held events whose predecessor was handed over into `ready`.
    fn drain(&mut self, ready: &mut Vec<T>) {
        while let Some(entry) = self.held.first_entry() {
            if follows(self.last, entry.get().after) != Some(true) {
                return;
            }
            let (id, held) = entry.remove_entry();
            ready.push(held.event);
            self.last = Some(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(id: i64, after: Option<i64>, after_age_ms: u64) -> Position {
        Position { stream: 7, id, after, after_age_ms }
    }

    #[test]
    fn events_in_order_go_at_once() {
        let now = Instant::now();
        let mut order = Sequencer::new(now);
        assert_eq!(order.accept(at(3, Some(1), 5_000), "c", now, true).ready, ["c"], "predecessor long past");
        assert_eq!(order.accept(at(5, Some(3), 1), "e", now, true).ready, ["e"]);
        assert_eq!(order.accept(at(9, None, 0), "first of another run", now, true).ready.len(), 1);
    }

    #[test]
    fn an_event_waits_for_its_predecessor_then_both_go_in_order() {
        let now = Instant::now();
        let mut order = Sequencer::new(now);
        order.accept(at(1, None, 0), "a", now, true);
        let held = order.accept(at(3, Some(2), 1), "c", now, true);
        assert!(held.ready.is_empty());
        assert_eq!(held.wake_at, Some(now + WAIT));
        assert_eq!(order.accept(at(4, Some(3), 1), "d", now, true).wake_at, None, "one wake-up per stream");
        assert_eq!(order.accept(at(2, Some(1), 1), "b", now, true).ready, ["b", "c", "d"]);
        assert!(order.accept(at(2, Some(1), 1), "b again", now, true).late);
    }

    #[test]
    fn a_new_stream_waits_for_a_recent_predecessor() {
        let now = Instant::now();
        let mut order = Sequencer::new(now);
        assert!(order.accept(at(8, Some(6), 10), "h", now, true).ready.is_empty());
        assert_eq!(order.accept(at(6, Some(2), 60_000), "f", now, true).ready, ["f", "h"]);
    }

    #[test]
    fn a_lost_predecessor_is_skipped_after_the_wait_and_dropped_when_it_turns_up() {
        let now = Instant::now();
        let mut order = Sequencer::new(now);
        order.accept(at(1, None, 0), "a", now, true);
        order.accept(at(3, Some(2), 1), "c", now, true);
        order.accept(at(5, Some(4), 1), "e", now + WAIT / 2, true);
        let (ready, next) = order.release_due(7, now + WAIT / 4);
        assert!(ready.is_empty());
        assert_eq!(next, Some(now + WAIT));
        let (ready, next) = order.release_due(7, now + WAIT);
        assert_eq!(ready, ["c"]);
        assert_eq!(next, Some(now + WAIT / 2 + WAIT), "e still waits for 4");
        assert_eq!(order.accept(at(4, Some(3), 1), "d", now + WAIT, true).ready, ["d", "e"]);
        assert!(order.accept(at(2, Some(1), 1), "b", now + WAIT, true).late);
    }

    #[test]
    fn a_gap_with_too_many_events_behind_it_is_skipped_at_once() {
        let now = Instant::now();
        let mut order = Sequencer::new(now);
        order.accept(at(1, None, 0), 1, now, true);
        for id in 3..3 + MAX_HELD as i64 {
            assert!(order.accept(at(id, Some(id - 1), 1), id, now, true).ready.is_empty());
        }
        let next = 3 + MAX_HELD as i64;
        let released = order.accept(at(next, Some(next - 1), 1), next, now, true).ready;
        assert_eq!(released, (3..=next).collect::<Vec<_>>(), "in order, without waiting for 2");
        assert!(order.accept(at(2, Some(1), 1), 2, now, true).late);
    }

    #[test]
    fn without_a_bus_nothing_waits() {
        let now = Instant::now();
        let mut order = Sequencer::new(now);
        order.accept(at(1, None, 0), "a", now, true);
        assert_eq!(order.accept(at(3, Some(2), 1), "c", now, false).ready, ["c"]);
        assert!(order.accept(at(2, Some(1), 1), "b", now, false).late);
    }

    #[test]
    fn quiet_streams_are_forgotten() {
        let now = Instant::now();
        let mut order = Sequencer::new(now);
        order.accept(at(1, None, 0), "a", now, true);
        let later = now + RETAIN + Duration::from_secs(1);
        order.accept(Position { stream: 8, id: 1, after: None, after_age_ms: 0 }, "x", later, true);
        assert!(!order.streams.contains_key(&7));
        assert!(!order.accept(at(1, None, 0), "a again", later, true).late, "a forgotten stream starts afresh");
    }
}
