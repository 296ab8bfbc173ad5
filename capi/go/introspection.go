package pinecone

/*
#include "pinecone.h"
*/
import "C"

import (
	"encoding/json"
	"unsafe"
)

// Peer describes one peering.
type Peer struct {
	// Port is its port on this node.
	Port uint64 `json:"port"`
	// Key is the peer's key.
	Key PublicKey `json:"key"`
	// PeerType is the medium.
	PeerType PeerType `json:"peer_type"`
	// Zone is "static" for peers given to Connect, "websocket" for
	// accepted WebSocket peers, "" for accepted TCP peers, or the zone
	// given to AttachConn or NewConduit.
	Zone string `json:"zone"`
	// URI is where the peering leads.
	URI string `json:"uri"`
	// Coords are the peer's tree coordinates; nil before it announced.
	Coords []uint64 `json:"coords"`
	// Root is the root the peer follows; nil before it announced.
	Root *struct {
		Key PublicKey `json:"key"`
		Seq uint64    `json:"seq"`
	} `json:"root"`
	// IsParent is whether the peer is this node's tree parent.
	IsParent bool `json:"is_parent"`
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

// AnyPeerType asks PeerCountByType about every medium.
const AnyPeerType PeerType = C.PINECONE_PEER_ANY

// PeerCountByType is how many distinct peer keys the node has peerings
// with over peerType, or over any medium with AnyPeerType: several
// peerings with one key count once, as the reference's PeerCount counts.
func (n *Node) PeerCountByType(peerType PeerType) (int, error) {
	return n.count("peer count", func(handle *C.pinecone_node) C.int64_t {
		return C.pinecone_node_peer_count_by_type(handle, C.int(peerType))
	})
}

// Peers lists the peerings in port order.
func (n *Node) Peers() ([]Peer, error) {
	text, err := n.text("peers", func(handle *C.pinecone_node, buf *C.char, size C.size_t) C.int64_t {
		return C.pinecone_node_peers_json(handle, buf, size)
	})
	if err != nil {
		return nil, err
	}
	var peers []Peer
	err = json.Unmarshal([]byte(text), &peers)
	return peers, err
}

// StateJSON is the node's state dump as JSON, with the fields of the
// reference implementation's manhole.
func (n *Node) StateJSON() (string, error) {
	return n.text("state", func(handle *C.pinecone_node, buf *C.char, size C.size_t) C.int64_t {
		return C.pinecone_node_state_json(handle, buf, size)
	})
}

// Coords are the node's tree coordinates: the ports from the root down
// to it, none for a root.
func (n *Node) Coords() ([]uint64, error) {
	coords := make([]uint64, 16)
	for {
		length := int64(0)
		err := n.call(func(handle *C.pinecone_node) error {
			length = int64(C.pinecone_node_coords(handle,
				(*C.uint64_t)(unsafe.Pointer(&coords[0])), C.size_t(len(coords))))
			if length < 0 {
				return lastError("coords")
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if length <= int64(len(coords)) {
			return coords[:length], nil
		}
		coords = make([]uint64, length+16)
	}
}

// text fetches a NUL-terminated answer, growing the buffer until it fits.
func (n *Node) text(operation string, fetch func(*C.pinecone_node, *C.char, C.size_t) C.int64_t) (string, error) {
	buf := make([]byte, 4096)
	for {
		needed := int64(0)
		err := n.call(func(handle *C.pinecone_node) error {
			needed = int64(fetch(handle, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf))))
			if needed < 0 {
				return lastError(operation)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
		if needed <= int64(len(buf)) {
			return string(buf[:needed-1]), nil
		}
		buf = make([]byte, needed+4096)
	}
}
