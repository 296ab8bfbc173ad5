// Package pinecone embeds a Pinecone overlay-routing node, through the
// library's C ABI, in a Go program.
//
// A *Node is a net.PacketConn whose addresses are PublicKey values: a
// datagram written to a key reaches the node holding that key, wherever it
// sits in the overlay. Deadlines work as on any net.PacketConn, and Close
// unblocks a pending ReadFrom, so QUIC stacks such as quic-go can run over
// it. That is how Dendrite's sessions layer (quic-go over a
// net.PacketConn) runs on this engine instead of the Go router:
//
//	node, err := pinecone.NewNode(seed) // seed: 32 bytes, or nil for a random key
//	if err != nil { ... }
//	defer node.Close()
//	if err := node.Connect("tcp://peer.example:65432"); err != nil { ... }
//	listener, err := quic.Listen(node, tlsConfig, quicConfig)
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

	deadlines sync.Mutex
	readBy    time.Time
	writeBy   time.Time
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
	node := &Node{handle: handle}
	C.pinecone_node_public_key(handle, (*C.uint8_t)(unsafe.Pointer(&node.key[0])))
	return node, nil
}

// Version is the library's version.
func Version() string { return C.GoString(C.pinecone_version()) }

// PublicKey is this node's key.
func (n *Node) PublicKey() PublicKey { return n.key }

// Listen listens for TCP peers on address ("ip:port"; port 0 picks one)
// and returns the address bound.
func (n *Node) Listen(address string) (string, error) {
	var bound string
	err := n.call(func(handle *C.pinecone_node) error {
		text := C.CString(address)
		defer C.free(unsafe.Pointer(text))
		var out [128]C.char
		if C.pinecone_node_listen_tcp(handle, text, &out[0], C.size_t(len(out))) != 0 {
			return lastError("listen")
		}
		bound = C.GoString(&out[0])
		return nil
	})
	return bound, err
}

// Connect keeps uri ("host:port", "tcp://…", "ws://…", "wss://…")
// connected as a static peer, redialling whenever the peering drops.
func (n *Node) Connect(uri string) error {
	return n.call(func(handle *C.pinecone_node) error {
		text := C.CString(uri)
		defer C.free(unsafe.Pointer(text))
		if C.pinecone_node_connect(handle, text) != 0 {
			return lastError("connect")
		}
		return nil
	})
}

// PeerCount is the number of peerings the node has now.
func (n *Node) PeerCount() int {
	count := 0
	_ = n.call(func(handle *C.pinecone_node) error {
		count = int(C.pinecone_node_peer_count(handle))
		return nil
	})
	return count
}

// Close shuts the node down; a pending ReadFrom returns net.ErrClosed.
// Closing again does nothing.
func (n *Node) Close() error {
	// Readers wait in short slices, so the write lock comes soon.
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.handle != nil {
		C.pinecone_node_free(n.handle)
		n.handle = nil
	}
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

// lastError is the library's message for the failure just seen on this
// thread.
func lastError(operation string) error {
	return errors.New("pinecone: " + operation + ": " + C.GoString(C.pinecone_last_error()))
}
