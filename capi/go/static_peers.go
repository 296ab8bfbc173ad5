package pinecone

/*
#include <stdlib.h>
#include "pinecone.h"
*/
import "C"

import "unsafe"

// RemoveStaticPeer stops keeping uri connected (any spelling of an
// address given to Connect: "host:port" and "tcp://host:port" are the
// same peer) and closes its peerings; it reports how many static peers
// were removed (1, or 0 when uri was not one), as the reference's
// ConnectionManager.RemovePeer does.
func (n *Node) RemoveStaticPeer(uri string) (int, error) {
	return n.count("remove static peer", func(handle *C.pinecone_node) C.int64_t {
		text := C.CString(uri)
		defer C.free(unsafe.Pointer(text))
		return C.pinecone_node_remove_static_peer(handle, text)
	})
}

// RemoveStaticPeers stops keeping every static peer connected and closes
// their peerings, as the reference's ConnectionManager.RemovePeers does
// (Dendrite's SetStaticPeer calls it before adding the new ones); it
// reports how many static peers were removed.
func (n *Node) RemoveStaticPeers() (int, error) {
	return n.count("remove static peers", func(handle *C.pinecone_node) C.int64_t {
		return C.pinecone_node_remove_static_peers(handle)
	})
}
