package pinecone

/*
#include <stdlib.h>
#include "pinecone.h"
*/
import "C"

import (
	"io"
	"net"
	"runtime"
	"sync"
	"unsafe"
)

// Conduit is a peering whose bytes the program carries itself, over any
// link it has (for example a Bluetooth L2CAP channel): what it receives
// from the remote side goes in with Write, what the node sends to the
// remote side comes out of Read. It is an io.ReadWriteCloser, so
// io.Copy pumps it.
type Conduit struct {
	// mu is held for reading by every call into the library and for
	// writing by Close, which releases the handle.
	mu        sync.RWMutex
	handle    *C.pinecone_conduit
	closeOnce sync.Once
}

var _ io.ReadWriteCloser = (*Conduit)(nil)

// NewConduit starts a peering over a conduit with the medium peerType and
// zone. It returns at once; the handshake runs as bytes move both ways.
func (n *Node) NewConduit(peerType PeerType, zone string) (*Conduit, error) {
	return n.newConduit(peerType, zone, "")
}

// newConduit starts a conduit showing uri in the peer list ("" for
// "conduit").
func (n *Node) newConduit(peerType PeerType, zone, uri string) (*Conduit, error) {
	var handle *C.pinecone_conduit
	err := n.call(func(node *C.pinecone_node) error {
		text := C.CString(zone)
		defer C.free(unsafe.Pointer(text))
		uriText := optionalCString(uri)
		defer C.free(unsafe.Pointer(uriText))
		handle = C.pinecone_node_conduit_new_uri(node, C.int(peerType), text, uriText)
		if handle == nil {
			return lastError("conduit")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Conduit{handle: handle}, nil
}

// Read waits for bytes the node sends to the remote side; io.EOF once the
// peering has ended (the handshake failed, the node closed it, or Close).
func (c *Conduit) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.handle == nil {
		return 0, net.ErrClosed
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	length := C.pinecone_conduit_read(c.handle, (*C.uint8_t)(unsafe.Pointer(&p[0])), C.size_t(len(p)), -1)
	switch {
	case length > 0:
		return int(length), nil
	case length == 0:
		return 0, io.EOF
	default:
		return 0, lastError("conduit read")
	}
}

// Write hands the node bytes received from the remote side.
func (c *Conduit) Write(p []byte) (int, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.handle == nil {
		return 0, net.ErrClosed
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var data *C.uint8_t
	if len(p) > 0 {
		data = (*C.uint8_t)(unsafe.Pointer(&p[0]))
	}
	if C.pinecone_conduit_write(c.handle, data, C.size_t(len(p))) != 0 {
		return 0, lastError("conduit write")
	}
	return len(p), nil
}

// waitUp waits for the handshake to end: nil once the peering is up.
func (c *Conduit) waitUp() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.handle == nil {
		return net.ErrClosed
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if C.pinecone_conduit_wait_up(c.handle, -1) != 0 {
		return lastError("handshake")
	}
	return nil
}

// end ends the peering without releasing the conduit: pending and later
// reads see io.EOF.
func (c *Conduit) end() {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.handle != nil {
		C.pinecone_conduit_close(c.handle)
	}
}

// Close ends the peering and releases the conduit; a pending Read returns
// io.EOF. Closing again does nothing.
func (c *Conduit) Close() error {
	c.closeOnce.Do(func() {
		c.mu.RLock()
		// Wakes pending reads and writes, so that the lock comes.
		C.pinecone_conduit_close(c.handle)
		c.mu.RUnlock()
		c.mu.Lock()
		C.pinecone_conduit_free(c.handle)
		c.handle = nil
		c.mu.Unlock()
	})
	return nil
}
