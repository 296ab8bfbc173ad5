//! A peering's memory of the last traffic frame it forwarded, so that the
//! next frames of the same flow skip parsing, routing and re-encoding.
//!
//! A traffic frame ends with its payload; everything before it (header,
//! payload length, coordinates, keys, watermark) is its *head*. Two frames
//! with byte-identical heads from the same peering are equally well formed
//! (the head fixes every length, and the payload is opaque) and, for the
//! same routing table, routed alike until the instant the table gave with
//! the answer. Forwarding rewrites
//! only the head, so the forwarded frame is the remembered forwarded head
//! followed by the new payload.

use super::output::too_small;
use crate::control::{Millis, Port};
use crate::wire::EncodeError;

/// Frames not remembered after one that did not match a live memo: when a
/// peering's frames go to many places, remembering each costs more than it
/// saves, so the memo keeps what it has and tries again later.
const SKIP_AFTER_MISS: u8 = 15;

/// The longest head remembered (a SNEK-routed frame's head is about 115
/// bytes plus its source coordinates).
const MAX_HEAD: usize = 256;

/// The heads a memo holds: a received frame's and the one it became.
#[derive(Debug)]
struct Heads {
    head_len: usize,
    head: [u8; MAX_HEAD],
    out_head_len: usize,
    out_head: [u8; MAX_HEAD],
}

/// The head of the last traffic frame forwarded from one peering, and of
/// the frame it became. The heads are allocated with the first frame
/// remembered, so a peering that forwards no traffic holds none.
#[derive(Debug, Default)]
pub(crate) struct FlowMemo {
    /// The routing epoch it holds for; `None` when empty.
    epoch: Option<u64>,
    /// It holds before this instant.
    until: Millis,
    /// The port the frame went out of.
    port: Port,
    heads: Option<Box<Heads>>,
    /// Frames still to pass before remembering again.
    skip: u8,
}

impl FlowMemo {
    /// The port to forward `raw` (one whole frame) to at `now`, if its
    /// head is the remembered one, `epoch` the remembered epoch and the
    /// answer still holds.
    #[inline]
    pub(crate) fn recall(&mut self, raw: &[u8], epoch: u64, now: Millis) -> Option<Port> {
        if self.epoch != Some(epoch) || now >= self.until {
            return None;
        }
        let heads = self.heads.as_deref()?;
        let head = heads.head.get(..heads.head_len)?;
        if raw.get(..heads.head_len) == Some(head) {
            return Some(self.port);
        }
        self.skip = SKIP_AFTER_MISS;
        None
    }

    /// Whether a frame that [`recall`](Self::recall) missed should be
    /// remembered: not for a while after one missed a live memo.
    #[inline]
    pub(crate) fn wants(&mut self) -> bool {
        match self.skip.checked_sub(1) {
            Some(left) => {
                self.skip = left;
                false
            }
            None => true,
        }
    }

    /// Writes the forwarded form of `raw`, a frame [`recall`](Self::recall)
    /// accepted, into `out`, returning its length.
    #[inline]
    pub(crate) fn emit(&self, raw: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
        let (head, head_len) = match self.heads.as_deref() {
            Some(heads) => (
                heads.out_head.get(..heads.out_head_len).unwrap_or_default(),
                heads.head_len,
            ),
            None => (&[][..], 0),
        };
        let payload = raw.get(head_len..).unwrap_or_default();
        let len = head.len() + payload.len();
        let Some(dst) = out.get_mut(..len) else {
            return Err(too_small(len, out.len()));
        };
        let (dst_head, dst_payload) = dst.split_at_mut(head.len());
        dst_head.copy_from_slice(head);
        dst_payload.copy_from_slice(payload);
        Ok(len)
    }

