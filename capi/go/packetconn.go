package pinecone

/*
#include "pinecone.h"
*/
import "C"

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// maxDatagram is the largest payload one traffic frame carries.
const maxDatagram = 65535

// buffers hold whole datagrams, which ReadFrom truncates to the caller's
// buffer as a net.PacketConn does.
var buffers = sync.Pool{New: func() any { return new([maxDatagram]byte) }}

// packet is one datagram received, or the failure of a receive.
type packet struct {
	buf    *[maxDatagram]byte
	length int
	source PublicKey
	err    error
}

var _ net.PacketConn = (*Node)(nil)

// readLoop receives datagrams, waiting in the library without a timeout,
// and hands them to ReadFrom one at a time. Close wakes it by shutting the
// node down.
func (n *Node) readLoop() {
	defer close(n.readerDone)
	// Failures' messages are per thread: stay on one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for {
		next := packet{buf: buffers.Get().(*[maxDatagram]byte)}
		n.mu.RLock()
		length := int64(-1)
		if n.handle != nil {
			length = int64(C.pinecone_node_recv(n.handle,
				(*C.uint8_t)(unsafe.Pointer(&next.source[0])),
				(*C.uint8_t)(unsafe.Pointer(&next.buf[0])), C.size_t(len(next.buf)), -1))
			if length < 0 {
				next.err = lastError("recv")
			}
		}
		n.mu.RUnlock()
		select {
		case <-n.closed:
			buffers.Put(next.buf)
			return
		default:
		}
		next.length = int(length)
		select {
		case n.packets <- next:
		case <-n.closed:
			buffers.Put(next.buf)
			return
		}
	}
}

// ReadFrom waits for the next datagram, copies its payload into p
// (truncating it when p is too short) and returns its length and sender.
// It gives up at the read deadline, also one set while it waits, and
// returns net.ErrClosed once Close is called.
func (n *Node) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		select {
		case <-n.closed:
			return 0, nil, n.opError("read", net.ErrClosed)
		default:
		}
		deadline, moved := n.readDeadline()
		var timer *time.Timer
		var expired <-chan time.Time
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return 0, nil, n.opError("read", os.ErrDeadlineExceeded)
			}
			timer = time.NewTimer(left)
			expired = timer.C
		}
		var next packet
		received := false
		select {
		case next = <-n.packets:
			received = true
		case <-n.closed:
		case <-expired:
		case <-moved:
		}
		if timer != nil {
			timer.Stop()
		}
		if received {
			defer buffers.Put(next.buf)
			if next.err != nil {
				return 0, nil, n.opError("read", next.err)
			}
			return copy(p, next.buf[:next.length]), next.source, nil
		}
		// Closed, expired or moved: the top of the loop tells which.
	}
}

// WriteTo sends p as one datagram to addr, a PublicKey.
func (n *Node) WriteTo(p []byte, addr net.Addr) (int, error) {
	var dest PublicKey
	switch key := addr.(type) {
	case PublicKey:
		dest = key
	case *PublicKey:
		dest = *key
	default:
		return 0, n.opError("write", fmt.Errorf("pinecone: %T is not a PublicKey", addr))
	}
	if deadline := n.writeDeadline(); !deadline.IsZero() && !time.Now().Before(deadline) {
		return 0, n.opError("write", os.ErrDeadlineExceeded)
	}
	err := n.call(func(handle *C.pinecone_node) error {
		var data *C.uint8_t
		if len(p) > 0 {
			data = (*C.uint8_t)(unsafe.Pointer(&p[0]))
		}
		if C.pinecone_node_send(handle, (*C.uint8_t)(unsafe.Pointer(&dest[0])), data, C.size_t(len(p))) != 0 {
			return lastError("send")
		}
		return nil
	})
	if err != nil {
		return 0, n.opError("write", err)
	}
	return len(p), nil
}

// LocalAddr is this node's PublicKey.
func (n *Node) LocalAddr() net.Addr { return n.key }

// SetDeadline sets both the read and the write deadline.
func (n *Node) SetDeadline(t time.Time) error {
	n.SetReadDeadline(t)
	return n.SetWriteDeadline(t)
}

// SetReadDeadline sets when a pending and future ReadFrom give up; the
// zero time means never.
func (n *Node) SetReadDeadline(t time.Time) error {
	n.deadlines.Lock()
	defer n.deadlines.Unlock()
	n.readBy = t
	close(n.readMoved)
	n.readMoved = make(chan struct{})
	return nil
}

// SetWriteDeadline sets when WriteTo gives up; the zero time means never.
func (n *Node) SetWriteDeadline(t time.Time) error {
	n.deadlines.Lock()
	defer n.deadlines.Unlock()
	n.writeBy = t
	return nil
}

// readDeadline is the read deadline and a channel closed when it moves.
func (n *Node) readDeadline() (time.Time, <-chan struct{}) {
	n.deadlines.Lock()
	defer n.deadlines.Unlock()
	return n.readBy, n.readMoved
}

func (n *Node) writeDeadline() time.Time {
	n.deadlines.Lock()
	defer n.deadlines.Unlock()
	return n.writeBy
}

func (n *Node) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "ed25519", Source: n.key, Err: err}
}
