//! What ends a connection from outside its socket: the server shutting down,
//! the user's credentials revoked (deletion), an event lane overflowing.
//!
//! They are polled only after one of them woke the task ([`WakeFlag`]):
//! polled on every wake instead, each `cancelled()` future re-registered the
//! task's waker under its token's mutex, ~1.5k instructions per frame under
//! callgrind, for signals that fire once in a connection's life, if ever.

use std::future::Future;
use std::pin::Pin;
use std::task::Context;

use tokio_util::sync::WaitForCancellationFutureOwned;

use super::close::CloseReason;
use super::wake_flag::WakeFlag;

/// A signal that fired, as the connection acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// End the connection now.
    Stop(CloseReason),
    /// The credentials were revoked: read nothing more, close once the
    /// frames in flight are answered. Reported once.
    Revoked,
}

/// The future of one outside signal (a token's `cancelled_owned()`), pinned
/// in the connection's task rather than boxed: no allocation of its own.
pub(crate) type SignalFuture<'a> = Pin<&'a mut WaitForCancellationFutureOwned>;

/// The connection's outside signals, polled only when one of them woke it.
pub(crate) struct Signals<'a> {
    shutdown: SignalFuture<'a>,
    overflow: SignalFuture<'a>,
    /// `None` once reported.
    revoked: Option<SignalFuture<'a>>,
    fired: WakeFlag,
}

impl<'a> Signals<'a> {
    /// Watches the server's `shutdown`, the connection's close signal
    /// (`revoked`) and its event lane's `overflow` (each token's
    /// `cancelled_owned()`).
    pub(crate) fn new(shutdown: SignalFuture<'a>, revoked: SignalFuture<'a>, overflow: SignalFuture<'a>) -> Self {
        Signals { shutdown, overflow, revoked: Some(revoked), fired: WakeFlag::new() }
    }

    /// Makes `cx`'s task the one a signal wakes; once per poll of the task.
    pub(crate) fn register(&self, cx: &Context<'_>) {
        self.fired.register(cx);
    }

    /// A signal that fired since the last check: a lane overflow first, then
    /// shutdown, then revocation. Costs an atomic swap unless one did.
    pub(crate) fn check(&mut self) -> Option<Signal> {
        if !self.fired.take() {
            return None;
        }
        let waker = self.fired.waker();
        let mut cx = Context::from_waker(&waker);
        if self.overflow.as_mut().poll(&mut cx).is_ready() {
            return Some(Signal::Stop(CloseReason::SlowConsumer));
        }
        if self.shutdown.as_mut().poll(&mut cx).is_ready() {
            return Some(Signal::Stop(CloseReason::Shutdown));
        }
        let revoked = self.revoked.as_mut().is_some_and(|revoked| revoked.as_mut().poll(&mut cx).is_ready());
        if revoked {
            self.revoked = None;
            return Some(Signal::Revoked);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;

    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::server::wake_flag::tests::Task;

    /// Tokens for shutdown, revocation and overflow, and their futures.
    fn tokens() -> ([CancellationToken; 3], [WaitForCancellationFutureOwned; 3]) {
        let tokens = [CancellationToken::new(), CancellationToken::new(), CancellationToken::new()];
        let futures = tokens.clone().map(CancellationToken::cancelled_owned);
        (tokens, futures)
    }

    #[test]
    fn a_signal_wakes_the_task_and_is_reported_once_checked() {
        let ([shutting_down, revoking, _], [shutdown, revoked, overflow]) = tokens();
        let (shutdown, revoked, overflow) = (pin!(shutdown), pin!(revoked), pin!(overflow));
        let mut signals = Signals::new(shutdown, revoked, overflow);
        let (task, waker) = Task::new();
        signals.register(&Context::from_waker(&waker));
        assert_eq!(signals.check(), None, "nothing fired");
        assert_eq!(signals.check(), None, "not polled again without a wake-up");

        revoking.cancel();
        assert_eq!(task.wakes(), 1, "the task was woken");
        // Woken, the task polls the connection, which registers it again.
        signals.register(&Context::from_waker(&waker));
        assert_eq!(signals.check(), Some(Signal::Revoked));
        assert_eq!(signals.check(), None, "revocation is reported once");

        shutting_down.cancel();
        assert_eq!(task.wakes(), 2);
        assert_eq!(signals.check(), Some(Signal::Stop(CloseReason::Shutdown)));
    }

    #[test]
    fn an_overflow_comes_before_shutdown_and_a_signal_fired_before_the_first_check_counts() {
        let ([shutting_down, _, overflowing], [shutdown, revoked, overflow]) = tokens();
        shutting_down.cancel();
        overflowing.cancel();
        let (shutdown, revoked, overflow) = (pin!(shutdown), pin!(revoked), pin!(overflow));
        let mut signals = Signals::new(shutdown, revoked, overflow);
        assert_eq!(signals.check(), Some(Signal::Stop(CloseReason::SlowConsumer)));
    }
}
