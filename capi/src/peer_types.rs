//! The media of peerings, numbered as the reference implementation
//! numbers them.

use std::ffi::c_int;

use pinecone_transports::PeerType;

use crate::boundary::Failure;

/// A local pipe or socket pair (the fastest medium).
pub const PINECONE_PEER_PIPE: c_int = 0;
/// A peer found by LAN multicast discovery.
pub const PINECONE_PEER_MULTICAST: c_int = 1;
/// A peer found by Bonjour discovery.
pub const PINECONE_PEER_BONJOUR: c_int = 2;
/// A configured remote peer (TCP or WebSocket).
pub const PINECONE_PEER_REMOTE: c_int = 3;
/// A Bluetooth channel.
pub const PINECONE_PEER_BLUETOOTH: c_int = 4;

/// The medium numbered `number`.
pub(crate) fn peer_type(number: c_int) -> Result<PeerType, Failure> {
    u8::try_from(number)
        .ok()
        .and_then(|byte| PeerType::try_from(byte).ok())
        .ok_or_else(|| Failure(format!("{number} is not a peer type (0 to 4)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_name_media() {
        let media = [
            (PINECONE_PEER_PIPE, PeerType::Pipe),
            (PINECONE_PEER_MULTICAST, PeerType::Multicast),
            (PINECONE_PEER_BONJOUR, PeerType::Bonjour),
            (PINECONE_PEER_REMOTE, PeerType::Remote),
            (PINECONE_PEER_BLUETOOTH, PeerType::Bluetooth),
        ];
        for (number, medium) in media {
            assert_eq!(peer_type(number).ok(), Some(medium));
        }
        assert!(peer_type(5).is_err());
        assert!(peer_type(-1).is_err());
        assert!(peer_type(256).is_err());
    }
}
