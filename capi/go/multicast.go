package pinecone

/*
#include <stdlib.h>
#include "pinecone.h"
*/
import "C"

import (
	"strings"
	"unsafe"
)

// MulticastInterface describes a network interface to multicast
// discovery, for hosts where the process cannot list interfaces itself
// (as on Android, where the app's network callback knows them).
type MulticastInterface struct {
	// Name becomes the zone of peerings found on the interface.
	Name string
	// Index is the interface's index; 0 has it looked up by name.
	Index uint32
	// Up, Multicast, Loopback and PointToPoint are the interface's flags:
	// discovery runs on interfaces that are up and multicast-capable, and
	// neither loopback nor point-to-point.
	Up, Multicast, Loopback, PointToPoint bool
	// Addrs are its addresses, each an IP address optionally with a
	// "/prefix" length and an IPv6 "%zone": "192.168.1.5/24",
	// "fe80::1%wlan0/64".
	Addrs []string
}

// StartMulticast starts LAN multicast discovery, compatible with the
// reference's: beacons to 224.0.0.114 and ff02::114 port 60606 on every
// suitable interface whose name matches pattern (a regular expression
// searched in the name; "" for every interface), dials to the nodes heard,
// and a TCP listener of its own. Its peerings have PeerMulticast and the
// interface's name as zone. Started again, it restarts with the new
// pattern.
func (n *Node) StartMulticast(pattern string) error {
	return n.call(func(handle *C.pinecone_node) error {
		var text *C.char
		if pattern != "" {
			text = C.CString(pattern)
			defer C.free(unsafe.Pointer(text))
		}
		if C.pinecone_node_multicast_start(handle, text) != 0 {
			return lastError("start multicast")
		}
		return nil
	})
}

// StopMulticast stops multicast discovery (no more beacons, dials or
// accepts). The peerings it made stay up: DisconnectPeerType(PeerMulticast)
// closes them. Stopping when it is not running is not an error.
func (n *Node) StopMulticast() error {
	return n.call(func(handle *C.pinecone_node) error {
		if C.pinecone_node_multicast_stop(handle) != 0 {
			return lastError("stop multicast")
		}
		return nil
	})
}

// SetMulticastInterfaces makes multicast discovery use interfaces instead
// of listing the system's; nil goes back to the system's list, and an
// empty non-nil slice means no interface. Call it again whenever the
// network changes; a running discovery looks at the new list at once.
func (n *Node) SetMulticastInterfaces(interfaces []MulticastInterface) error {
	return n.call(func(handle *C.pinecone_node) error {
		if interfaces == nil {
			if C.pinecone_node_multicast_set_interfaces(handle, nil, 0) != 0 {
				return lastError("set multicast interfaces")
			}
			return nil
		}
		// One element more than needed, so that an empty list still has a
		// non-NULL address.
		described := make([]C.pinecone_interface, len(interfaces)+1)
		for i, iface := range interfaces {
			name := C.CString(iface.Name)
			defer C.free(unsafe.Pointer(name))
			addrs := C.CString(strings.Join(iface.Addrs, " "))
			defer C.free(unsafe.Pointer(addrs))
			var flags C.uint32_t
			for _, flag := range []struct {
				set bool
				bit C.uint32_t
			}{
				{iface.Up, C.PINECONE_INTERFACE_UP},
				{iface.Multicast, C.PINECONE_INTERFACE_MULTICAST},
				{iface.Loopback, C.PINECONE_INTERFACE_LOOPBACK},
				{iface.PointToPoint, C.PINECONE_INTERFACE_POINT_TO_POINT},
			} {
				if flag.set {
					flags |= flag.bit
				}
			}
			described[i] = C.pinecone_interface{
				name:      name,
				index:     C.uint32_t(iface.Index),
				flags:     flags,
				addresses: addrs,
			}
		}
		if C.pinecone_node_multicast_set_interfaces(handle, &described[0], C.size_t(len(interfaces))) != 0 {
			return lastError("set multicast interfaces")
		}
		return nil
	})
}
