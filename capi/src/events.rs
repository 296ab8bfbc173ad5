//! The event callback: what happens in the node (peers, tree, paths,
//! broadcasts), told to the embedding program on a thread of its own.

use std::ffi::{c_char, c_int, c_void};

use pinecone_engine::control::Event;
use pinecone_engine::wire::PublicKey;
use serde_json::{json, Value};

use crate::boundary::run;
use crate::event_hub::Callback;
use crate::handle::{enter, PineconeNode};

/// A peering was attached: `port` is its port, `key` the peer's key.
pub const PINECONE_EVENT_PEER_ADDED: u32 = 1;
/// A peering was removed: `port` and `key` as when it was added; the JSON
/// adds `"reason"`.
pub const PINECONE_EVENT_PEER_REMOVED: u32 = 2;
/// The tree parent changed: `port` and `key` are the new parent's, or 0
/// and all zeros when this node is now a root.
pub const PINECONE_EVENT_PARENT_CHANGED: u32 = 3;
/// The SNEK descending node changed: `key` is its key, all zeros for none.
pub const PINECONE_EVENT_DESCENDING_CHANGED: u32 = 4;
/// This node sent a new root announcement: `key` is the root followed; the
/// JSON adds `"seq"`, `"coords"` and `"at"` (milliseconds).
pub const PINECONE_EVENT_ROOT_CHANGED: u32 = 5;
/// A SNEK path appeared or moved: `key` is the bootstrapping node's,
/// `port` the port its bootstrap came from.
pub const PINECONE_EVENT_PATH_ADDED: u32 = 6;
/// A SNEK path went away: `key` is the bootstrapping node's.
pub const PINECONE_EVENT_PATH_REMOVED: u32 = 7;
/// A wakeup broadcast was accepted: `key` is the broadcasting node's; the
/// JSON adds `"at"` (milliseconds).
pub const PINECONE_EVENT_BROADCAST_RECEIVED: u32 = 8;

/// A session was established: `key` is the other node's (authenticated);
/// the JSON adds `"protocol"` and `"outbound"` (whether this node dialled).
pub const PINECONE_EVENT_SESSION_OPENED: u32 = 9;
/// A session ended: `key` is the other node's; the JSON adds `"protocol"`
/// and `"reason"`.
pub const PINECONE_EVENT_SESSION_CLOSED: u32 = 10;

/// One event, as the callback receives it (`pinecone_event` in C). It and
/// the string `json` points to are valid only during the callback.
#[repr(C)]
#[derive(Debug)]
pub struct PineconeEvent {
    /// What happened: one of the `PINECONE_EVENT_*` numbers.
    pub kind: u32,
    /// The port concerned, or 0 (see each kind).
    pub port: u64,
    /// The key concerned, or all zeros (see each kind).
    pub key: [u8; 32],
    /// The whole event as a NUL-terminated JSON object: `"event"` names the
    /// kind (`"peer_added"`, `"peer_removed"`, `"parent_changed"`,
    /// `"descending_changed"`, `"root_changed"`, `"path_added"`,
    /// `"path_removed"`, `"broadcast_received"`, `"session_opened"`,
    /// `"session_closed"`), keys are lowercase hex; `"peer_added"` also
    /// gives the peering's `"peer_type"` (a `PINECONE_PEER_*` number) and
    /// `"zone"`.
    pub json: *const c_char,
}

/// The event callback (`pinecone_event_fn` in C): receives each event and
/// the `user_data` given with it.
pub type PineconeEventFn =
    Option<unsafe extern "C" fn(event: *const PineconeEvent, user_data: *mut c_void)>;

