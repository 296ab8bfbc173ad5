package pinecone

/*
#include <stdlib.h>
#include "pinecone.h"
*/
import "C"

import (
	"os"
	"time"
	"unsafe"
)

// The calls below are the C ABI's end-to-end sessions, one for one: each
// stream is an *os.File (a connected Unix stream socket the caller owns).
// Package pinecone.local/capi/sessions builds net.Listener and net.Conn
// on them; use that unless you need the descriptors themselves.

// ListenSessions accepts sessions of protocol (its ALPN name) from other
// nodes.
func (n *Node) ListenSessions(protocol string) error {
	return n.protocolCall("sessions listen", protocol, func(handle *C.pinecone_node, name *C.char) C.int {
		return C.pinecone_node_sessions_listen(handle, name)
	})
}

// UnlistenSessions stops accepting sessions of protocol; AcceptSession
// calls waiting on it return an error.
func (n *Node) UnlistenSessions(protocol string) error {
	return n.protocolCall("sessions unlisten", protocol, func(handle *C.pinecone_node, name *C.char) C.int {
		return C.pinecone_node_sessions_unlisten(handle, name)
	})
}

// AcceptSession waits for the next stream another node opens on protocol,
// at most timeout (negative: without limit), and returns it with the
// remote's authenticated key. It returns os.ErrDeadlineExceeded when the
// time runs out.
func (n *Node) AcceptSession(protocol string, timeout time.Duration) (*os.File, PublicKey, error) {
	var remote PublicKey
	fd := C.int(-1)
	err := n.call(func(handle *C.pinecone_node) error {
		name := C.CString(protocol)
		defer C.free(unsafe.Pointer(name))
		fd = C.pinecone_node_session_accept(handle, name,
			(*C.uint8_t)(unsafe.Pointer(&remote[0])), timeoutMillis(timeout))
		return streamError("session accept", fd)
	})
	if err != nil {
		return nil, remote, err
	}
	return os.NewFile(uintptr(fd), "pinecone-session:"+remote.String()), remote, nil
}

// DialSession opens a stream to the node holding remote, on protocol,
// waiting at most timeout (negative: without limit) for the session. It
// returns os.ErrDeadlineExceeded when the time runs out.
func (n *Node) DialSession(remote PublicKey, protocol string, timeout time.Duration) (*os.File, error) {
	fd := C.int(-1)
	err := n.call(func(handle *C.pinecone_node) error {
		name := C.CString(protocol)
		defer C.free(unsafe.Pointer(name))
		fd = C.pinecone_node_session_dial(handle, (*C.uint8_t)(unsafe.Pointer(&remote[0])),
			name, timeoutMillis(timeout))
		return streamError("session dial", fd)
	})
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "pinecone-session:"+remote.String()), nil
}

// CancelSessionDials makes every DialSession to remote on protocol that
// is waiting now fail, and answers how many there were.
func (n *Node) CancelSessionDials(remote PublicKey, protocol string) (int, error) {
	count := 0
	err := n.call(func(handle *C.pinecone_node) error {
		name := C.CString(protocol)
		defer C.free(unsafe.Pointer(name))
		result := C.pinecone_node_session_dial_cancel(handle, (*C.uint8_t)(unsafe.Pointer(&remote[0])), name)
		if result < 0 {
			return lastError("session dial cancel")
		}
		count = int(result)
		return nil
	})
	return count, err
}

// SessionsJSON describes the open sessions as a JSON array (remote key,
// protocol, streams).
func (n *Node) SessionsJSON() (string, error) {
	return n.text("sessions", func(handle *C.pinecone_node, buf *C.char, size C.size_t) C.int64_t {
		return C.int64_t(C.pinecone_node_sessions_json(handle, buf, size))
	})
}

// SessionCount is the number of open sessions.
func (n *Node) SessionCount() int {
	count := 0
	_ = n.call(func(handle *C.pinecone_node) error {
		count = int(C.pinecone_node_session_count(handle))
		return nil
	})
	return count
}

// CloseSessions closes every session with remote, whatever its protocol,
// and answers how many closed.
func (n *Node) CloseSessions(remote PublicKey) (int, error) {
	return n.count("sessions close", func(handle *C.pinecone_node) C.int64_t {
		return C.int64_t(C.pinecone_node_sessions_close(handle, (*C.uint8_t)(unsafe.Pointer(&remote[0]))))
	})
}

// protocolCall runs a call taking a protocol name that answers 0 or -1.
func (n *Node) protocolCall(operation, protocol string, body func(*C.pinecone_node, *C.char) C.int) error {
	return n.call(func(handle *C.pinecone_node) error {
		name := C.CString(protocol)
		defer C.free(unsafe.Pointer(name))
		if body(handle, name) != 0 {
			return lastError(operation)
		}
		return nil
	})
}

// streamError reads a call's answer: a descriptor, -2 for a timeout, or
// -1 for a failure.
func streamError(operation string, fd C.int) error {
	switch {
	case fd >= 0:
		return nil
	case fd == -2:
		return os.ErrDeadlineExceeded
	default:
		return lastError(operation)
	}
}

// timeoutMillis is a timeout as the ABI takes it: -1 for none, otherwise
// whole milliseconds, at least 1 so that a short positive timeout still
// waits.
func timeoutMillis(timeout time.Duration) C.int {
	if timeout < 0 {
		return -1
	}
	ms := (timeout + time.Millisecond - 1) / time.Millisecond
	if ms > 1<<31-1 {
		ms = 1<<31 - 1
	}
	return C.int(ms)
}
