//! The queues the caller drains: frames to transmit, deliveries and events.

use std::collections::VecDeque;

use super::events::{Delivery, Event, Transmit};
use super::peers::Port;

/// Output queues, with the caps on the two the caller might never drain.
#[derive(Debug)]
pub(crate) struct Outbox {
    transmits: VecDeque<Transmit>,
    deliveries: VecDeque<Delivery>,
    events: VecDeque<Event>,
    max_events: usize,
    max_deliveries: usize,
    /// Events discarded at the cap.
    pub(crate) events_dropped: u64,
    /// Deliveries discarded at the cap.
    pub(crate) deliveries_dropped: u64,
}

impl Outbox {
    pub(crate) fn new(max_events: usize, max_deliveries: usize) -> Outbox {
        Outbox {
            transmits: VecDeque::new(),
            deliveries: VecDeque::new(),
            events: VecDeque::new(),
            max_events,
            max_deliveries,
            events_dropped: 0,
            deliveries_dropped: 0,
        }
    }

    pub(crate) fn transmit(&mut self, port: Port, frame: Vec<u8>) {
        self.transmits.push_back(Transmit { port, frame });
    }

    /// Forgets every frame queued for `port`.
    pub(crate) fn discard_port(&mut self, port: Port) {
        self.transmits.retain(|t| t.port != port);
    }

    /// Frames queued for `port`.
    pub(crate) fn queued_for(&self, port: Port) -> impl Iterator<Item = &Transmit> {
        self.transmits.iter().filter(move |t| t.port == port)
    }

    pub(crate) fn deliver(&mut self, delivery: Delivery) {
        if self.deliveries.len() >= self.max_deliveries {
            self.deliveries_dropped += 1;
            return;
        }
        self.deliveries.push_back(delivery);
    }

    pub(crate) fn event(&mut self, event: Event) {
        if self.max_events == 0 {
            self.events_dropped += 1;
            return;
        }
        if self.events.len() >= self.max_events {
            self.events.pop_front();
            self.events_dropped += 1;
        }
        self.events.push_back(event);
    }

    pub(crate) fn next_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub(crate) fn next_delivery(&mut self) -> Option<Delivery> {
        self.deliveries.pop_front()
    }

    pub(crate) fn next_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::events::Event;

    fn event(port: Port) -> Event {
        Event::PathRemoved {
            key: crate::wire::PublicKey([port as u8; 32]),
        }
    }

    #[test]
    fn events_keep_the_newest_at_the_cap() {
        let mut outbox = Outbox::new(2, 1);
        for port in 1..=3 {
            outbox.event(event(port));
        }
        assert_eq!(outbox.events_dropped, 1);
        assert_eq!(outbox.next_event(), Some(event(2)));
        assert_eq!(outbox.next_event(), Some(event(3)));
        assert_eq!(outbox.next_event(), None);
    }

    #[test]
    fn deliveries_refuse_new_ones_at_the_cap() {
        let mut outbox = Outbox::new(1, 1);
        let first = Delivery {
            source: crate::wire::PublicKey([1; 32]),
            payload: vec![1],
        };
        outbox.deliver(first.clone());
        outbox.deliver(Delivery {
            source: crate::wire::PublicKey([2; 32]),
            payload: vec![2],
        });
        assert_eq!(outbox.deliveries_dropped, 1);
        assert_eq!(outbox.next_delivery(), Some(first));
        assert_eq!(outbox.next_delivery(), None);
    }

    #[test]
    fn discarding_a_port_keeps_the_others_in_order() {
        let mut outbox = Outbox::new(1, 1);
        outbox.transmit(1, vec![1]);
        outbox.transmit(2, vec![2]);
        outbox.transmit(1, vec![3]);
        outbox.transmit(3, vec![4]);
        outbox.discard_port(1);
        assert_eq!(outbox.queued_for(1).count(), 0);
        assert_eq!(outbox.next_transmit().map(|t| t.frame), Some(vec![2]));
        assert_eq!(outbox.next_transmit().map(|t| t.frame), Some(vec![4]));
    }
}
