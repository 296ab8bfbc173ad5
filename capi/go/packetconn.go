package pinecone

/*
#include "pinecone.h"
*/
import "C"

import (
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// MaxFrameSize is the largest frame a peering carries, in bytes: a
// buffer this large holds any frame and any datagram's payload (for
// example a WebSocket upgrader's buffers). The reference's constant of
// the same name is a larger buffer bound; frames on the wire never exceed
// this one.
const MaxFrameSize = C.PINECONE_MAX_FRAME_SIZE

// buffers hold whole datagrams, which ReadFrom truncates to the caller's
// buffer as a net.PacketConn does.
var buffers = sync.Pool{New: func() any { return new([MaxFrameSize]byte) }}

// packet is one datagram received, or the failure of a receive.
type packet struct {
	buf    *[MaxFrameSize]byte
	length int
	source PublicKey
	err    error
}

var _ net.PacketConn = (*Node)(nil)

// readLoop receives datagrams and hands them to ReadFrom one at a time.
// It waits for them in Go's netpoller, on the library's descriptor that
// is readable while datagrams wait, and takes them with receives that do
// not wait, so no OS thread stays blocked in the library. Close wakes it:
// a node shut down leaves the descriptor readable and its receives fail.
func (n *Node) readLoop() {
	defer close(n.readerDone)
	ready, err := n.datagramReadiness()
	if err != nil {
		n.readFailed(err)
		return
	}
	defer ready.Close()
	raw, err := ready.SyscallConn()
	if err != nil {
		n.readFailed(err)
		return
	}
	for {
		next := packet{buf: buffers.Get().(*[MaxFrameSize]byte)}
		length := int64(C.PINECONE_TIMED_OUT)
		waitErr := raw.Read(func(uintptr) bool {
			length = n.recvNow(&next)
			return length != C.PINECONE_TIMED_OUT
		})
		if waitErr != nil && next.err == nil {
			next.err = waitErr
		}
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
		if next.err != nil {
			// The node is gone: every later receive would fail too.
			return
		}
	}
}

// recvNow takes the next datagram if one waits: its length, -2
// (C.PINECONE_TIMED_OUT) when none does, or -1 with next.err set.
func (n *Node) recvNow(next *packet) int64 {
	length := int64(-1)
	err := n.call(func(handle *C.pinecone_node) error {
		length = int64(C.pinecone_node_recv(handle,
			(*C.uint8_t)(unsafe.Pointer(&next.source[0])),
			(*C.uint8_t)(unsafe.Pointer(&next.buf[0])), C.size_t(len(next.buf)), 0))
		if length < 0 && length != C.PINECONE_TIMED_OUT {
			return lastError("recv")
		}
		return nil
	})
	if err != nil {
		next.err = err
		return -1
	}
	return length
}

// datagramReadiness is a file for a duplicate of the node's datagram
// descriptor, which Go's netpoller waits on.
func (n *Node) datagramReadiness() (*os.File, error) {
	fd := -1
	err := n.call(func(handle *C.pinecone_node) error {
		fd = int(C.pinecone_node_datagram_fd(handle))
		if fd < 0 {
			return lastError("datagram descriptor")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	syscall.ForkLock.RLock()
	duplicate, err := syscall.Dup(fd)
	if err == nil {
		syscall.CloseOnExec(duplicate)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, err
	}
	// The descriptor is non-blocking, so the file is pollable.
	return os.NewFile(uintptr(duplicate), "pinecone-datagrams"), nil
}

// readFailed hands ReadFrom the reason the reader cannot run.
func (n *Node) readFailed(err error) {
	select {
	case n.packets <- packet{buf: buffers.Get().(*[MaxFrameSize]byte), err: err}:
	case <-n.closed:
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
