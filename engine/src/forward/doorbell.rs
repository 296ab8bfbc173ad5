//! Waking a worker's thread when something arrives for it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// The callback an I/O driver registers to be woken (for example a write
/// to an eventfd its thread polls).
pub type WakeFn = Box<dyn Fn() + Send + Sync>;

/// Rings a worker's wake callback at most once until the worker next
/// drains what was sent to it, so that a burst of batches costs one wakeup.
#[derive(Default)]
pub(crate) struct Doorbell {
    rung: AtomicBool,
    wake: OnceLock<WakeFn>,
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
    /// Sets the callback; fails if one was set before.
    pub(crate) fn install(&self, wake: WakeFn) -> Result<(), WakeFn> {
        self.wake.set(wake)
    }

    /// Called after queuing something for the worker.
    pub(crate) fn ring(&self) {
        if !self.rung.swap(true, Ordering::AcqRel) {
            if let Some(wake) = self.wake.get() {
                wake();
            }
        }
    }

    /// Called by the worker before it drains its queues: anything queued
    /// after this rings again.
    pub(crate) fn answer(&self) {
        self.rung.swap(false, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    use super::*;

    #[test]
    fn rings_once_until_answered() {
        let bell = Doorbell::default();
        let count = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&count);
        assert!(bell
            .install(Box::new(move || {
                seen.fetch_add(1, Ordering::Relaxed);
            }))
            .is_ok());
        bell.ring();
        bell.ring();
        assert_eq!(count.load(Ordering::Relaxed), 1);
        bell.answer();
        bell.ring();
        assert_eq!(count.load(Ordering::Relaxed), 2);
        assert!(bell.install(Box::new(|| {})).is_err());
    }
}
