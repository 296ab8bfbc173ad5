// Package pinecone embeds a Pinecone overlay-routing node, through the
// library's C ABI, in a Go program.
//
// A *Node is a net.PacketConn whose addresses are PublicKey values: a
// datagram written to a key reaches the node holding that key, wherever it
// sits in the overlay. Deadlines work as on any net.PacketConn (a deadline
// set while a ReadFrom waits takes effect at once), and Close unblocks a
// pending ReadFrom, so QUIC stacks such as quic-go run over it. That is
// how Dendrite's sessions layer (quic-go over a net.PacketConn) runs on
// this engine instead of the Go router:
//
//	node, err := pinecone.NewNode(seed) // seed: 32 bytes, or nil for a random key
//	if err != nil { ... }
//	defer node.Close()
//	if err := node.Connect("tcp://peer.example:65432"); err != nil { ... }
//
//	// Accept QUIC sessions from other nodes...
//	listener, err := quic.Listen(node, serverTLS, quicConfig)
//	session, err := listener.Accept(ctx)
//
//	// ...or open one to a node, addressed by its key.
//	remote, err := pinecone.ParsePublicKey(hexKey)
//	session, err := quic.Dial(ctx, node, remote, clientTLS, quicConfig)
//
// Beyond datagrams: peers come from Listen, ListenWebSocket and Connect,
// from connections the program made itself (AttachConn and AttachConnURI:
// TCP and Unix sockets are handed over, any other net.Conn, such as a
// gorilla WebSocket or a net.Pipe end, is pumped through a conduit), or
// from links whose bytes it carries itself (NewConduit, for example over
// Bluetooth). Peers, PeerCount, PeerCountByType, StateJSON,
// ManholeHandler and Coords describe the node, Events reports what
// happens in it, SetLogHandler passes on the library's log, and
// DisconnectPort, DisconnectZone, DisconnectPeerType, RemoveStaticPeer
// and RemoveStaticPeers close peerings. EnableHopLimiting,
// DisableHopLimiting, EnableWakeupBroadcasts and DisableWakeupBroadcasts
// are the reference's switches.
//
// ReadFrom waits in Go's netpoller, on the library's descriptor that is
// readable while datagrams wait, so no OS thread stays blocked in the
// library per node.
//
// Building needs the static library and the header: run
// `cargo build --release -p pinecone-capi` at the top of the repository
// (add its target/release directory to CGO_LDFLAGS with -L when
// CARGO_TARGET_DIR points elsewhere).
package pinecone

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -l:libpinecone.a -lpthread -ldl -lm
#include <stdlib.h>
#include "pinecone.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Node is a running Pinecone node. Its methods may be called from any
// goroutine.
type Node struct {
	// mu is held for reading by every call into the library and for
	// writing by Close, which releases the handle.
	mu     sync.RWMutex
	handle *C.pinecone_node
	key    PublicKey

	// packets carries datagrams from the reader goroutine to ReadFrom.
	packets chan packet
	// closed is closed when Close begins.
	closed    chan struct{}
	closeOnce sync.Once
	// readerDone is closed when the reader goroutine has stopped.
	readerDone chan struct{}

	deadlines sync.Mutex
	readBy    time.Time
	writeBy   time.Time
	// readMoved is closed, and replaced, whenever the read deadline
	// changes, waking pending reads to look at it again.
	readMoved chan struct{}

	events eventState
}

// NewNode starts a node whose key comes from the 32-byte ed25519 seed, or
// a random key when seed is nil.
func NewNode(seed []byte) (*Node, error) {
	if seed != nil && len(seed) != 32 {
		return nil, fmt.Errorf("pinecone: a seed has 32 bytes, not %d", len(seed))
	}
	var handle *C.pinecone_node
	err := onOneThread(func() error {
		var seedPtr *C.uint8_t
		if seed != nil {
			seedPtr = (*C.uint8_t)(unsafe.Pointer(&seed[0]))
		}
		handle = C.pinecone_node_new(seedPtr)
		if handle == nil {
			return lastError("new node")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	node := &Node{
		handle:     handle,
		packets:    make(chan packet),
		closed:     make(chan struct{}),
		readerDone: make(chan struct{}),
		readMoved:  make(chan struct{}),
	}
	C.pinecone_node_public_key(handle, (*C.uint8_t)(unsafe.Pointer(&node.key[0])))
	go node.readLoop()
	return node, nil
}

// Version is the library's version.
func Version() string { return C.GoString(C.pinecone_version()) }

// PublicKey is this node's key.
func (n *Node) PublicKey() PublicKey { return n.key }

// Close shuts the node down: a pending ReadFrom returns net.ErrClosed,
// every peering closes, the Events channel is closed, and every later
// call fails with net.ErrClosed. Closing again does nothing.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		close(n.closed)
		// Wakes the reader goroutine, blocked in the library.
		_ = n.call(func(handle *C.pinecone_node) error {
			C.pinecone_node_shutdown(handle)
			return nil
		})
		<-n.readerDone
		n.mu.Lock()
		C.pinecone_node_free(n.handle)
		n.handle = nil
		n.mu.Unlock()
		n.events.stop()
	})
	return nil
}

// call runs body on a live handle, on one OS thread so that a failure's
// message is read where it was recorded.
func (n *Node) call(body func(*C.pinecone_node) error) error {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.handle == nil {
		return net.ErrClosed
	}
	return onOneThread(func() error { return body(n.handle) })
}

// onOneThread runs body without the goroutine changing OS thread.
func onOneThread(body func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return body()
}

// optionalCString is text as a C string, or NULL when it is empty; free
// it with C.free (which takes NULL).
func optionalCString(text string) *C.char {
	if text == "" {
		return nil
	}
	return C.CString(text)
}

// lastError is the library's message for the failure just seen on this
// thread.
func lastError(operation string) error {
	return errors.New("pinecone: " + operation + ": " + C.GoString(C.pinecone_last_error()))
}
