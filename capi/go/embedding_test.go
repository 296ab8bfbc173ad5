package pinecone

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// readAsync starts a ReadFrom and returns where its error arrives.
func readAsync(node *Node) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, _, err := node.ReadFrom(make([]byte, 16))
		done <- err
	}()
	return done
}

// waitFor polls cond until it holds or convergence passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	stop := time.Now().Add(convergence)
	for !cond() {
		if time.Now().After(stop) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDeadlineSetWhileReadIsBlocked(t *testing.T) {
	node := newNode(t)
	done := readAsync(node)
	time.Sleep(100 * time.Millisecond)
	set := time.Now()
	// A deadline in the future, then moved later, both while it waits.
	node.SetReadDeadline(set.Add(100 * time.Millisecond))
	node.SetReadDeadline(set.Add(400 * time.Millisecond))
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("got %v, want a deadline error", err)
		}
		if elapsed := time.Since(set); elapsed < 400*time.Millisecond || elapsed > 2*time.Second {
			t.Fatalf("gave up after %v, want about 400ms", elapsed)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the moved deadline never woke the reader")
	}
	// Cleared while it waits: it waits on.
	node.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	done = readAsync(node)
	node.SetReadDeadline(time.Time{})
	select {
	case err := <-done:
		t.Fatalf("a cleared deadline still ended the read: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	node.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("got %v after Close", err)
	}
}

func TestCloseWhileReadWaitsForADeadline(t *testing.T) {
	node, err := NewNode(nil)
	if err != nil {
		t.Fatal(err)
	}
	node.SetReadDeadline(time.Now().Add(10 * time.Second))
	done := readAsync(node)
	time.Sleep(100 * time.Millisecond)
	closed := time.Now()
	node.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("got %v, want net.ErrClosed", err)
		}
		if time.Since(closed) > 2*time.Second {
			t.Fatal("Close took too long to wake the reader")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock ReadFrom")
	}
	if _, _, err := node.ReadFrom(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after Close: %v", err)
	}
}

func TestADatagramAfterATimeoutIsNotLost(t *testing.T) {
	a, b := peeredPair(t)
	b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, _, err := b.ReadFrom(make([]byte, 16)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if _, err := a.WriteTo([]byte("after"), b.PublicKey()); err != nil {
		t.Fatal(err)
	}
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16)
	n, source, err := b.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "after" || source != a.PublicKey() {
		t.Fatalf("read %q from %v: %v", buf[:n], source, err)
	}
}

func TestPeersStateAndCoords(t *testing.T) {
	a, b := peeredPair(t)
	waitFor(t, "announcements", func() bool {
		peers, err := b.Peers()
		return err == nil && len(peers) == 1 && peers[0].Coords != nil
	})
	peers, err := b.Peers()
	if err != nil {
		t.Fatal(err)
	}
	peer := peers[0]
	if peer.Key != a.PublicKey() || peer.Zone != "static" || peer.PeerType != PeerRemote || peer.Port == 0 {
		t.Fatalf("b's peer: %+v", peer)
	}
	state, err := a.StateJSON()
	if err != nil {
		t.Fatal(err)
	}
	var dump struct {
		PublicKey string `json:"public_key"`
	}
	if err := json.Unmarshal([]byte(state), &dump); err != nil || dump.PublicKey != a.PublicKey().String() {
		t.Fatalf("state %q: %v", state, err)
	}
	root, child := a, b
	if b.PublicKey().String() > a.PublicKey().String() {
		root, child = b, a
	}
	waitFor(t, "the child's coordinates", func() bool {
		coords, err := child.Coords()
		return err == nil && len(coords) == 1
	})
	if coords, err := root.Coords(); err != nil || len(coords) != 0 {
		t.Fatalf("the root's coordinates: %v %v", coords, err)
	}
}

func TestEventsTellOfPeers(t *testing.T) {
	a := newNode(t)
	events, err := a.Events()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := a.Events()
	if again != events {
		t.Fatal("a second channel")
	}
	b := newNode(t)
	address, err := a.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Connect("tcp://" + address); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(convergence)
	for added := false; !added; {
		select {
		case event := <-events:
			if event.Kind == EventPeerAdded && event.Key == b.PublicKey() {
				added = true
				if event.Port == 0 || !strings.Contains(event.JSON, `"peer_added"`) {
					t.Fatalf("event %+v", event)
				}
			}
		case <-timeout:
			t.Fatal("no peer_added event")
		}
	}
	a.Close()
	for range events {
	}
	if _, err := a.Events(); err != nil {
		t.Fatalf("Events after Close: %v", err)
	}
}

