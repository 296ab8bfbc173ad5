package pinecone

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// attachPair peers a and b over the two ends of a connection without a
// descriptor, both handshakes running at once.
func attachPair(t *testing.T, a, b *Node, left, right net.Conn, uriA, uriB string) {
	t.Helper()
	attached := make(chan error, 1)
	go func() { attached <- b.AttachConnURI(right, PeerPipe, "memory", uriB) }()
	if err := a.AttachConnURI(left, PeerPipe, "memory", uriA); err != nil {
		t.Fatal(err)
	}
	if err := <-attached; err != nil {
		t.Fatal(err)
	}
}

func TestAttachConnPumpsANetPipe(t *testing.T) {
	a, b := newNode(t), newNode(t)
	left, right := net.Pipe()
	attachPair(t, a, b, left, right, "pipe://b", "")
	deliver(t, a, b, []byte("through a net.Pipe"))
	deliver(t, b, a, []byte("and back"))
	peers, err := a.Peers()
	if err != nil || len(peers) != 1 || peers[0].URI != "pipe://b" || peers[0].Key != b.PublicKey() {
		t.Fatalf("peers %+v: %v", peers, err)
	}
	peers, err = b.Peers()
	if err != nil || len(peers) != 1 || peers[0].URI != "pipe" {
		t.Fatalf("a pipe's remote address is the URI without one: %+v: %v", peers, err)
	}
	// Closing the peering closes the connection, and the other side sees it.
	if closed, err := a.DisconnectPort(peers[0].Port); err != nil || closed != 1 {
		t.Fatalf("closed %d: %v", closed, err)
	}
	waitFor(t, "b to lose its peer", func() bool { return b.PeerCount() == 0 })
	if _, err := left.Write([]byte("x")); err == nil {
		t.Fatal("the pumped connection is still open")
	}
}

func TestAttachConnFailsOnAGarbageHandshakeAndClosesThePipe(t *testing.T) {
	node := newNode(t)
	left, right := net.Pipe()
	go func() {
		buf := make([]byte, 104)
		_, _ = right.Read(buf)
		_, _ = right.Write(make([]byte, 104))
	}()
	if err := node.AttachConn(left, PeerPipe, ""); err == nil {
		t.Fatal("a garbage handshake was accepted")
	}
	waitFor(t, "the connection to close", func() bool {
		right.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
		_, err := right.Write([]byte("x"))
		return err != nil && !strings.Contains(err.Error(), "timeout")
	})
	if node.PeerCount() != 0 {
		t.Fatal("a peering came up")
	}
}

func TestStaticPeersAreRemoved(t *testing.T) {
	a, b, c := newNode(t), newNode(t), newNode(t)
	addressA, err := a.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addressC, err := c.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Connect("tcp://" + addressA); err != nil {
		t.Fatal(err)
	}
	if err := b.Connect(addressC); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to peer twice", func() bool { return b.PeerCount() == 2 })
	if removed, err := b.RemoveStaticPeer(addressA); err != nil || removed != 1 {
		t.Fatalf("removed %d: %v", removed, err)
	}
	if removed, err := b.RemoveStaticPeer(addressA); err != nil || removed != 0 {
		t.Fatalf("removed %d again: %v", removed, err)
	}
	waitFor(t, "a to lose its peer", func() bool { return a.PeerCount() == 0 })
	if removed, err := b.RemoveStaticPeers(); err != nil || removed != 1 {
		t.Fatalf("removed %d: %v", removed, err)
	}
	waitFor(t, "c to lose its peer", func() bool { return c.PeerCount() == 0 })
	// A redial would come within the first backoff delay.
	time.Sleep(3 * time.Second)
	if a.PeerCount()+b.PeerCount()+c.PeerCount() != 0 {
		t.Fatal("a removed static peer was redialled")
	}
}

func TestPeerCountByTypeCountsKeys(t *testing.T) {
	a, b, c := newNode(t), newNode(t), newNode(t)
	for i := 0; i < 2; i++ {
		left, right := net.Pipe()
		attachPair(t, a, b, left, right, "", "")
	}
	address, err := c.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Connect(address); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three peerings", func() bool { return a.PeerCount() == 3 })
	for _, want := range []struct {
		peerType PeerType
		count    int
	}{{PeerPipe, 1}, {PeerRemote, 1}, {PeerBluetooth, 0}, {AnyPeerType, 2}} {
		if count, err := a.PeerCountByType(want.peerType); err != nil || count != want.count {
			t.Fatalf("peer type %d: %d peers (%v), want %d", want.peerType, count, err, want.count)
		}
	}
	if _, err := a.PeerCountByType(9); err == nil {
		t.Fatal("a bad peer type was counted")
	}
}

func TestSwitchesAndManholeHandler(t *testing.T) {
	a, b := peeredPair(t)
	for _, node := range []*Node{a, b} {
		for _, flip := range []func() error{node.EnableHopLimiting, node.DisableWakeupBroadcasts,
			node.EnableWakeupBroadcasts, node.DisableHopLimiting, node.EnableHopLimiting} {
			if err := flip(); err != nil {
				t.Fatal(err)
			}
		}
	}
	deliver(t, a, b, []byte("one hop, hop limited"))

	server := httptest.NewServer(http.HandlerFunc(a.ManholeHandler))
	defer server.Close()
	response, err := http.Get(server.URL + "/manhole")
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	if response.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("content type %q", response.Header.Get("Content-Type"))
	}
	var state struct {
		PublicKey string                     `json:"public_key"`
		Peers     map[string]json.RawMessage `json:"peers"`
	}
	if err := json.NewDecoder(response.Body).Decode(&state); err != nil {
		t.Fatal(err)
	}
	if state.PublicKey != a.PublicKey().String() || state.Peers[b.PublicKey().String()] == nil {
		t.Fatalf("manhole %+v", state)
	}
	if MaxFrameSize != 65535 {
		t.Fatalf("MaxFrameSize %d", MaxFrameSize)
	}
	a.Close()
	if err := a.EnableHopLimiting(); err == nil {
		t.Fatal("a closed node switched")
	}
	recorder := httptest.NewRecorder()
	a.ManholeHandler(recorder, httptest.NewRequest("GET", "/manhole", nil))
	if recorder.Code != http.StatusInternalServerError {
		t.Fatalf("a closed node's manhole answered %d", recorder.Code)
	}
}

func TestLogHandlerGetsTheLibrarysRecords(t *testing.T) {
	var mu sync.Mutex
	var records []string
	handler := func(level LogLevel, target, message string) {
		mu.Lock()
		defer mu.Unlock()
		records = append(records, level.String()+" "+target+": "+message)
	}
	if err := SetLogHandler(LogInfo, handler); err != nil {
		t.Fatal(err)
	}
	defer SetLogHandler(LogOff, nil)
	peeredPair(t)
	waitFor(t, "a record of a new peering", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, record := range records {
			if strings.HasPrefix(record, "info pinecone_transports") && strings.Contains(record, "peering added") {
				return true
			}
		}
		return false
	})
	if err := SetLogHandler(LogOff, nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	records = nil
	mu.Unlock()
	peeredPair(t)
	mu.Lock()
	defer mu.Unlock()
	if len(records) != 0 {
		t.Fatalf("records after the handler was removed: %q", records)
	}
}
