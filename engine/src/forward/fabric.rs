//! What the workers, the control thread and the application share: the
//! published routing table and port map, and every queue between threads.

use std::collections::HashMap;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::ArcSwap;
use crossbeam_queue::ArrayQueue;

use super::batch::Batch;
use super::config::ForwardConfig;
use super::control_ledger::ControlLedger;
use super::counters::{DropCause, PeeringCounters};
use super::doorbell::Doorbell;
use super::error::{LocalSendError, ProtocolSendError};
use super::messages::{ControlFrame, LocalDelivery};
use super::plane_stats::PlaneStats;
use super::port_map::{Location, PortLease, PortMap, SlotId};
use super::worker::Worker;
use crate::control::{Millis, Port, RoutingTable, TrafficAction, LOCAL_PORT};
use crate::wire::Frame;

/// The queues into one worker.
#[derive(Debug)]
pub(crate) struct WorkerQueues {
    /// Traffic batches from other workers and local sends.
    pub(crate) crossings: ArrayQueue<Batch>,
    /// Protocol frames from the control plane.
    pub(crate) protocol: ArrayQueue<(SlotId, Vec<u8>)>,
    /// Traffic frames the local application sent.
    pub(crate) local: ArrayQueue<(SlotId, Vec<u8>)>,
    /// Drained batches coming back to the worker that filled them.
    pub(crate) recycled: ArrayQueue<Batch>,
    pub(crate) doorbell: Arc<Doorbell>,
    /// Another worker found `crossings` full: the owner rings every worker
    /// once it has drained it.
    pub(crate) crossing_wanted: AtomicBool,
    claimed: AtomicBool,
}

/// The hub of the forwarding plane, shared by every thread.
///
/// The runtime creates it with the control plane's first routing table,
/// hands one [`Worker`] to each forwarding thread, publishes each new
/// table with [`publish_table`](Self::publish_table), feeds
/// [`poll_control`](Self::poll_control) to the
/// [`Router`](crate::control::Router) and sends what the router transmits
/// with [`send_protocol`](Self::send_protocol).
#[derive(Debug)]
pub struct Fabric {
    config: ForwardConfig,
    pub(crate) table: Arc<ArcSwap<RoutingTable>>,
    pub(crate) ports: Arc<ArcSwap<PortMap>>,
    pub(crate) workers: Box<[WorkerQueues]>,
    control: ArrayQueue<ControlFrame>,
    /// Bytes of the frames in `control` or held by the control plane.
    control_ledger: Arc<ControlLedger>,
    deliveries: ArrayQueue<LocalDelivery>,
    local: PeeringCounters,
    /// Held while the port map changes and while the stats are summed.
    books: Mutex<PortBooks>,
}

/// What changes with the port map, under one lock: which lease may
/// publish each port, and the counts of the peerings it no longer names,
/// so that no sum counts a peering twice or not at all.
#[derive(Debug, Default)]
struct PortBooks {
    /// The lease that may publish each port, until it is published or the
    /// control plane gives the port up ([`Fabric::unpublish`]).
    leases: HashMap<Port, u64>,
    /// The number of the last lease handed out.
    last_lease: u64,
    /// The counts of the peerings detached so far.
    totals: PlaneStats,
    /// Peerings the control plane closed ([`Fabric::unpublish`]) that
    /// their workers have not detached yet.
    closing: Vec<Arc<PeeringCounters>>,
}

impl Fabric {
    /// A fabric routing by `table` until another is published. Sizes below
    /// the minimum that works are raised to it.
    pub fn new(config: ForwardConfig, table: Arc<RoutingTable>) -> Arc<Fabric> {
        let config = config.sanitised();
        let doorbells: Vec<Arc<Doorbell>> = (0..config.workers).map(|_| Arc::default()).collect();
        let control_ledger = Arc::new(ControlLedger::new(
            config.control_bytes_per_peering,
            config.control_queue_bytes,
            &doorbells,
        ));
        let workers = doorbells
            .into_iter()
            .map(|doorbell| WorkerQueues {
                crossings: ArrayQueue::new(config.crossing_queue_len),
                protocol: ArrayQueue::new(config.protocol_queue_len),
                local: ArrayQueue::new(config.local_queue_len),
                recycled: ArrayQueue::new(config.crossing_queue_len),
                doorbell,
                crossing_wanted: AtomicBool::new(false),
                claimed: AtomicBool::new(false),
            })
            .collect();
        Arc::new(Fabric {
            table: Arc::new(ArcSwap::new(table)),
            ports: Arc::default(),
            workers,
            control: ArrayQueue::new(config.control_queue_len),
            control_ledger,
            deliveries: ArrayQueue::new(config.delivery_queue_len),
            local: PeeringCounters::new(Millis(0)),
            books: Mutex::default(),
            config,
        })
    }