func TestAttachConnPeersOverIt(t *testing.T) {
	a, b := newNode(t), newNode(t)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	dialled, err := net.Dial("tcp", listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted, err := listener.Accept()
	if err != nil {
		t.Fatal(err)
	}
	// Each handshake needs the other's: attach one side meanwhile.
	attached := make(chan error, 1)
	go func() { attached <- b.AttachConn(dialled, PeerBluetooth, "hci0") }()
	if err := a.AttachConn(accepted, PeerBluetooth, "hci0"); err != nil {
		t.Fatal(err)
	}
	if err := <-attached; err != nil {
		t.Fatal(err)
	}
	if _, err := accepted.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("the attached connection is still open: %v", err)
	}
	deliver(t, a, b, []byte("over an attached connection"))
	peers, err := a.Peers()
	if err != nil || len(peers) != 1 || peers[0].PeerType != PeerBluetooth || peers[0].Zone != "hci0" {
		t.Fatalf("peers %+v: %v", peers, err)
	}
	closed, err := a.DisconnectPeerType(PeerBluetooth)
	if err != nil || closed != 1 {
		t.Fatalf("closed %d: %v", closed, err)
	}
}

func TestAttachConnFailureLeavesTheConnection(t *testing.T) {
	node := newNode(t)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	dialled, err := net.Dial("tcp", listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer dialled.Close()
	accepted, err := listener.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer accepted.Close()
	// Garbage instead of a handshake.
	go accepted.Write(make([]byte, 104))
	if err := node.AttachConn(dialled, PeerRemote, ""); err == nil {
		t.Fatal("a garbage handshake was accepted")
	}
	// The caller still has a working connection.
	dialled.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := accepted.Write([]byte("still here")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(dialled, buf, len("still here"))
	if err != nil || !strings.HasSuffix(string(buf[:n]), "still here") {
		t.Fatalf("read %q: %v", buf[:n], err)
	}
	if node.PeerCount() != 0 {
		t.Fatal("a peering came up")
	}
}

func TestConduitsJoinTwoNodes(t *testing.T) {
	a, b := newNode(t), newNode(t)
	ca, err := a.NewConduit(PeerBluetooth, "l2cap")
	if err != nil {
		t.Fatal(err)
	}
	cb, err := b.NewConduit(PeerBluetooth, "l2cap")
	if err != nil {
		t.Fatal(err)
	}
	pumped := make(chan error, 2)
	go func() { _, err := io.Copy(ca, cb); pumped <- err }()
	go func() { _, err := io.Copy(cb, ca); pumped <- err }()
	deliver(t, a, b, []byte("through conduits"))
	deliver(t, b, a, []byte("and back"))
	if closed, err := a.DisconnectZone("l2cap"); err != nil || closed != 1 {
		t.Fatalf("closed %d: %v", closed, err)
	}
	ca.Close()
	cb.Close()
	for i := 0; i < 2; i++ {
		select {
		case <-pumped:
		case <-time.After(5 * time.Second):
			t.Fatal("a pump never stopped")
		}
	}
	if _, err := ca.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v", err)
	}
	if _, err := a.NewConduit(PeerType(9), ""); err == nil {
		t.Fatal("a bad peer type was accepted")
	}
}

func TestWebSocketPeers(t *testing.T) {
	a, b := newNode(t), newNode(t)
	address, err := a.ListenWebSocket("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Connect("ws://" + address); err != nil {
		t.Fatal(err)
	}
	deliver(t, b, a, []byte("over a websocket"))
	if closed, err := a.DisconnectZone("websocket"); err != nil || closed != 1 {
		t.Fatalf("closed %d: %v", closed, err)
	}
	if _, err := a.ListenWebSocket("nonsense"); err == nil {
		t.Fatal("a bad address was accepted")
	}
}

func TestDisconnectPort(t *testing.T) {
	a, _ := peeredPair(t)
	peers, err := a.Peers()
	if err != nil || len(peers) != 1 {
		t.Fatalf("peers %+v: %v", peers, err)
	}
	if closed, err := a.DisconnectPort(peers[0].Port + 100); err != nil || closed != 0 {
		t.Fatalf("closed %d: %v", closed, err)
	}
	if closed, err := a.DisconnectPort(peers[0].Port); err != nil || closed != 1 {
		t.Fatalf("closed %d: %v", closed, err)
	}
	a.Close()
	if _, err := a.DisconnectPort(1); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
