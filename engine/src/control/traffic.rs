//! Traffic: local sends, local delivery and forwarding through the routing
//! table.

use super::error::SendError;
use super::events::Delivery;
use super::peers::{Port, LOCAL_PORT};
use super::table::TrafficAction;
use super::time::Millis;
use super::Router;
use crate::wire::{
    Frame, PublicKey, TrafficFrame, TrafficRepr, Watermark, DEFAULT_HOP_LIMIT, MAX_FRAME_LEN,
};

impl Router {
    /// Sends a datagram from the local application to `dest`.
    ///
    /// The frame is tree routed when fresh coordinates of `dest` are cached
    /// (learned from its traffic to us within the last minute), otherwise
    /// SNEK routed. A datagram to our own key is delivered locally.
    pub fn send(&mut self, dest: PublicKey, payload: &[u8], now: Millis) -> Result<(), SendError> {
        let repr = TrafficRepr {
            hop_limit: DEFAULT_HOP_LIMIT,
            dest_coords: self
                .coords_cache
                .get(&dest, now)
                .cloned()
                .unwrap_or_default(),
            src_coords: self.current_coords(),
            dest_key: dest,
            src_key: self.public_key,
            watermark: Watermark::FRESH,
            payload,
        };
        let len = repr.encoded_len();
        if len > MAX_FRAME_LEN {
            return Err(SendError::TooLarge { len });
        }
        let mut bytes = vec![0; len];
        repr.emit(&mut bytes)
            .map_err(|_| SendError::TooLarge { len })?;
        let Ok(Frame::Traffic(frame)) = Frame::parse(&bytes) else {
            return Err(SendError::TooLarge { len });
        };
        self.route_traffic_frame(LOCAL_PORT, &frame, &bytes, now)
            .map_err(SendError::NoRoute)
    }

    /// A traffic frame received on `from`.
    pub(super) fn handle_traffic(
        &mut self,
        from: Port,
        frame: &TrafficFrame<'_>,
        raw: &[u8],
        now: Millis,
    ) {
        if let Err(reason) = self.route_traffic_frame(from, frame, raw, now) {
            self.counters.record(reason);
        }
    }

    fn route_traffic_frame(
        &mut self,
        from: Port,
        frame: &TrafficFrame<'_>,
        raw: &[u8],
        now: Millis,
    ) -> Result<(), super::DropReason> {
        self.refresh_table();
        match self.table.current().route_traffic(frame, from, now) {
            TrafficAction::Deliver => {
                self.deliver(frame, now);
                Ok(())
            }
            TrafficAction::Forward(forwarding) => {
                let out = forwarding
                    .to_vec(frame, raw)
                    .map_err(|_| super::DropReason::TooLarge)?;
                self.queue(forwarding.port, out, now);
                Ok(())
            }
            TrafficAction::Drop(reason) => Err(reason),
        }
    }

    /// Hands a frame for our key to the application, caching where its
    /// sender is.
    fn deliver(&mut self, frame: &TrafficFrame<'_>, now: Millis) {
        let source = frame.src_key();
        if source != self.public_key {
            self.coords_cache
                .insert(source, frame.src_coords().iter(), now);
        }
        self.out.deliver(Delivery {
            source,
            payload: frame.payload().to_vec(),
        });
    }
}
