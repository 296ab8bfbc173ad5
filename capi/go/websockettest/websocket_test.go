// Package websockettest attaches gorilla WebSocket connections to nodes,
// as Dendrite does, in a module of its own so that the pinecone package
// itself needs nothing beyond the standard library.
package websockettest

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	pinecone "pinecone.local/capi"
)

// convergence bounds how long two nodes may take to peer and find a route.
const convergence = 20 * time.Second

// wsConn is a WebSocket connection as a net.Conn carrying a byte stream:
// each Write is one binary message, and Read returns the messages' bytes
// in order.
type wsConn struct {
	*websocket.Conn
	reading []byte
	readMu  sync.Mutex
	writeMu sync.Mutex
}

var _ net.Conn = (*wsConn)(nil)

func (c *wsConn) Read(p []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	for len(c.reading) == 0 {
		kind, message, err := c.ReadMessage()
		if err != nil {
			return 0, err
		}
		if kind == websocket.BinaryMessage {
			c.reading = message
		}
	}
	n := copy(p, c.reading)
	c.reading = c.reading[n:]
	return n, nil
}

func (c *wsConn) Write(p []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *wsConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

func newNode(t *testing.T) *pinecone.Node {
	t.Helper()
	node, err := pinecone.NewNode(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	return node
}

// deliver sends payload from `from` until `to` reads it.
func deliver(t *testing.T, from, to *pinecone.Node, payload []byte) {
	t.Helper()
	stop := time.Now().Add(convergence)
	buf := make([]byte, 2048)
	for time.Now().Before(stop) {
		if _, err := from.WriteTo(payload, to.PublicKey()); err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		to.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, source, err := to.ReadFrom(buf)
		to.SetReadDeadline(time.Time{})
		if err != nil {
			continue
		}
		if source != from.PublicKey() || !bytes.Equal(buf[:n], payload) {
			t.Fatalf("got %q from %v, want %q from %v", buf[:n], source, payload, from.PublicKey())
		}
		return
	}
	t.Fatalf("%q never crossed", payload)
}

// A node dials another's WebSocket listener with gorilla and attaches the
// connection, as Dendrite attaches its static WebSocket peers.
func TestAGorillaClientConnectionAttaches(t *testing.T) {
	listening, dialling := newNode(t), newNode(t)
	address, err := listening.ListenWebSocket("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	uri := "ws://" + address + "/"
	conn, _, err := websocket.DefaultDialer.Dial(uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := dialling.AttachConnURI(&wsConn{Conn: conn}, pinecone.PeerRemote, "websocket", uri); err != nil {
		t.Fatal(err)
	}
	deliver(t, dialling, listening, []byte("over gorilla, outbound"))
	deliver(t, listening, dialling, []byte("and back"))
	peers, err := dialling.Peers()
	if err != nil || len(peers) != 1 || peers[0].URI != uri || peers[0].Key != listening.PublicKey() {
		t.Fatalf("peers %+v: %v", peers, err)
	}
}

// A Go HTTP server upgrades requests with gorilla and attaches each
// connection, as Dendrite's WebSocket listener does; one node behind it
// and one dialling it exchange datagrams.
func TestAGorillaServerConnectionAttaches(t *testing.T) {
	serving, dialling := newNode(t), newNode(t)
	upgrader := websocket.Upgrader{
		ReadBufferSize:  pinecone.MaxFrameSize,
		WriteBufferSize: pinecone.MaxFrameSize,
	}
	attached := make(chan error, 1)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			attached <- err
			return
		}
		attached <- serving.AttachConnURI(&wsConn{Conn: conn}, pinecone.PeerRemote, "websocket", r.RemoteAddr)
	}))
	defer server.Close()
	// The dialling node's own WebSocket client reaches the Go server.
	if err := dialling.Connect("ws://" + strings.TrimPrefix(server.URL, "http://") + "/"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-attached:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(convergence):
		t.Fatal("the server never attached the connection")
	}
	deliver(t, dialling, serving, []byte("into a gorilla server"))
	deliver(t, serving, dialling, []byte("out of it"))
	if count, err := serving.PeerCountByType(pinecone.PeerRemote); err != nil || count != 1 {
		t.Fatalf("%d remote peers: %v", count, err)
	}
}