    /// The sizes it runs with.
    pub fn config(&self) -> &ForwardConfig {
        &self.config
    }

    /// Worker `index`, the first time it is asked for; `None` after that or
    /// past the number of workers.
    pub fn worker(self: &Arc<Self>, index: usize) -> Option<Worker> {
        let queues = self.workers.get(index)?;
        if queues.claimed.swap(true, Ordering::AcqRel) {
            return None;
        }
        Some(Worker::new(
            index,
            Arc::clone(&queues.doorbell),
            Arc::clone(self),
        ))
    }

    /// The doorbell of worker `index` (`None` past the number of workers),
    /// rung when traffic or protocol frames are queued for it, or room
    /// appears in the control queue or another worker's queue it was
    /// waiting on. The worker's I/O driver installs the callback that wakes
    /// its thread ([`Doorbell::install`]); the worker answers it.
    pub fn doorbell(&self, index: usize) -> Option<&Arc<Doorbell>> {
        self.workers.get(index).map(|queues| &queues.doorbell)
    }

    /// Makes `table` the one every worker routes by from its next batch on.
    pub fn publish_table(&self, table: Arc<RoutingTable>) {
        self.table.store(table);
    }

    /// The routing table in use.
    pub fn table(&self) -> Arc<RoutingTable> {
        self.table.load_full()
    }

    /// The port map in use.
    pub fn ports(&self) -> Arc<PortMap> {
        self.ports.load_full()
    }

    /// The counters of the peering on `port`.
    pub fn counters(&self, port: Port) -> Option<Arc<PeeringCounters>> {
        let ports = self.ports.load();
        ports.get(port).map(|l| Arc::clone(&l.counters))
    }

    /// The forwarding plane's counters summed over every peering, those
    /// already detached included, and its queues now. It takes a snapshot
    /// of each peering's counters, so it costs in proportion to the
    /// peerings; nothing on the per-frame path waits for it.
    pub fn stats(&self) -> PlaneStats {
        let books = self.books();
        let mut stats = books.totals;
        let ports = self.ports.load();
        let attached = ports.ports().map(|(_, location)| &location.counters);
        for counters in attached.chain(&books.closing) {
            let peering = counters.snapshot();
            stats.add_counts(&peering);
            stats.add_queues(&peering);
        }
        drop(books);
        stats.drops.add(&self.local.snapshot().drops);
        stats.control_queue_frames = self.control.len() as u64;
        stats.control_queue_bytes = self.control_ledger.charged() as u64;
        stats.deliveries_queued = self.deliveries.len() as u64;
        stats
    }

    fn books(&self) -> MutexGuard<'_, PortBooks> {
        self.books.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A lease on `port` for the peering the control plane just put on it:
    /// the worker that takes the peering publishes the port with it
    /// ([`Worker::attach`]). It voids any earlier lease on the port, so a
    /// peering closed before its worker attached it can never publish the
    /// port over the peering that took it next, whichever worker gets to
    /// its attach first.
    pub fn lease(&self, port: Port) -> PortLease {
        let mut books = self.books();
        books.last_lease += 1;
        let number = books.last_lease;
        books.leases.insert(port, number);
        PortLease { port, number }
    }

    /// Publishes `location` as the port's, if `lease` is still the port's;
    /// either way the lease is used up.
    pub(crate) fn publish(&self, lease: PortLease, location: Location) -> bool {
        let mut books = self.books();
        if books.leases.get(&lease.port) != Some(&lease.number) {
            return false;
        }
        books.leases.remove(&lease.port);
        self.ports.rcu(|map| map.with(lease.port, location.clone()));
        true
    }

