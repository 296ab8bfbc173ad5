//! Waking a thread when something arrives for it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// How a thread waiting for work is woken: a callback (for example a write
/// to an eventfd the thread polls, or a message on a channel it blocks on)
/// that [`ring`](Self::ring) calls at most once until the thread
/// [`answer`](Self::answer)s, so that a burst of work costs one wakeup.
///
/// The forwarding plane keeps one per worker, whose callback the worker's
/// I/O driver installs; a node's control thread has one of its own.
#[derive(Default)]
pub struct Doorbell {
    rung: AtomicBool,
    wake: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for Doorbell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Doorbell")
            .field("rung", &self.rung.load(Ordering::Relaxed))
            .field("wake", &self.wake.get().is_some())
            .finish()
    }
}

impl Doorbell {
    /// A doorbell that calls `wake`.
    pub fn new(wake: impl Fn() + Send + Sync + 'static) -> Doorbell {
        let doorbell = Doorbell::default();
        let _ = doorbell.wake.set(Box::new(wake));
        doorbell
    }

    /// Sets the callback of a doorbell made without one; answers false (and
    /// keeps the first) if it has one already. Until then, ringing wakes
    /// nobody.
    #[must_use]
    pub fn install(&self, wake: impl Fn() + Send + Sync + 'static) -> bool {
        self.wake.set(Box::new(wake)).is_ok()
    }

    /// Called after queuing something for the thread: wakes it unless it
    /// was woken before and has not answered since.
    pub fn ring(&self) {
        if !self.rung.swap(true, Ordering::AcqRel) {
            self.wake();
        }
    }

    /// Wakes the thread whether or not it was woken before, for work it
    /// looks for before it answers (a thread's command queue, a stop flag).
    pub fn wake(&self) {
        if let Some(wake) = self.wake.get() {
            wake();
        }
    }

    /// Called by the thread before it takes what was queued for it: anything
    /// queued after this rings again.
    pub fn answer(&self) {
        self.rung.swap(false, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    use super::*;

    fn counting() -> (Arc<AtomicUsize>, impl Fn() + Send + Sync + 'static) {
        let count = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&count);
        (count, move || {
            seen.fetch_add(1, Ordering::Relaxed);
        })
    }

    #[test]
    fn rings_once_until_answered() {
        let (count, wake) = counting();
        let bell = Doorbell::default();
        bell.ring();
        assert!(bell.install(wake));
        bell.answer();
        bell.ring();
        bell.ring();
        assert_eq!(count.load(Ordering::Relaxed), 1);
        bell.answer();
        bell.ring();
        assert_eq!(count.load(Ordering::Relaxed), 2);
        assert!(!bell.install(|| {}));
    }

    #[test]
    fn wake_calls_through_whether_rung_or_not() {
        let (count, wake) = counting();
        let bell = Doorbell::new(wake);
        bell.ring();
        bell.wake();
        bell.wake();
        assert_eq!(count.load(Ordering::Relaxed), 3);
        // Waking does not answer: a ring still waits for the answer.
        bell.ring();
        assert_eq!(count.load(Ordering::Relaxed), 3);
    }
}
