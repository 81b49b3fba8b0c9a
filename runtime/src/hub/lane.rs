//! A connection's outbound lane: the bounded, ordered queue of events the hub
//! fills and the connection loop drains.
//!
//! Why not a tokio channel: a bounded `mpsc` channel allocates its first
//! block of 32 slots and its cache-padded state when it is made, ~1.6 KiB
//! that every idle connection kept (measured with heaptrack, #33 item 4).
//! This lane is one small allocation, and its queue holds memory only while
//! events wait in it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use tokio_util::sync::CancellationToken;

use super::Frame;

/// The sending end of one connection's outbound lane.
#[derive(Debug, Clone)]
pub struct Lane {
    pub(super) connection: u64,
    queue: Arc<Mutex<Queue>>,
    capacity: usize,
    overflow: CancellationToken,
    /// The per-core worker whose thread runs the connection, if one does.
    pub(super) worker: Option<usize>,
}

/// The receiving end of a [`Lane`]: the connection's events, in the order
/// the lane took them.
#[derive(Debug)]
pub struct Events(Arc<Mutex<Queue>>);

#[derive(Debug, Default)]
struct Queue {
    frames: VecDeque<Frame>,
    /// The receiver's waker, while it waits on an empty queue.
    waiting: Option<Waker>,
    /// The receiver is gone: the lane takes nothing more.
    closed: bool,
}

fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    // A panic while holding the lock leaves a queue that is still whole.
    queue.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Lane {
    /// A lane for connection `connection` holding `capacity` events, and its
    /// receiving end; `overflow` is cancelled when an event had to be dropped.
    pub fn new(connection: u64, capacity: usize) -> (Lane, Events, CancellationToken) {
        let queue = Arc::new(Mutex::new(Queue::default()));
        let overflow = CancellationToken::new();
        let lane = Lane {
            connection,
            queue: Arc::clone(&queue),
            capacity: capacity.max(1),
            overflow: overflow.clone(),
            worker: None,
        };
        (lane, Events(queue), overflow)
    }

    /// The same lane, for a connection that per-core worker `index` runs:
    /// events for it go through that worker's [`Relay`](super::Relay) once
    /// the hub has one.
    pub fn on_worker(self, index: Option<usize>) -> Lane {
        Lane { worker: index, ..self }
    }

    /// Queues `frame` and wakes the receiver; whether the lane took it. A
    /// full lane drops it and cancels `overflow` (its connection closes as a
    /// slow consumer); a lane whose receiver is gone drops it quietly.
    pub(super) fn offer(&self, frame: &Frame) -> bool {
        let mut queue = lock(&self.queue);
        if queue.closed {
            return false;
        }
        if queue.frames.len() >= self.capacity {
            drop(queue);
            self.overflow.cancel();
            return false;
        }
        queue.frames.push_back(frame.clone());
        let waiting = queue.waiting.take();
        drop(queue);
        if let Some(waker) = waiting {
            waker.wake();
        }
        true
    }
}

impl Events {
    /// The next event, or `Pending` (with `cx` woken by the next offer) while
    /// there is none; `None` once no lane is left to fill it (the hub let
    /// the connection go).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        let mut queue = lock(&self.0);
        if let Some(frame) = queue.pop() {
            return Poll::Ready(Some(frame));
        }
        // Only this end is left and no lane can be cloned from nothing.
        if Arc::strong_count(&self.0) == 1 {
            return Poll::Ready(None);
        }
        match &queue.waiting {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => queue.waiting = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The next event if one waits.
    pub fn try_recv(&mut self) -> Option<Frame> {
        lock(&self.0).pop()
    }

    /// Waits for the next event (`None` once no lane is left).
    pub async fn recv(&mut self) -> Option<Frame> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }
}

impl Queue {
    /// The oldest frame; the queue's memory goes once it is empty.
    fn pop(&mut self) -> Option<Frame> {
        let frame = self.frames.pop_front()?;
        if self.frames.is_empty() {
            self.frames = VecDeque::new();
        }
        Some(frame)
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let mut queue = lock(&self.0);
        queue.closed = true;
        queue.frames = VecDeque::new();
        queue.waiting = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_arrive_in_order_up_to_the_capacity_then_overflow() {
        let (lane, mut events, overflow) = Lane::new(1, 3);
        for text in ["a", "b", "c"] {
            assert!(lane.offer(&text.into()));
        }
        assert!(!lane.offer(&"d".into()), "a full lane takes nothing more");
        assert!(overflow.is_cancelled(), "and asks its connection to close");
        let received = [events.recv().await, events.recv().await, events.recv().await];
        assert_eq!(
            received.map(|frame| frame.map(|f| f.to_string())),
            [Some("a"), Some("b"), Some("c")].map(|s| s.map(String::from))
        );
        assert!(events.try_recv().is_none());
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_by_an_offer_from_another_task() {
        let (lane, mut events, _) = Lane::new(1, 4);
        let offered = tokio::spawn(async move {
            tokio::task::yield_now().await;
            lane.offer(&"later".into())
        });
        assert_eq!(events.recv().await.as_deref(), Some("later"));
        assert!(offered.await.expect("offering task"));
    }

    #[test]
    fn an_idle_lane_holds_no_queue_and_ends_when_its_lanes_are_gone() {
        let (lane, mut events, _) = Lane::new(1, 64);
        for n in 0..40 {
            assert!(lane.offer(&n.to_string().into()));
        }
        while events.try_recv().is_some() {}
        assert_eq!(lock(&events.0).frames.capacity(), 0, "drained, the queue's memory is gone");
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(events.poll_recv(&mut cx).is_pending(), "a lane is left");
        drop(lane);
        assert_eq!(events.poll_recv(&mut cx), Poll::Ready(None));
    }

    #[test]
    fn a_lane_whose_receiver_is_gone_takes_nothing() {
        let (lane, events, overflow) = Lane::new(1, 4);
        drop(events);
        assert!(!lane.offer(&"late".into()));
        assert!(!overflow.is_cancelled(), "not a slow consumer: the connection is gone");
    }
}
