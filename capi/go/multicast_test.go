package pinecone

import (
	"errors"
	"net"
	"strings"
	"testing"
)

func TestMulticastStartsStopsAndChecksItsArguments(t *testing.T) {
	node, err := NewNode(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := node.StartMulticast("(unclosed"); err == nil || !strings.Contains(err.Error(), "regex") {
		t.Fatalf("a pattern that does not compile: %v", err)
	}
	bad := []MulticastInterface{{Name: "wlan0", Up: true, Multicast: true, Addrs: []string{"10.0.0.1/24", "not-an-address"}}}
	if err := node.SetMulticastInterfaces(bad); err == nil || !strings.Contains(err.Error(), "not-an-address") {
		t.Fatalf("an address that cannot be read: %v", err)
	}
	// A host list with no usable interface: discovery starts and finds
	// nobody; it restarts with a pattern, and stops.
	none := []MulticastInterface{{Name: "ghost0", Up: true, Multicast: true, Addrs: []string{"10.9.9.9/24"}}}
	if err := node.SetMulticastInterfaces(none); err != nil {
		t.Fatal(err)
	}
	if err := node.StartMulticast(""); err != nil {
		t.Fatal(err)
	}
	if err := node.StartMulticast("^ghost"); err != nil {
		t.Fatal(err)
	}
	if err := node.SetMulticastInterfaces([]MulticastInterface{}); err != nil {
		t.Fatal(err)
	}
	if err := node.SetMulticastInterfaces(nil); err != nil {
		t.Fatal(err)
	}
	if err := node.StopMulticast(); err != nil {
		t.Fatal(err)
	}
	if err := node.StopMulticast(); err != nil {
		t.Fatalf("stopping again: %v", err)
	}
	if peers, err := node.Peers(); err != nil || len(peers) != 0 {
		t.Fatalf("no peers expected: %v %v", peers, err)
	}
	node.Close()
	if err := node.StartMulticast(""); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
