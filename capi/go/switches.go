package pinecone

/*
#include "pinecone.h"
*/
import "C"

// EnableHopLimiting makes the node decrement the hop limit of each
// traffic frame it forwards and drop the frame at 1, as the reference's
// Router.EnableHopLimiting does. Off when a node starts. It returns once
// the forwarding workers use the setting.
func (n *Node) EnableHopLimiting() error { return n.setHopLimiting(1) }

// DisableHopLimiting forwards traffic with its hop limit untouched again.
func (n *Node) DisableHopLimiting() error { return n.setHopLimiting(0) }

func (n *Node) setHopLimiting(enabled C.int) error {
	return n.call(func(handle *C.pinecone_node) error {
		if C.pinecone_node_set_hop_limiting(handle, enabled) != 0 {
			return lastError("hop limiting")
		}
		return nil
	})
}

// EnableWakeupBroadcasts floods a wakeup broadcast at once and then every
// 60 s, as the reference's Router.EnableWakeupBroadcasts does. The
// periodic broadcast is on when a node starts (the first after 60 s).
func (n *Node) EnableWakeupBroadcasts() error { return n.setWakeupBroadcasts(1) }

// DisableWakeupBroadcasts stops the periodic wakeup broadcast. As in the
// reference, a peer's first announcement is still answered with a
// broadcast, and broadcasts received are still handled and passed on.
func (n *Node) DisableWakeupBroadcasts() error { return n.setWakeupBroadcasts(0) }

func (n *Node) setWakeupBroadcasts(enabled C.int) error {
	return n.call(func(handle *C.pinecone_node) error {
		if C.pinecone_node_set_wakeup_broadcasts(handle, enabled) != 0 {
			return lastError("wakeup broadcasts")
		}
		return nil
	})
}
