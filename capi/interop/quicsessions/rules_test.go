package quicsessions

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"io"
	"net"
	"testing"
	"time"
)

// node starts sessions of protocol "p" whose datagrams come from the key
// at (the network's address) and whose certificate is made with key.
func node(t *testing.T, network *memNet, at ed25519.PublicKey, key ed25519.PrivateKey) *Sessions {
	t.Helper()
	conn := network.attach(at)
	s, err := New(Config{Conn: conn, Key: key, Addr: addrOf, Protocols: []string{"p"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		conn.Close()
	})
	return s
}

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	public, private, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return public, private
}

func dial(s *Sessions, to ed25519.PublicKey) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Protocol("p").DialContext(ctx, "ed25519", hex.EncodeToString(to)+":80")
}

func TestStreamBothWaysOverOneConnection(t *testing.T) {
	var network memNet
	pa, ka := newKey(t)
	pb, kb := newKey(t)
	a, b := node(t, &network, pa, ka), node(t, &network, pb, kb)

	conn, err := dial(a, pb)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("ping"))
	accepted, err := b.Protocol("p").Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer accepted.Close()
	if accepted.RemoteAddr().String() != hex.EncodeToString(pa) {
		t.Fatalf("accepted from %v, want %x", accepted.RemoteAddr(), pa)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(accepted, got); err != nil || string(got) != "ping" {
		t.Fatalf("got %q, %v", got, err)
	}
	// b dials back: the same connection carries it.
	back, err := dial(b, pa)
	if err != nil {
		t.Fatal(err)
	}
	back.Write([]byte("pong"))
	again, err := a.Protocol("p").Accept()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(again, got); err != nil || string(got) != "pong" {
		t.Fatalf("got %q, %v", got, err)
	}
	if n := len(a.Protocol("p").Sessions()) + len(b.Protocol("p").Sessions()); n != 2 {
		t.Fatalf("%d sessions in all, want one on each side", n)
	}
}

func TestClientRefusesAServerWhoseCertificateIsNotTheDialledKey(t *testing.T) {
	var network memNet
	pa, ka := newKey(t)
	pb, _ := newKey(t)
	_, other := newKey(t)
	a := node(t, &network, pa, ka)
	node(t, &network, pb, other) // answers at pb with another key's certificate

	if conn, err := dial(a, pb); err == nil {
		conn.Close()
		t.Fatal("a stream opened to a server with the wrong certificate")
	}
}

func TestServerRefusesAClientWhoseCertificateIsNotTheSource(t *testing.T) {
	var network memNet
	pa, _ := newKey(t)
	pb, kb := newKey(t)
	_, other := newKey(t)
	a := node(t, &network, pa, other) // sends from pa with another key's certificate
	b := node(t, &network, pb, kb)

	accepted := make(chan net.Conn, 1)
	go func() {
		if conn, err := b.Protocol("p").Accept(); err == nil {
			accepted <- conn
		}
	}()
	if conn, err := dial(a, pb); err == nil {
		conn.Write([]byte("x"))
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); err == nil {
			t.Fatal("the refused connection carried data")
		}
		conn.Close()
	}
	select {
	case <-accepted:
		t.Fatal("the server accepted a stream from a client whose certificate is not its source")
	case <-time.After(time.Second):
	}
	if len(b.Protocol("p").Sessions()) != 0 {
		t.Fatal("the server kept the connection")
	}
}
