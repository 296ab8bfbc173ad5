//! The control thread's side of a driver thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::Sender;
use pinecone_engine::forward::Doorbell;
use tracing::warn;

use super::command::{DriverCommand, DriverReport};

/// How a driver reaches the control thread.
pub(crate) struct DriverHooks {
    /// Called with each report.
    pub(crate) report: Box<dyn Fn(DriverReport) + Send>,
    /// Called after a round in which the worker queued protocol frames or
    /// datagrams for the control thread (never for traffic alone).
    pub(crate) after_round: Box<dyn Fn() + Send>,
}

/// The control thread's handle on a running driver. Dropping it stops the
/// driver (closing its peerings) and joins its thread.
pub(crate) struct DriverHandle {
    pub(crate) commands: Sender<DriverCommand>,
    /// The worker's doorbell, whose callback wakes the driver thread from
    /// its wait for readiness.
    pub(crate) doorbell: Arc<Doorbell>,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) thread: Option<JoinHandle<()>>,
}

impl DriverHandle {
    /// Queues a command and wakes the driver.
    pub(crate) fn send(&self, command: DriverCommand) {
        if self.commands.send(command).is_ok() {
            self.doorbell.wake();
        }
    }
}

impl Drop for DriverHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.doorbell.wake();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                warn!("an I/O driver thread panicked");
            }
        }
    }
}
