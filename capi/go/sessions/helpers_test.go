package sessions

import (
	"context"
	"net"
	"testing"
	"time"

	pinecone "pinecone.local/capi"
)

// convergence bounds how long two peered nodes may take to reach each
// other (generous: the test machines are shared and loaded).
const convergence = 30 * time.Second

// startNode starts a node that Cleanup closes.
func startNode(t *testing.T) *pinecone.Node {
	t.Helper()
	node, err := pinecone.NewNode(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	return node
}

// pair starts two nodes, b peered with a over loopback TCP, each with
// sessions of protocols.
func pair(t *testing.T, protocols ...string) (a, b *Sessions) {
	t.Helper()
	na, nb := startNode(t), startNode(t)
	address, err := na.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := nb.Connect("tcp://" + address); err != nil {
		t.Fatal(err)
	}
	return open(t, na, protocols), open(t, nb, protocols)
}

func open(t *testing.T, node *pinecone.Node, protocols []string) *Sessions {
	t.Helper()
	s, err := New(node, protocols)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// dialUntil dials to's key until a stream opens (the overlay needs a
// moment to find the path).
func dialUntil(t *testing.T, p *Protocol, to *Sessions) net.Conn {
	t.Helper()
	stop := time.Now().Add(convergence)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := p.DialContext(ctx, "ed25519", to.node.PublicKey().String())
		cancel()
		if err == nil {
			return conn
		}
		if time.Now().After(stop) {
			t.Fatalf("no stream to %v: %v", to.node.PublicKey(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// acceptOne accepts a stream in the background.
func acceptOne(p *Protocol) <-chan net.Conn {
	got := make(chan net.Conn, 1)
	go func() {
		conn, err := p.Accept()
		if err != nil {
			close(got)
			return
		}
		got <- conn
	}()
	return got
}

// within waits for a value from ch, failing the test after d.
func within[T any](t *testing.T, d time.Duration, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}
