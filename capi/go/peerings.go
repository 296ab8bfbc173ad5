package pinecone

/*
#include <stdlib.h>
#include "pinecone.h"
*/
import "C"

import (
	"net"
	"syscall"
	"unsafe"
)

// PeerType is the medium of a peering, numbered as the reference
// implementation numbers them.
type PeerType int

// The media of peerings.
const (
	PeerPipe      PeerType = C.PINECONE_PEER_PIPE
	PeerMulticast PeerType = C.PINECONE_PEER_MULTICAST
	PeerBonjour   PeerType = C.PINECONE_PEER_BONJOUR
	PeerRemote    PeerType = C.PINECONE_PEER_REMOTE
	PeerBluetooth PeerType = C.PINECONE_PEER_BLUETOOTH
)

// Listen listens for TCP peers on address ("ip:port"; port 0 picks one)
// and returns the address bound.
func (n *Node) Listen(address string) (string, error) {
	return n.listen(address, "listen", func(handle *C.pinecone_node, addr *C.char, out *C.char, size C.size_t) C.int {
		return C.pinecone_node_listen_tcp(handle, addr, out, size)
	})
}

// ListenWebSocket listens for WebSocket peers (ws://) on address
// ("ip:port"; port 0 picks one) and returns the address bound.
func (n *Node) ListenWebSocket(address string) (string, error) {
	return n.listen(address, "listen websocket", func(handle *C.pinecone_node, addr *C.char, out *C.char, size C.size_t) C.int {
		return C.pinecone_node_listen_ws(handle, addr, out, size)
	})
}

func (n *Node) listen(address, operation string, listen func(*C.pinecone_node, *C.char, *C.char, C.size_t) C.int) (string, error) {
	var bound string
	err := n.call(func(handle *C.pinecone_node) error {
		text := C.CString(address)
		defer C.free(unsafe.Pointer(text))
		var out [128]C.char
		if listen(handle, text, &out[0], C.size_t(len(out))) != 0 {
			return lastError(operation)
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

// AttachConn peers over conn, a connection the program made itself, with
// the medium peerType and zone: AttachConnURI with the URI the library
// gives ("tcp://" and the remote address for TCP, "unix", or "conduit").
func (n *Node) AttachConn(conn net.Conn, peerType PeerType, zone string) error {
	return n.AttachConnURI(conn, peerType, zone, "")
}

// AttachConnURI peers over conn, any connection the program made itself
// (TCP, Unix, a WebSocket wrapped as a net.Conn, a net.Pipe end), with
// the medium peerType and zone, showing uri in the peer list and the
// state dump ("" for the library's choice), as the reference's Connect
// with a ConnectionURI option does. It runs the handshake first,
// blocking until it completes or fails (within a few seconds).
//
// A TCP or Unix connection is handed over: on success the node takes it
// and conn is closed (the node keeps its own descriptor of the socket);
// on failure conn is left to the caller, though the handshake may have
// used it. Any other connection is pumped through a conduit by two
// goroutines for as long as the peering lasts: conn is the node's from
// this call on, and it is closed when the peering ends, when the
// handshake fails, or when the node closes.
func (n *Node) AttachConnURI(conn net.Conn, peerType PeerType, zone, uri string) error {
	withFd, ok := conn.(syscall.Conn)
	if !ok {
		return n.attachPumped(conn, peerType, zone, uri)
	}
	raw, err := withFd.SyscallConn()
	if err != nil {
		return n.attachPumped(conn, peerType, zone, uri)
	}
	fd := -1
	var dupErr error
	err = raw.Control(func(original uintptr) {
		syscall.ForkLock.RLock()
		defer syscall.ForkLock.RUnlock()
		fd, dupErr = syscall.Dup(int(original))
		if dupErr == nil {
			syscall.CloseOnExec(fd)
		}
	})
	if err == nil {
		err = dupErr
	}
	if err != nil {
		return err
	}
	err = n.call(func(handle *C.pinecone_node) error {
		text := C.CString(zone)
		defer C.free(unsafe.Pointer(text))
		uriText := optionalCString(uri)
		defer C.free(unsafe.Pointer(uriText))
		if C.pinecone_node_attach_fd_uri(handle, C.int(fd), C.int(peerType), text, uriText) != 0 {
			return lastError("attach")
		}
		return nil
	})
	if err != nil {
		// The handshake made the socket blocking; Go's poller needs it
		// non-blocking again.
		_ = syscall.SetNonblock(fd, true)
		_ = syscall.Close(fd)
		return err
	}
	return conn.Close()
}

// DisconnectPort closes the peering on port (as Peers numbers them) and
// reports how many peerings closed (0 or 1).
func (n *Node) DisconnectPort(port uint64) (int, error) {
	return n.count("disconnect", func(handle *C.pinecone_node) C.int64_t {
		return C.pinecone_node_disconnect_port(handle, C.uint64_t(port))
	})
}

// DisconnectZone closes every peering in zone ("static" for the peers
// given to Connect) and reports how many closed.
func (n *Node) DisconnectZone(zone string) (int, error) {
	return n.count("disconnect zone", func(handle *C.pinecone_node) C.int64_t {
		text := C.CString(zone)
		defer C.free(unsafe.Pointer(text))
		return C.pinecone_node_disconnect_zone(handle, text)
	})
}

// DisconnectPeerType closes every peering over peerType and reports how
// many closed.
func (n *Node) DisconnectPeerType(peerType PeerType) (int, error) {
	return n.count("disconnect peer type", func(handle *C.pinecone_node) C.int64_t {
		return C.pinecone_node_disconnect_peer_type(handle, C.int(peerType))
	})
}

// count runs a library call answering a count or -1.
func (n *Node) count(operation string, body func(*C.pinecone_node) C.int64_t) (int, error) {
	count := 0
	err := n.call(func(handle *C.pinecone_node) error {
		answer := body(handle)
		if answer < 0 {
			return lastError(operation)
		}
		count = int(answer)
		return nil
	})
	return count, err
}