    /// Remembers that `raw`, a well-formed traffic frame with a payload of
    /// `payload_len` bytes, goes to `port` in `epoch` until `until`, with
    /// the head that `emit_head` writes. Returns whether it did: frames with a head too
    /// long to keep are not remembered.
    pub(crate) fn remember(
        &mut self,
        raw: &[u8],
        payload_len: usize,
        port: Port,
        (epoch, until): (u64, Millis),
        emit_head: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>,
    ) -> bool {
        self.epoch = None;
        let head = raw
            .len()
            .checked_sub(payload_len)
            .and_then(|n| raw.get(..n))
            .filter(|head| head.len() <= MAX_HEAD);
        let Some(head) = head else {
            return false;
        };
        let heads = self.heads.get_or_insert_with(|| {
            Box::new(Heads {
                head_len: 0,
                head: [0; MAX_HEAD],
                out_head_len: 0,
                out_head: [0; MAX_HEAD],
            })
        });
        let Some(dst) = heads.head.get_mut(..head.len()) else {
            return false;
        };
        dst.copy_from_slice(head);
        let Ok(out_head_len) = emit_head(&mut heads.out_head) else {
            return false;
        };
        heads.head_len = head.len();
        heads.out_head_len = out_head_len;
        self.port = port;
        self.epoch = Some(epoch);
        self.until = until;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = Millis(1_000);
    const UNTIL: Millis = Millis(2_000);

    fn put(bytes: &'static [u8]) -> impl FnOnce(&mut [u8]) -> Result<usize, EncodeError> {
        move |out: &mut [u8]| {
            out[..bytes.len()].copy_from_slice(bytes);
            Ok(bytes.len())
        }
    }

    #[test]
    fn recalls_the_same_head_in_the_same_epoch_before_its_end_only() {
        let mut memo = FlowMemo::default();
        let raw = b"HEAD-abcpayload";
        assert_eq!(memo.recall(raw, 1, NOW), None);
        assert!(memo.remember(raw, 7, 4, (1, UNTIL), put(b"NEWHEAD!")));
        assert_eq!(memo.recall(raw, 1, NOW), Some(4));
        assert_eq!(memo.recall(b"HEAD-abcanother", 1, NOW), Some(4));
        assert_eq!(memo.recall(b"HEAD-abXpayload", 1, NOW), None);
        assert_eq!(memo.recall(b"HEAD", 1, NOW), None);
        assert_eq!(memo.recall(raw, 2, NOW), None);
        assert_eq!(memo.recall(raw, 1, Millis(1_999)), Some(4));
        assert_eq!(memo.recall(raw, 1, UNTIL), None, "no longer holds");

        let mut out = [0u8; 15];
        assert_eq!(memo.emit(b"HEAD-abcanother", &mut out), Ok(15));
        assert_eq!(&out, b"NEWHEAD!another");
        assert!(memo.emit(b"HEAD-abcanother", &mut out[..14]).is_err());
    }

    #[test]
    fn after_a_miss_on_a_live_memo_frames_are_not_remembered_for_a_while() {
        let mut memo = FlowMemo::default();
        assert!(memo.wants());
        assert!(memo.remember(b"AAAApay", 3, 4, (1, UNTIL), put(b"XX")));
        // A new epoch's miss is no reason to wait.
        assert_eq!(memo.recall(b"BBBBpay", 2, NOW), None);
        assert!(memo.wants());
        assert_eq!(memo.recall(b"BBBBpay", 1, NOW), None);
        let waited = (0..100).take_while(|_| !memo.wants()).count();
        assert_eq!(waited, usize::from(SKIP_AFTER_MISS));
        // The memo kept its flow meanwhile.
        assert_eq!(memo.recall(b"AAAAxyz", 1, NOW), Some(4));
    }

    #[test]
    fn heads_too_long_or_not_written_are_not_remembered() {
        let mut memo = FlowMemo::default();
        assert!(memo.remember(b"ab", 1, 1, (1, UNTIL), put(b"c")));
        let raw = vec![1u8; MAX_HEAD + 10];
        assert!(!memo.remember(&raw, 5, 2, (1, UNTIL), put(b"x")));
        assert_eq!(memo.recall(&raw, 1, NOW), None);
        assert_eq!(memo.recall(b"ab", 1, NOW), None);
        let refused = |out: &mut [u8]| Err(too_small(1000, out.len()));
        assert!(!memo.remember(b"ab", 1, 1, (1, UNTIL), refused));
        assert_eq!(memo.recall(b"ab", 1, NOW), None);
    }

    #[test]
    fn heads_are_allocated_only_for_a_frame_remembered() {
        let mut memo = FlowMemo::default();
        assert!(memo.heads.is_none());
        assert!(!memo.remember(&[1u8; MAX_HEAD + 10], 5, 2, (1, UNTIL), put(b"x")));
        assert!(memo.heads.is_none(), "a head too long takes no memory");
        assert!(memo.remember(b"ab", 1, 1, (1, UNTIL), put(b"c")));
        assert!(memo.heads.is_some());
    }
}
