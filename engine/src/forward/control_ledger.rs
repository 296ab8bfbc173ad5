//! The bytes of received protocol frames the control plane holds, per
//! peering and in total, and the workers waiting for some of them to be
//! released.
//!
//! A worker charges a frame to its peering and to the total before queuing
//! it for the control plane; the charge travels with the frame and is
//! released when the control plane drops it, so a peering that floods the
//! control plane is held at its bound for as long as its frames wait there,
//! however the control thread schedules them. A worker refused a charge
//! stops reading that peering and asks to be woken; the release wakes it.
//! The refusal and the release each publish their change before looking at
//! the other side's (a sequentially consistent fence between), so one of
//! them always sees the other: no wakeup is lost.

use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use super::counters::PeeringCounters;
use super::doorbell::Doorbell;

/// A worker's doorbell, and whether it waits for the control plane.
#[derive(Debug)]
pub(crate) struct ControlWaiter {
    doorbell: Arc<Doorbell>,
    /// The worker stopped reading a peering because a control queue bound
    /// was reached: ring it when a frame leaves or is released.
    awaiting: AtomicBool,
}

/// Bytes charged to the control plane, and who waits for room.
#[derive(Debug)]
pub(crate) struct ControlLedger {
    /// Bytes of every frame charged and not yet released.
    charged: AtomicUsize,
    per_peering: usize,
    total: usize,
    waiters: Box<[ControlWaiter]>,
}

impl ControlLedger {
    /// A ledger allowing `per_peering` bytes to each peering and `total` in
    /// all, for workers with these doorbells.
    pub(crate) fn new(per_peering: usize, total: usize, doorbells: &[Arc<Doorbell>]) -> Self {
        ControlLedger {
            charged: AtomicUsize::new(0),
            per_peering,
            total,
            waiters: doorbells
                .iter()
                .map(|doorbell| ControlWaiter {
                    doorbell: Arc::clone(doorbell),
                    awaiting: AtomicBool::new(false),
                })
                .collect(),
        }
    }

    /// Bytes charged in all.
    pub(crate) fn charged(&self) -> usize {
        self.charged.load(SeqCst)
    }

    /// Charges `bytes` to the peering with `counters` (owned by worker
    /// `worker`) and to the total. When a bound is in the way, asks for
    /// `worker` to be woken once there is room, then tries once more.
    pub(crate) fn charge(
        self: &Arc<Self>,
        worker: usize,
        counters: &Arc<PeeringCounters>,
        bytes: usize,
    ) -> Option<ControlCharge> {
        if let Some(charge) = self.try_charge(counters, bytes) {
            return Some(charge);
        }
        self.await_room(worker);
        self.try_charge(counters, bytes)
    }

    fn try_charge(
        self: &Arc<Self>,
        counters: &Arc<PeeringCounters>,
        bytes: usize,
    ) -> Option<ControlCharge> {
        // Only the owning worker adds to a peering's charge, so the check
        // cannot be overtaken; releases only make room.
        if counters.control_bytes().saturating_add(bytes) > self.per_peering {
            return None;
        }
        let room = |charged: usize| {
            let after = charged.checked_add(bytes)?;
            (after <= self.total).then_some(after)
        };
        self.charged.fetch_update(SeqCst, SeqCst, room).ok()?;
        counters.charge_control(bytes);
        Some(ControlCharge {
            ledger: Arc::clone(self),
            counters: Arc::clone(counters),
            bytes,
        })
    }

    /// Marks `worker` as waiting for room; what is published after this is
    /// seen by the caller's next look, or the publisher sees the mark.
    pub(crate) fn await_room(&self, worker: usize) {
        if let Some(waiter) = self.waiters.get(worker) {
            waiter.awaiting.store(true, SeqCst);
        }
        fence(SeqCst);
    }

    /// Rings every waiting worker but `except`, after room was made.
    pub(crate) fn wake_waiting(&self, except: Option<usize>) {
        fence(SeqCst);
        for (index, waiter) in self.waiters.iter().enumerate() {
            if Some(index) != except && waiter.awaiting.swap(false, SeqCst) {
                waiter.doorbell.ring();
            }
        }
    }
}

/// Bytes a queued frame holds against its peering's and the total bound,
/// given back when it is dropped (or released).
#[derive(Debug)]
pub(crate) struct ControlCharge {
    ledger: Arc<ControlLedger>,
    counters: Arc<PeeringCounters>,
    bytes: usize,
}

impl ControlCharge {
    /// Whether these bytes were charged to the peering counted by
    /// `counters` (each attached peering has counters of its own).
    pub(crate) fn charged_to(&self, counters: &Arc<PeeringCounters>) -> bool {
        Arc::ptr_eq(&self.counters, counters)
    }

    /// Gives the bytes back and wakes the workers waiting for room, but
    /// `except`. Releasing twice gives back nothing more.
    pub(crate) fn release(&mut self, except: Option<usize>) {
        let bytes = std::mem::take(&mut self.bytes);
        if bytes == 0 {
            return;
        }
        self.counters.release_control(bytes);
        self.ledger.charged.fetch_sub(bytes, SeqCst);
        self.ledger.wake_waiting(except);
    }
}

impl Drop for ControlCharge {
    fn drop(&mut self) {
        self.release(None);
    }
}