    /// Unpublishes `port` if it still names `worker`'s `slot`, and keeps
    /// the counts of that slot's peering (`counters`) in the totals.
    ///
    /// A port the control plane gave to a newer peering before this one
    /// was detached no longer names it; its counts are out of the sums
    /// from then until now, which is the one moment a total can seem to go
    /// back.
    pub(crate) fn retire(
        &self,
        port: Port,
        worker: usize,
        slot: SlotId,
        counters: &PeeringCounters,
    ) {
        let mut books = self.books();
        self.ports.rcu(|map| map.without(port, worker, slot));
        books
            .closing
            .retain(|closing| !std::ptr::eq(Arc::as_ptr(closing), counters));
        books.totals.add_counts(&counters.snapshot());
    }

    /// Takes `port` out of the port map at once, whichever peering it
    /// names, and voids its lease. The control plane calls it when it
    /// closes a peering, before the port can be given to another: the
    /// closed peering's worker detaches it later, and until then frames it
    /// still queues for the control plane would pass for the port's next
    /// peering's (see [`poll_control`](Self::poll_control)). From now on
    /// they are dropped, and traffic stops going to it. The worker's
    /// detach then finds the port gone, or naming the newer peering, and
    /// leaves it; a peering not attached yet never publishes the port.
    pub fn unpublish(&self, port: Port) {
        let mut books = self.books();
        books.leases.remove(&port);
        let mut named = None;
        self.ports.rcu(|map| {
            named = map.get(port).map(|l| Arc::clone(&l.counters));
            map.vacated(port)
        });
        // Counted with the others until its worker detaches it.
        books.closing.extend(named);
    }

    /// Counters of frames the local application sent (port 0).
    pub fn local_counters(&self) -> &PeeringCounters {
        &self.local
    }

    /// The next protocol frame received, in order per peering. Its bytes
    /// stay charged to its peering until it is dropped: hold it while it
    /// waits to be handled, drop it after.
    ///
    /// Frames of a peering detached or [unpublished](Self::unpublish)
    /// since they were queued are dropped here: its port may already be
    /// another peering's, which must not
    /// answer for them (a closed flooder's bad signatures would otherwise
    /// cut off the honest peer that took its port).
    pub fn poll_control(&self) -> Option<ControlFrame> {
        loop {
            let frame = self.control.pop()?;
            self.control_ledger.wake_waiting(None);
            let current = self
                .ports
                .load()
                .get(frame.port)
                .map(|l| &l.counters)
                .is_some_and(|counters| frame.charge().charged_to(counters));
            if current {
                return Some(frame);
            }
        }
    }

    /// Bytes of received protocol frames queued for or held by the control
    /// plane, over every peering (see
    /// [`ForwardConfig::control_queue_bytes`]).
    pub fn control_bytes(&self) -> usize {
        self.control_ledger.charged()
    }

    /// Queues `raw`, a protocol frame received on `port` (whose counters
    /// are `counters`) by worker `worker`, for the control plane. Fails
    /// when the queue is full or the frame's bytes do not fit the
    /// peering's or the total bound, after asking for the worker to be
    /// woken when there is room.
    pub(crate) fn to_control(
        &self,
        worker: usize,
        counters: &Arc<PeeringCounters>,
        port: Port,
        raw: &[u8],
    ) -> Result<(), ()> {
        if self.control.is_full() {
            self.control_ledger.await_room(worker);
            if self.control.is_full() {
                return Err(());
            }
        }
        let charge = self.control_ledger.charge(worker, counters, raw.len());
        let frame = ControlFrame::new(port, raw.to_vec(), charge.ok_or(())?);
        let Err(frame) = self.control.push(frame) else {
            return Ok(());
        };
        self.control_ledger.await_room(worker);
        let Err(mut frame) = self.control.push(frame) else {
            return Ok(());
        };
        // Not queued: give the bytes back without waking this worker, which
        // waits for the queue.
        frame.release(Some(worker));
        Err(())
    }

