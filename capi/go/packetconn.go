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
	"time"
	"unsafe"
)

// readSlice bounds one wait inside the library, so that a new read
// deadline or Close takes effect within it.
const readSlice = 100 * time.Millisecond

// maxDatagram is the largest payload one traffic frame carries.
const maxDatagram = 65535

// buffers hold whole datagrams, which ReadFrom truncates to the caller's
// buffer as a net.PacketConn does.
var buffers = sync.Pool{New: func() any { return new([maxDatagram]byte) }}

var _ net.PacketConn = (*Node)(nil)

// ReadFrom waits for the next datagram, copies its payload into p
// (truncating it when p is too short) and returns its length and sender.
func (n *Node) ReadFrom(p []byte) (int, net.Addr, error) {
	buf := buffers.Get().(*[maxDatagram]byte)
	defer buffers.Put(buf)
	for {
		wait := readSlice
		if deadline := n.readDeadline(); !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return 0, nil, n.opError("read", os.ErrDeadlineExceeded)
			}
			if left < wait {
				wait = left
			}
		}
		var source PublicKey
		length := int64(0)
		err := n.call(func(handle *C.pinecone_node) error {
			length = int64(C.pinecone_node_recv(handle,
				(*C.uint8_t)(unsafe.Pointer(&source[0])),
				(*C.uint8_t)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)),
				C.int32_t((wait+time.Millisecond-1)/time.Millisecond)))
			if length == -1 {
				return lastError("recv")
			}
			return nil
		})
		if err != nil {
			return 0, nil, n.opError("read", err)
		}
		if length >= 0 {
			return copy(p, buf[:length]), source, nil
		}
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
	n.deadlines.Lock()
	defer n.deadlines.Unlock()
	n.readBy, n.writeBy = t, t
	return nil
}

// SetReadDeadline sets when a pending and future ReadFrom give up; the
// zero time means never.
func (n *Node) SetReadDeadline(t time.Time) error {
	n.deadlines.Lock()
	defer n.deadlines.Unlock()
	n.readBy = t
	return nil
}

// SetWriteDeadline sets when WriteTo gives up; the zero time means never.
func (n *Node) SetWriteDeadline(t time.Time) error {
	n.deadlines.Lock()
	defer n.deadlines.Unlock()
	n.writeBy = t
	return nil
}

func (n *Node) readDeadline() time.Time {
	n.deadlines.Lock()
	defer n.deadlines.Unlock()
	return n.readBy
}

func (n *Node) writeDeadline() time.Time {
	n.deadlines.Lock()
	defer n.deadlines.Unlock()
	return n.writeBy
}

func (n *Node) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "ed25519", Source: n.key, Err: err}
}
