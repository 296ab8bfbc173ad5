//! What the control thread does with the router's decisions: publish the
//! routing table, send protocol frames to the workers (holding them back
//! while a peering's driver cannot take them), hand datagrams to the
//! application and act on events.

use crossbeam_channel::TrySendError;
use pinecone_engine::control::{Event, RemovalReason, Transmit};
use pinecone_engine::forward::ProtocolSendError;
use tracing::{debug, warn};

use super::control::Control;
use super::datagram::Datagram;
use super::peerings::MAX_BACKLOG;
use crate::io;

impl Control {
    /// Publishes the routing table, then sends what the router transmits,
    /// hands over datagrams and acts on events.
    pub(super) fn carry_out(&mut self) {
        if let Some(table) = self.router.take_table_update() {
            self.fabric.publish_table(table);
        }
        self.flush_backlogs();
        while let Some(transmit) = self.router.poll_transmit() {
            self.transmit(transmit);
        }
        while let Some(delivery) = self.router.poll_delivery() {
            self.deliver(Datagram {
                source: delivery.source,
                payload: delivery.payload,
            });
        }
        while let Some(event) = self.router.poll_event() {
            self.on_event(event);
        }
    }

    fn transmit(&mut self, Transmit { port, frame }: Transmit) {
        let Some(id) = self.peerings.id_of(port) else {
            return;
        };
        let Some(record) = self.peerings.get_mut(id) else {
            return;
        };
        let held = if !record.attached || !record.backlog.is_empty() {
            self.peerings.hold(id, frame)
        } else {
            match self.fabric.send_protocol(port, frame) {
                Ok(()) | Err(ProtocolSendError::UnknownPort) => None,
                Err(ProtocolSendError::QueueFull(frame)) => self.peerings.hold(id, frame),
            }
        };
        if held.is_some_and(|held| held > MAX_BACKLOG) {
            self.close(id, "protocol frames piled up: the peer is not keeping up");
            self.router.remove_peer(port, io::now());
        }
    }

    fn flush_backlogs(&mut self) {
        for id in self.peerings.backlogged() {
            let Some(record) = self.peerings.get_mut(id) else {
                continue;
            };
            if !record.attached {
                continue;
            }
            while let Some(frame) = record.backlog.pop_front() {
                match self.fabric.send_protocol(record.port, frame) {
                    Ok(()) => {}
                    Err(ProtocolSendError::UnknownPort) => {
                        record.backlog.clear();
                        break;
                    }
                    Err(ProtocolSendError::QueueFull(frame)) => {
                        record.backlog.push_front(frame);
                        break;
                    }
                }
            }
            if record.backlog.is_empty() {
                self.peerings.drained(id);
            }
        }
    }

    /// Hands a datagram for this node to the session endpoint while
    /// sessions run, to the application's receive queue otherwise.
    pub(super) fn deliver(&self, datagram: Datagram) {
        if let Some(sessions) = &self.sessions {
            sessions.push(datagram);
            return;
        }
        if self.deliveries.deliver(datagram).is_err() {
            debug!("receive queue full: datagram dropped");
        }
    }

    pub(super) fn on_event(&mut self, event: Event) {
        if let Event::PeerRemoved { port, reason, .. } = &event {
            if *reason != RemovalReason::Disconnected {
                if let Some(id) = self.peerings.id_of(*port) {
                    self.close(id, &reason.to_string());
                }
            }
        }
        self.subscribers
            .retain(|subscriber| match subscriber.try_send(event.clone()) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    warn!("an event subscriber is not keeping up: event dropped");
                    true
                }
                Err(TrySendError::Disconnected(_)) => false,
            });
    }
}
