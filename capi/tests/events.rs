//! The event callback through the C ABI.

use std::ffi::{c_void, CStr};
use std::ptr::null_mut;
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use pinecone::*;
use support::*;

mod support;

/// One event as the callback saw it: kind, port, key and JSON.
type Recorded = (u32, u64, [u8; 32], serde_json::Value);

/// What the callback saw: kind, port, key and JSON of each event, and
/// what setting the callback from inside it answered.
#[derive(Default)]
struct Seen {
    events: Mutex<Vec<Recorded>>,
    nested_status: Mutex<Option<(i32, String)>>,
    node: Mutex<usize>,
}

impl Seen {
    fn events(&self) -> Vec<Recorded> {
        self.events.lock().unwrap().clone()
    }
}

unsafe extern "C" fn record(event: *const PineconeEvent, user_data: *mut c_void) {
    // SAFETY: the library passes a valid event and the `Seen` given below.
    let (event, seen) = unsafe { (&*event, &*(user_data as *const Seen)) };
    // SAFETY: `json` is a NUL-terminated string valid during the call.
    let json = unsafe { CStr::from_ptr(event.json) }.to_str().unwrap();
    let json = serde_json::from_str(json).unwrap();
    seen.events
        .lock()
        .unwrap()
        .push((event.kind, event.port, event.key, json));
    let mut nested = seen.nested_status.lock().unwrap();
    if nested.is_none() {
        let node = *seen.node.lock().unwrap() as *mut PineconeNode;
        // SAFETY: the node outlives its callback; both calls must be
        // refused, as they would wait for the callback itself.
        let status = unsafe { pinecone_node_set_event_callback(node, None, null_mut()) };
        let message = last_error();
        // SAFETY: as above.
        let shutdown = unsafe { pinecone_node_shutdown(node) };
        *nested = Some((status.max(shutdown), message + &last_error()));
    }
}

#[test]
fn null_node_is_refused() {
    // SAFETY: NULL handles are refused.
    let status = unsafe { pinecone_node_set_event_callback(null_mut(), Some(record), null_mut()) };
    assert_eq!(status, -1);
    assert!(last_error().contains("node is NULL"));
}

#[test]
fn peering_events_reach_the_callback_until_it_is_removed() {
    let seen = Box::new(Seen::default());
    let a = Handle::new(None);
    *seen.node.lock().unwrap() = a.0 as usize;
    let user_data = &*seen as *const Seen as *mut c_void;
    // SAFETY: a live handle; `seen` outlives the callback (removed below).
    let status = unsafe { pinecone_node_set_event_callback(a.0, Some(record), user_data) };
    assert_eq!(status, 0, "{}", last_error());

    let b = Handle::new(None);
    let address = a.listen();
    assert_eq!(b.connect(&format!("tcp://{address}")), 0);
    let b_key = b.key();
    wait_for("a peer_added event", || {
        seen.events()
            .iter()
            .any(|(kind, _, key, _)| *kind == PINECONE_EVENT_PEER_ADDED && *key == b_key)
    });
    let events = seen.events();
    let (_, port, _, json) = events
        .iter()
        .find(|(kind, ..)| *kind == PINECONE_EVENT_PEER_ADDED)
        .unwrap();
    assert!(*port >= 1);
    assert_eq!(json["event"], "peer_added");
    assert_eq!(json["port"], *port);
    assert_eq!(json["key"], hex(&b_key));
    assert_eq!(json["peer_type"], PINECONE_PEER_REMOTE);
    assert_eq!(json["zone"], "", "an accepted TCP peering's zone");
    let (status, message) = seen.nested_status.lock().unwrap().clone().unwrap();
    assert_eq!(
        status, -1,
        "setting the callback or shutting down from inside it is refused"
    );
    assert!(message.contains("event callback"), "{message}");

    // Once removed, the callback is not called again.
    // SAFETY: a live handle; NULL removes the callback.
    let status = unsafe { pinecone_node_set_event_callback(a.0, None, null_mut()) };
    assert_eq!(status, 0);
    let count = seen.events().len();
    let port = a.peers()[0]["port"].as_u64().unwrap();
    // SAFETY: a live handle.
    assert_eq!(unsafe { pinecone_node_disconnect_port(a.0, port) }, 1);
    thread::sleep(Duration::from_millis(300));
    assert_eq!(seen.events().len(), count);

    // Set again: removals are told, with their reason.
    // SAFETY: as above.
    let status = unsafe { pinecone_node_set_event_callback(a.0, Some(record), user_data) };
    assert_eq!(status, 0);
    wait_for("b to redial", || a.peer_count() == 1);
    let port = a.peers()[0]["port"].as_u64().unwrap();
    // SAFETY: a live handle.
    assert_eq!(unsafe { pinecone_node_disconnect_port(a.0, port) }, 1);
    wait_for("a peer_removed event", || {
        seen.events().iter().any(|(kind, removed, key, json)| {
            *kind == PINECONE_EVENT_PEER_REMOVED
                && *removed == port
                && *key == b_key
                && json["reason"].is_string()
        })
    });
    // Freeing the node removes the callback before `seen` goes.
    drop(a);
    drop(seen);
}
