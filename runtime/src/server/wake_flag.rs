//! A waker that remembers it was woken, for sources a task should poll only
//! after they woke it.
//!
//! A connection's task is woken for every frame it reads and every reply it
//! writes. Polling its rarely-ready sources on each of those wakes (the stop
//! signals, the ping and deadline timers, the event lane) re-registers the
//! task's waker with every one of them, under their locks or atomics: ~2.5k
//! instructions per frame under callgrind, for sources that are ready once in
//! seconds, if ever. Polled with a flag's own waker instead, a source that
//! becomes ready raises the flag and wakes the task, which then polls only
//! the sources behind a raised flag.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Wake, Waker};

use futures_util::task::AtomicWaker;

/// Raised by its waker (or by the task itself); wakes the task that registered.
pub(crate) struct WakeFlag {
    /// Kept as the `Arc`, not as a ready-made `Waker` (twice its size, in
    /// every idle connection's task): a waker is made only to poll.
    shared: Arc<Raised>,
}

struct Raised {
    up: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Raised {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.up.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl WakeFlag {
    /// A raised flag: the first check polls (and so registers with) every source.
    pub(crate) fn new() -> Self {
        WakeFlag { shared: Arc::new(Raised { up: AtomicBool::new(true), task: AtomicWaker::new() }) }
    }

    /// Makes `cx`'s task the one the flag wakes; once per poll of the task.
    pub(crate) fn register(&self, cx: &Context<'_>) {
        self.shared.task.register(cx.waker());
    }

    /// Lowers the flag and says whether it was up: then poll the sources,
    /// with [`waker`](Self::waker)'s waker. Costs one atomic swap.
    pub(crate) fn take(&self) -> bool {
        self.shared.up.swap(false, Ordering::AcqRel)
    }

    /// Raises the flag from the task: a source was set anew (a timer armed)
    /// or left unfinished, and must be polled at the next check.
    pub(crate) fn raise(&self) {
        self.shared.up.store(true, Ordering::Release);
    }

    /// The waker to poll the sources with (the same waker each time, so
    /// they need not register it anew).
    pub(crate) fn waker(&self) -> Waker {
        Waker::from(Arc::clone(&self.shared))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// A task that counts its wake-ups, for tests of what wakes it.
    pub(crate) struct Task(AtomicUsize);

    impl Task {
        /// The task and its waker.
        pub(crate) fn new() -> (Arc<Task>, Waker) {
            let task = Arc::new(Task(AtomicUsize::new(0)));
            let waker = Waker::from(Arc::clone(&task));
            (task, waker)
        }

        /// How often it was woken.
        pub(crate) fn wakes(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }

    impl Wake for Task {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_new_flag_is_up_and_its_waker_raises_it_and_wakes_the_task() {
        let flag = WakeFlag::new();
        let (task, waker) = Task::new();
        flag.register(&Context::from_waker(&waker));
        assert!(flag.take(), "raised at first, so every source is polled once");
        assert!(!flag.take(), "lowered by the check");

        flag.waker().wake_by_ref();
        assert_eq!(task.wakes(), 1, "the task was woken");
        assert!(flag.take());

        flag.raise();
        assert_eq!(task.wakes(), 1, "raising from the task wakes nobody");
        assert!(flag.take());
        assert!(!flag.take());
    }
}