/// An event's kind, port, key and JSON.
pub(crate) fn describe(event: &Event) -> (u32, u64, Option<PublicKey>, Value) {
    let hex = |key: &PublicKey| key.to_string();
    match event {
        Event::PeerAdded {
            port,
            key,
            peer_type,
            zone,
        } => (
            PINECONE_EVENT_PEER_ADDED,
            *port,
            Some(*key),
            json!({"event": "peer_added", "port": port, "key": hex(key),
                "peer_type": *peer_type as u8, "zone": zone}),
        ),
        Event::PeerRemoved { port, key, reason } => (
            PINECONE_EVENT_PEER_REMOVED,
            *port,
            Some(*key),
            json!({"event": "peer_removed", "port": port, "key": hex(key),
                "reason": reason.to_string()}),
        ),
        Event::ParentChanged { parent } => (
            PINECONE_EVENT_PARENT_CHANGED,
            parent.map_or(0, |(port, _)| port),
            parent.map(|(_, key)| key),
            json!({"event": "parent_changed", "port": parent.map(|(port, _)| port),
                "key": parent.map(|(_, key)| hex(&key))}),
        ),
        Event::DescendingChanged { key } => (
            PINECONE_EVENT_DESCENDING_CHANGED,
            0,
            *key,
            json!({"event": "descending_changed", "key": key.as_ref().map(hex)}),
        ),
        Event::RootAnnouncementChanged {
            root,
            seq,
            coords,
            at,
        } => (
            PINECONE_EVENT_ROOT_CHANGED,
            0,
            Some(*root),
            json!({"event": "root_changed", "key": hex(root), "seq": seq,
                "coords": coords.0, "at": at.0}),
        ),
        Event::PathAdded { key, source } => (
            PINECONE_EVENT_PATH_ADDED,
            *source,
            Some(*key),
            json!({"event": "path_added", "port": source, "key": hex(key)}),
        ),
        Event::PathRemoved { key } => (
            PINECONE_EVENT_PATH_REMOVED,
            0,
            Some(*key),
            json!({"event": "path_removed", "key": hex(key)}),
        ),
        Event::BroadcastReceived { key, at } => (
            PINECONE_EVENT_BROADCAST_RECEIVED,
            0,
            Some(*key),
            json!({"event": "broadcast_received", "key": hex(key), "at": at.0}),
        ),
        Event::SessionOpened {
            key,
            protocol,
            outbound,
        } => (
            PINECONE_EVENT_SESSION_OPENED,
            0,
            Some(*key),
            json!({"event": "session_opened", "key": hex(key), "protocol": protocol,
                "outbound": outbound}),
        ),
        Event::SessionClosed {
            key,
            protocol,
            reason,
        } => (
            PINECONE_EVENT_SESSION_CLOSED,
            0,
            Some(*key),
            json!({"event": "session_closed", "key": hex(key), "protocol": protocol,
                "reason": reason}),
        ),
    }
}

/// Sets the function called for each event of the node from now on,
/// replacing any set before; NULL removes it. `user_data` is passed to
/// every call as is. Replacing or removing a callback that is running
/// waits for it to return. Returns 0, or -1 on failure: `node` NULL, the
/// node shut down (also when shutdown began while this waited for a
/// running callback: the new one is then never called), or a call from
/// the node's own event callback.
///
/// Threading: the callback runs on one thread the library starts for the
/// node, one event at a time, in the order the events happened; it should
/// return promptly, as events wait for it (new ones are dropped while a
/// few thousand are already waiting). It may call any function on the
/// node except this one, `pinecone_node_shutdown` and
/// `pinecone_node_free`, which fail there; calls on the node that wait
/// (such as `pinecone_node_recv`, or `pinecone_conduit_read` on one of
/// its conduits) are woken by the node's shutdown, so they never hold
/// shutdown up. What shutdown cannot wake is the callback waiting for
/// something else, above all for the thread that shuts the node down or
/// frees it: that thread waits for the callback to return. Once this
/// function, `pinecone_node_shutdown` or `pinecone_node_free` returns,
/// the callback set before is not running and is never called again, so
/// its `user_data` may be released.
///
/// # Safety
///
/// `node` is NULL or a live handle; `callback` is NULL or a function that
/// may be called, with `user_data`, from another thread.
#[no_mangle]
pub unsafe extern "C" fn pinecone_node_set_event_callback(
    node: *mut PineconeNode,
    callback: PineconeEventFn,
    user_data: *mut c_void,
) -> c_int {
    run(-1, || {
        // SAFETY: the caller promises NULL or a live handle.
        let call = unsafe { enter(node) }?;
        let callback = callback.map(|function| Callback {
            function,
            user_data,
        });
        call.events().set(call.node(), callback)?;
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pinecone_engine::control::RemovalReason;

    #[test]
    fn every_event_names_its_kind_in_json() {
        let key = PublicKey([0xab; 32]);
        let removed = Event::PeerRemoved {
            port: 3,
            key,
            reason: RemovalReason::Timeout,
        };
        let (kind, port, found, json) = describe(&removed);
        assert_eq!(
            (kind, port, found),
            (PINECONE_EVENT_PEER_REMOVED, 3, Some(key))
        );
        assert_eq!(json["event"], "peer_removed");
        assert_eq!(json["key"], "ab".repeat(32));
        assert_eq!(json["reason"], RemovalReason::Timeout.to_string());

        let (kind, port, found, json) = describe(&Event::ParentChanged { parent: None });
        assert_eq!(
            (kind, port, found),
            (PINECONE_EVENT_PARENT_CHANGED, 0, None)
        );
        assert!(json["key"].is_null());
    }
}
