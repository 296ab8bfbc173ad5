package pinecone

import (
	"io"
	"net"
)

// attachPumped peers over conn through a conduit: one goroutine copies
// what the remote sends into the node, another what the node sends out to
// the remote, until either side ends. It waits for the handshake.
func (n *Node) attachPumped(conn net.Conn, peerType PeerType, zone, uri string) error {
	if uri == "" && conn.RemoteAddr() != nil {
		uri = conn.RemoteAddr().String()
	}
	conduit, err := n.newConduit(peerType, zone, uri)
	if err != nil {
		conn.Close()
		return err
	}
	inboundDone := make(chan struct{})
	go func() {
		// The remote's bytes into the node, until conn ends.
		_, _ = io.Copy(conduit, conn)
		conduit.end()
		close(inboundDone)
	}()
	go func() {
		// The node's bytes out to the remote, until the peering ends.
		_, _ = io.Copy(conn, conduit)
		conn.Close()
		<-inboundDone
		conduit.Close()
	}()
	return conduit.waitUp()
}