    /// Queues a protocol frame the control plane transmits on `port`; it
    /// goes out before any traffic not yet started.
    pub fn send_protocol(&self, port: Port, frame: Vec<u8>) -> Result<(), ProtocolSendError> {
        let ports = self.ports.load();
        let location = ports.get(port).ok_or(ProtocolSendError::UnknownPort)?;
        let queues = self
            .workers
            .get(location.worker)
            .ok_or(ProtocolSendError::UnknownPort)?;
        queues
            .protocol
            .push((location.slot, frame))
            .map_err(|(_, frame)| ProtocolSendError::QueueFull(frame))?;
        queues.doorbell.ring();
        Ok(())
    }

    /// The next datagram for the local application.
    pub fn poll_delivery(&self) -> Option<LocalDelivery> {
        self.deliveries.pop()
    }

    /// Queues a datagram for the local application; fails when full.
    pub(crate) fn deliver(&self, delivery: LocalDelivery) -> Result<(), DropCause> {
        self.deliveries
            .push(delivery)
            .map_err(|_| DropCause::DeliveryFull)
    }

    /// Routes a traffic frame the local application sends, as if received
    /// on port 0, from any thread, and queues it for the worker of the
    /// peering it goes out of (one allocation, no batch). Build it with the
    /// current table's [`coords`](RoutingTable::coords) as source
    /// coordinates.
    pub fn send_local(&self, frame: &[u8], now: Millis) -> Result<(), LocalSendError> {
        let Frame::Traffic(traffic) = Frame::parse(frame)? else {
            return Err(LocalSendError::NotTraffic);
        };
        let table = self.table.load();
        let result = match table.route_traffic(&traffic, LOCAL_PORT, now) {
            TrafficAction::Drop(reason) => Err(reason.into()),
            TrafficAction::Deliver => self.deliver(LocalDelivery::of(&traffic)),
            TrafficAction::Forward(forwarding) => match forwarding.to_vec(&traffic, frame) {
                Ok(out) => self.send_local_forward(forwarding.port, out),
                Err(_) => Err(DropCause::TooLarge),
            },
        };
        result.map_err(|cause| {
            // A full queue is counted against the destination peering.
            if cause != DropCause::CrossingFull {
                self.local.count_drops(cause, 1);
            }
            LocalSendError::Dropped(cause)
        })
    }

    /// Queues a frame for `port`'s worker.
    fn send_local_forward(&self, port: Port, frame: Vec<u8>) -> Result<(), DropCause> {
        let ports = self.ports.load();
        let location = ports.get(port).ok_or(DropCause::NoPeering)?;
        let queues = self
            .workers
            .get(location.worker)
            .ok_or(DropCause::NoPeering)?;
        if queues.local.push((location.slot, frame)).is_err() {
            location.counters.count_drops(DropCause::CrossingFull, 1);
            return Err(DropCause::CrossingFull);
        }
        queues.doorbell.ring();
        Ok(())
    }

    /// Hands a batch to worker `to`, or back when its queue is full, after
    /// asking `to` to ring every worker once it has room.
    pub(crate) fn cross(&self, to: usize, batch: Batch) -> Result<(), Batch> {
        let Some(queues) = self.workers.get(to) else {
            return Err(batch);
        };
        let batch = match queues.crossings.push(batch) {
            Ok(()) => {
                queues.doorbell.ring();
                return Ok(());
            }
            Err(batch) => batch,
        };
        queues.crossing_wanted.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        queues.crossings.push(batch)?;
        queues.doorbell.ring();
        Ok(())
    }

    /// Called by worker `me` after draining its crossings: rings the
    /// workers that found them full.
    pub(crate) fn crossings_drained(&self, me: usize) {
        let Some(queues) = self.workers.get(me) else {
            return;
        };
        fence(Ordering::SeqCst);
        if queues.crossing_wanted.swap(false, Ordering::AcqRel) {
            for (index, other) in self.workers.iter().enumerate() {
                if index != me {
                    other.doorbell.ring();
                }
            }
        }
    }

    /// Returns a drained batch to the worker that filled it.
    pub(crate) fn recycle(&self, mut batch: Batch) {
        batch.clear();
        if let Some(queues) = self.workers.get(batch.origin) {
            // A full pool lets the batch go.
            let _ = queues.recycled.push(batch);
        }
    }
}
