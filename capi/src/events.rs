//! The event callback: what happens in the node (peers, tree, paths,
//! broadcasts), told to the embedding program on a thread of its own.

use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, ThreadId};

use pinecone_engine::control::Event;
use pinecone_engine::wire::PublicKey;
use pinecone_transports::Node;
use serde_json::{json, Value};

use crate::boundary::{run, Failure};
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
    /// `"path_removed"`, `"broadcast_received"`), keys are lowercase hex.
    pub json: *const c_char,
}

/// The event callback (`pinecone_event_fn` in C): receives each event and
/// the `user_data` given with it.
pub type PineconeEventFn =
    Option<unsafe extern "C" fn(event: *const PineconeEvent, user_data: *mut c_void)>;

/// A callback and its user data.
struct Callback {
    function: unsafe extern "C" fn(*const PineconeEvent, *mut c_void),
    user_data: *mut c_void,
}

// SAFETY: whoever sets the callback promises that it and its user data may
// be used from the event thread.
unsafe impl Send for Callback {}

/// The callback of one node and the thread that calls it.
#[derive(Default)]
pub(crate) struct EventHub {
    /// The callback; held locked while it runs, so that replacing it waits
    /// for a running call.
    slot: Arc<Mutex<Option<Callback>>>,
    /// The event thread, once started.
    thread: OnceLock<ThreadId>,
    /// Taken while starting the event thread.
    starting: Mutex<()>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl EventHub {
    /// Fails on this node's event thread, where waiting for the callback
    /// would wait for itself.
    pub(crate) fn refuse_on_event_thread(&self) -> Result<(), Failure> {
        if self.thread.get() == Some(&thread::current().id()) {
            return Err(Failure(
                "not allowed from the node's own event callback".to_owned(),
            ));
        }
        Ok(())
    }

    /// Removes the callback, waiting for it if it is running.
    pub(crate) fn clear(&self) {
        *lock(&self.slot) = None;
    }

    /// Sets or (with `None`) removes the callback, starting the event
    /// thread on first use.
    fn set(&self, node: &Node, callback: Option<Callback>) -> Result<(), Failure> {
        self.refuse_on_event_thread()?;
        if callback.is_some() && self.thread.get().is_none() {
            let _starting = lock(&self.starting);
            if self.thread.get().is_none() {
                let events = node.subscribe()?;
                let slot = Arc::clone(&self.slot);
                let thread = thread::Builder::new()
                    .name("pinecone-events".to_owned())
                    .spawn(move || {
                        for event in events.iter() {
                            dispatch(&slot, &event);
                        }
                    })?;
                let _ = self.thread.set(thread.thread().id());
            }
        }
        *lock(&self.slot) = callback;
        Ok(())
    }
}

/// Calls the callback, if there is one, with `event`.
fn dispatch(slot: &Mutex<Option<Callback>>, event: &Event) {
    let (kind, port, key, details) = describe(event);
    let json = CString::new(details.to_string()).unwrap_or_default();
    let event = PineconeEvent {
        kind,
        port,
        key: key.map_or([0; 32], |key| key.0),
        json: json.as_ptr(),
    };
    let callback = lock(slot);
    if let Some(callback) = callback.as_ref() {
        // SAFETY: whoever set the callback promises it may be called with
        // its user data from this thread; `event` and `json` outlive the
        // call.
        unsafe { (callback.function)(&event, callback.user_data) };
    }
}

/// An event's kind, port, key and JSON.
fn describe(event: &Event) -> (u32, u64, Option<PublicKey>, Value) {
    let hex = |key: &PublicKey| key.to_string();
    match event {
        Event::PeerAdded { port, key } => (
            PINECONE_EVENT_PEER_ADDED,
            *port,
            Some(*key),
            json!({"event": "peer_added", "port": port, "key": hex(key)}),
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
    }
}

/// Sets the function called for each event of the node from now on,
/// replacing any set before; NULL removes it. `user_data` is passed to
/// every call as is. Returns 0, or -1 on failure.
///
/// Threading: the callback runs on one thread the library starts for the
/// node, one event at a time, in the order the events happened; it should
/// return promptly, as events wait for it (new ones are dropped while a
/// few thousand are already waiting). It may call any function on the node except this
/// one, `pinecone_node_shutdown` and `pinecone_node_free`, which fail
/// there. Once this function or `pinecone_node_free` returns, the callback
/// set before is not running and is never called again, so its
/// `user_data` may be released.
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
