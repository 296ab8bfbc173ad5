package pinecone

/*
#include "pinecone.h"
*/
import "C"

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// EventKind says what an Event is about.
type EventKind uint32

// The kinds of events.
const (
	// EventPeerAdded: a peering came up; Port and Key are its, and the
	// JSON has its "peer_type" (a PeerType number) and "zone".
	EventPeerAdded EventKind = C.PINECONE_EVENT_PEER_ADDED
	// EventPeerRemoved: a peering went away; Port and Key are its, and the
	// JSON has the reason.
	EventPeerRemoved EventKind = C.PINECONE_EVENT_PEER_REMOVED
	// EventParentChanged: the tree parent changed; Port and Key are the
	// new parent's, or zero when this node is now a root.
	EventParentChanged EventKind = C.PINECONE_EVENT_PARENT_CHANGED
	// EventDescendingChanged: the SNEK descending node changed; Key is
	// its, or zero for none.
	EventDescendingChanged EventKind = C.PINECONE_EVENT_DESCENDING_CHANGED
	// EventRootChanged: this node sent a new root announcement; Key is
	// the root, and the JSON has the sequence and coordinates.
	EventRootChanged EventKind = C.PINECONE_EVENT_ROOT_CHANGED
	// EventPathAdded: a SNEK path appeared or moved; Key is the
	// bootstrapping node's, Port the port its bootstrap came from.
	EventPathAdded EventKind = C.PINECONE_EVENT_PATH_ADDED
	// EventPathRemoved: a SNEK path went away; Key is the bootstrapping
	// node's.
	EventPathRemoved EventKind = C.PINECONE_EVENT_PATH_REMOVED
	// EventBroadcastReceived: a wakeup broadcast was accepted; Key is the
	// broadcasting node's.
	EventBroadcastReceived EventKind = C.PINECONE_EVENT_BROADCAST_RECEIVED
	// EventSessionOpened: an end-to-end session was established; Key is
	// the other node's (authenticated), and the JSON has "protocol" and
	// "outbound" (whether this node dialled).
	EventSessionOpened EventKind = C.PINECONE_EVENT_SESSION_OPENED
	// EventSessionClosed: an end-to-end session ended; Key is the other
	// node's, and the JSON has "protocol" and "reason".
	EventSessionClosed EventKind = C.PINECONE_EVENT_SESSION_CLOSED
)

// eventQueue is how many events wait for the program before newer ones
// are dropped.
const eventQueue = 1024

// Event is something that happened in the node.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Port is the port concerned, or 0 (see each kind).
	Port uint64
	// Key is the key concerned, or zero (see each kind).
	Key PublicKey
	// JSON is the whole event as a JSON object, with an "event" field
	// naming its kind and every detail.
	JSON string
}

// eventState is a node's event channel, made on first use.
type eventState struct {
	once     sync.Once
	channel  chan Event
	id       uintptr
	setupErr error
}

// eventTargets maps the user data given to the library to the channel
// its events go to: the library may not keep Go pointers.
var eventTargets sync.Map

// lastEventID numbers event channels.
var lastEventID uintptr

// Events is a channel of what happens in the node from the first call on
// (peers added and removed, tree and path changes, broadcasts). Events
// that find eventQueue already waiting are dropped, so read it promptly.
// Close closes the channel.
func (n *Node) Events() (<-chan Event, error) {
	n.events.once.Do(func() {
		channel := make(chan Event, eventQueue)
		id := atomic.AddUintptr(&lastEventID, 1)
		eventTargets.Store(id, channel)
		err := n.call(func(handle *C.pinecone_node) error {
			if setGoEvents(handle, id) != 0 {
				return lastError("events")
			}
			return nil
		})
		if err != nil {
			eventTargets.Delete(id)
			n.events.setupErr = err
			return
		}
		n.events.channel, n.events.id = channel, id
	})
	return n.events.channel, n.events.setupErr
}

// stop closes the channel; the library no longer calls back.
func (s *eventState) stop() {
	s.once.Do(func() {})
	if s.channel != nil {
		eventTargets.Delete(s.id)
		close(s.channel)
	}
}

// goPineconeEvent receives each event on the library's event thread.
//
//export goPineconeEvent
func goPineconeEvent(event *C.pinecone_event, userData unsafe.Pointer) {
	target, ok := eventTargets.Load(uintptr(userData))
	if !ok {
		return
	}
	next := Event{
		Kind: EventKind(event.kind),
		Port: uint64(event.port),
		JSON: C.GoString(event.json),
	}
	for i := range next.Key {
		next.Key[i] = byte(event.key[i])
	}
	select {
	case target.(chan Event) <- next:
	default:
	}
}
