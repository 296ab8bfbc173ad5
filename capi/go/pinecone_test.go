package pinecone

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// convergence bounds how long two nodes may take to peer and find a route.
const convergence = 20 * time.Second

func newNode(t *testing.T) *Node {
	t.Helper()
	node, err := NewNode(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	return node
}

// peeredPair starts two nodes, b dialling a over loopback TCP, and waits
// until a datagram crosses from a to b.
func peeredPair(t *testing.T) (*Node, *Node) {
	t.Helper()
	a, b := newNode(t), newNode(t)
	address, err := a.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Connect("tcp://" + address); err != nil {
		t.Fatal(err)
	}
	deliver(t, a, b, []byte("probe"))
	return a, b
}

// deliver sends payload from `from` until `to` reads it.
func deliver(t *testing.T, from, to *Node, payload []byte) {
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

func TestPublicKeyIsTheAddress(t *testing.T) {
	node := newNode(t)
	addr := node.LocalAddr()
	if addr.Network() != "ed25519" {
		t.Fatalf("network %q", addr.Network())
	}
	parsed, err := ParsePublicKey(addr.String())
	if err != nil || parsed != node.PublicKey() {
		t.Fatalf("String %q does not round-trip: %v", addr.String(), err)
	}
	if Version() == "" {
		t.Fatal("no version")
	}
}

func TestSeedGivesTheSameKey(t *testing.T) {
	seed := bytes.Repeat([]byte{3}, 32)
	first, err := NewNode(seed)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := NewNode(seed)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if first.PublicKey() != second.PublicKey() {
		t.Fatal("one seed, two keys")
	}
	if _, err := NewNode([]byte{1, 2}); err == nil {
		t.Fatal("a short seed was accepted")
	}
}

func TestDatagramsBothWays(t *testing.T) {
	a, b := peeredPair(t)
	deliver(t, a, b, []byte("hello b"))
	deliver(t, b, a, []byte("hello a"))
}

func TestShortBufferTruncates(t *testing.T) {
	a, b := peeredPair(t)
	if _, err := a.WriteTo([]byte("0123456789"), b.PublicKey()); err != nil {
		t.Fatal(err)
	}
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	small := make([]byte, 4)
	n, _, err := b.ReadFrom(small)
	if err != nil || n != 4 || string(small) != "0123" {
		t.Fatalf("read %d %q %v", n, small, err)
	}
}

func TestReadDeadline(t *testing.T) {
	node := newNode(t)
	node.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	started := time.Now()
	_, _, err := node.ReadFrom(make([]byte, 16))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Fatalf("%v is not a timeout", err)
	}
	if elapsed := time.Since(started); elapsed < 150*time.Millisecond || elapsed > 2*time.Second {
		t.Fatalf("gave up after %v", elapsed)
	}
	// A deadline moved into the past wakes a reader already waiting.
	node.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, _, err := node.ReadFrom(make([]byte, 16))
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	node.SetReadDeadline(time.Now())
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("got %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the reader never woke")
	}
}

func TestCloseUnblocksReader(t *testing.T) {
	node, err := NewNode(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := node.ReadFrom(make([]byte, 16))
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	node.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("got %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock ReadFrom")
	}
	if _, err := node.WriteTo([]byte("x"), node.PublicKey()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v", err)
	}
	if err := node.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestTenThousandDatagramsWithoutLoss(t *testing.T) {
	const total = 10000
	// At most this many datagrams are unread at once, well under the
	// receiving node's delivery queue.
	const window = 256
	a, b := peeredPair(t)
	received := make(chan uint32, total)
	readErr := make(chan error, 1)
	go func() {
		buf := make([]byte, 64)
		b.SetReadDeadline(time.Now().Add(60 * time.Second))
		for i := 0; i < total; i++ {
			n, _, err := b.ReadFrom(buf)
			if err != nil {
				readErr <- err
				return
			}
			if n != 8 || binary.BigEndian.Uint32(buf[4:]) != ^binary.BigEndian.Uint32(buf[:4]) {
				readErr <- errors.New("a damaged datagram")
				return
			}
			received <- binary.BigEndian.Uint32(buf[:4])
		}
		readErr <- nil
	}()
	seen := make([]bool, total)
	count := 0
	record := func(seq uint32) {
		if seq >= total || seen[seq] {
			t.Fatalf("datagram %d unexpected or twice", seq)
		}
		seen[seq] = true
		count++
	}
	payload := make([]byte, 8)
	for sent := 0; sent < total; sent++ {
		for sent-count >= window {
			select {
			case seq := <-received:
				record(seq)
			case err := <-readErr:
				t.Fatalf("reader stopped after %d: %v", count, err)
			}
		}
		binary.BigEndian.PutUint32(payload, uint32(sent))
		binary.BigEndian.PutUint32(payload[4:], ^uint32(sent))
		if _, err := a.WriteTo(payload, b.PublicKey()); err != nil {
			t.Fatalf("datagram %d: %v", sent, err)
		}
	}
	for count < total {
		select {
		case seq := <-received:
			record(seq)
		case err := <-readErr:
			if err != nil {
				t.Fatalf("received %d of %d: %v", count, total, err)
			}
			// The reader read them all: the rest are waiting in received.
			readErr = nil
		}
	}
}
