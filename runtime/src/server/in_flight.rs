//! The frames a connection is answering, yielded in the order they were read.
//!
//! Clients mostly wait for each reply before the next request, so usually one
//! frame is in flight. That one is held and polled directly, with the
//! connection task's waker; only frames read while another is still running
//! go into a `FuturesOrdered`, whose per-future task (an allocation, a waker
//! and a ready queue) cost ~1k instructions per frame under callgrind. That
//! queue is made by the first such frame: made eagerly it is two allocations
//! (~200 B) in every connection, idle ones included (#33 item 4).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use futures_util::stream::FuturesOrdered;

use crate::service::Outcome;

/// A frame being answered: its outcome and how long its handler took.
pub(crate) type Pending = Pin<Box<dyn Future<Output = (Outcome, Duration)> + Send>>;

/// Frames in flight, oldest first.
#[derive(Default)]
pub(crate) struct InFlight {
    /// The oldest, when it was read with nothing else in flight.
    first: Option<Pending>,
    /// All read after `first`, in order; made by the first of them.
    rest: Option<FuturesOrdered<Pending>>,
}

impl InFlight {
    /// Adds the newest frame.
    pub(crate) fn push(&mut self, frame: Pending) {
        if self.is_empty() {
            self.first = Some(frame);
        } else {
            self.rest.get_or_insert_with(FuturesOrdered::new).push_back(frame);
        }
    }

    /// How many frames are in flight.
    pub(crate) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.as_ref().map_or(0, FuturesOrdered::len)
    }

    /// Whether none is.
    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none() && self.rest.as_ref().is_none_or(FuturesOrdered::is_empty)
    }
}

impl Stream for InFlight {
    type Item = (Outcome, Duration);

    /// The oldest frame's outcome once it is done: `first` before any of `rest`.
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(first) = &mut self.first {
            let done = std::task::ready!(first.as_mut().poll(cx));
            self.first = None;
            return Poll::Ready(Some(done));
        }
        match &mut self.rest {
            Some(rest) if !rest.is_empty() => Pin::new(rest).poll_next(cx),
            // Polling an empty `FuturesOrdered` still registers the waker:
            // three times per frame in the connection loop (#33 item 1).
            _ => Poll::Ready(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use tokio::sync::oneshot;

    use super::*;

    fn answered(text: &str) -> Outcome {
        Outcome { operation: None, error: None, text: text.to_owned() }
    }

    /// A frame answered when `finish` is sent its text.
    fn frame() -> (oneshot::Sender<&'static str>, Pending) {
        let (finish, finished) = oneshot::channel::<&'static str>();
        let frame = Box::pin(async move { (answered(finished.await.unwrap_or("dropped")), Duration::ZERO) });
        (finish, frame)
    }

    #[tokio::test]
    async fn outcomes_come_in_read_order_whichever_finishes_first() {
        let mut in_flight = InFlight::default();
        let (first, frame_1) = frame();
        let (second, frame_2) = frame();
        let (third, frame_3) = frame();
        in_flight.push(frame_1);
        in_flight.push(frame_2);
        assert_eq!(in_flight.len(), 2);
        third.send("3").unwrap();
        second.send("2").unwrap();
        assert!(futures_util::poll!(in_flight.next()).is_pending(), "the oldest is not done");
        first.send("1").unwrap();
        in_flight.push(frame_3);
        let texts: Vec<String> = in_flight.by_ref().take(3).map(|(outcome, _)| outcome.text).collect().await;
        assert_eq!(texts, ["1", "2", "3"]);
        assert!(in_flight.is_empty());
    }

    #[tokio::test]
    async fn a_frame_read_after_the_others_finished_is_held_as_the_first_again() {
        let mut in_flight = InFlight::default();
        let (done, frame_1) = frame();
        in_flight.push(frame_1);
        done.send("1").unwrap();
        assert_eq!(in_flight.next().await.map(|(outcome, _)| outcome.text).as_deref(), Some("1"));
        let (done, frame_2) = frame();
        in_flight.push(frame_2);
        // One frame at a time never makes the queue for frames behind it.
        assert!(in_flight.first.is_some() && in_flight.rest.is_none());
        done.send("2").unwrap();
        assert_eq!(in_flight.next().await.map(|(outcome, _)| outcome.text).as_deref(), Some("2"));
        assert_eq!(in_flight.len(), 0);
    }
}
