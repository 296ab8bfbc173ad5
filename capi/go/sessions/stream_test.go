package sessions

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	pinecone "pinecone.local/capi"
)

func TestStreamCarriesBytesBothWaysWithKeysAsAddresses(t *testing.T) {
	a, b := pair(t, "echo")
	accepted := acceptOne(b.Protocol("echo"))
	conn := dialUntil(t, a.Protocol("echo"), b)
	defer conn.Close()
	// A stream reaches the other side with its first byte.
	payload := make([]byte, 1<<20)
	rand.Read(payload)
	go conn.Write(payload)
	remote := within(t, convergence, "the accepted stream", accepted)
	if remote == nil {
		t.Fatal("accept failed")
	}
	defer remote.Close()
	if remote.RemoteAddr() != a.node.PublicKey() || remote.LocalAddr() != b.node.PublicKey() {
		t.Fatalf("accepted stream %v -> %v, want %v -> %v", remote.RemoteAddr(), remote.LocalAddr(), a.node.PublicKey(), b.node.PublicKey())
	}
	if conn.RemoteAddr() != b.node.PublicKey() || conn.LocalAddr() != a.node.PublicKey() {
		t.Fatalf("dialled stream %v -> %v", conn.LocalAddr(), conn.RemoteAddr())
	}
	got := make([]byte, len(payload))
	if _, err := io.ReadFull(remote, got); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("1 MiB did not arrive intact: %v", err)
	}
	if _, err := remote.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	back := make([]byte, 4)
	if _, err := io.ReadFull(conn, back); err != nil || string(back) != "back" {
		t.Fatalf("got %q, %v", back, err)
	}
}

func TestCloseWriteAndCloseDeliverWhatWasWritten(t *testing.T) {
	a, b := pair(t, "p")
	accepted := acceptOne(b.Protocol("p"))
	conn := dialUntil(t, a.Protocol("p"), b)
	payload := bytes.Repeat([]byte("x"), 300_000)
	if _, err := conn.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := conn.(*Stream).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	remote := within(t, convergence, "the accepted stream", accepted)
	// Everything, then the end of the stream.
	got, err := io.ReadAll(remote)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("read %d bytes (%v), want %d then EOF", len(got), err, len(payload))
	}
	// The other direction is still open after CloseWrite...
	if _, err := remote.Write([]byte("reply")); err != nil {
		t.Fatal(err)
	}
	// ...and Close flushes it.
	if err := remote.Close(); err != nil {
		t.Fatal(err)
	}
	reply, err := io.ReadAll(conn)
	if err != nil || string(reply) != "reply" {
		t.Fatalf("got %q, %v; want the reply then EOF", reply, err)
	}
	conn.Close()
}

func TestDeadlines(t *testing.T) {
	a, b := pair(t, "p")
	accepted := acceptOne(b.Protocol("p"))
	conn := dialUntil(t, a.Protocol("p"), b)
	defer conn.Close()
	conn.Write([]byte("hello"))
	remote := within(t, convergence, "the accepted stream", accepted)
	defer remote.Close()

	// A read with nothing to read gives up at its deadline.
	conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	start := time.Now()
	_, err := conn.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	if elapsed := time.Since(start); elapsed < 150*time.Millisecond || elapsed > 5*time.Second {
		t.Fatalf("gave up after %v, want about 200ms", elapsed)
	}

	// A deadline set while a read waits wakes it.
	conn.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := conn.Read(make([]byte, 1))
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if err := within(t, 5*time.Second, "the woken read", done); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}

	// Cleared, reads work again.
	conn.SetReadDeadline(time.Time{})
	remote.Write([]byte("k"))
	if _, err := io.ReadFull(conn, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}

	// Writes give up at their deadline once nobody reads the other end.
	conn.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
	chunk := make([]byte, 64<<10)
	for written := 0; ; written += len(chunk) {
		if _, err := conn.Write(chunk); err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("write failed with %v, want a deadline error", err)
			}
			break
		}
		if written > 1<<30 {
			t.Fatal("wrote 1 GiB to a stream nobody reads")
		}
	}
}

func TestConcurrentAccept(t *testing.T) {
	a, b := pair(t, "p")
	const streams = 8
	listener := b.Protocol("p")
	var wg sync.WaitGroup
	got := make(chan string, streams)
	for i := 0; i < streams; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := listener.Accept()
			if err != nil {
				got <- "error: " + err.Error()
				return
			}
			defer conn.Close()
			if conn.RemoteAddr() != a.node.PublicKey() {
				got <- "wrong key"
				return
			}
			line := make([]byte, 2)
			io.ReadFull(conn, line)
			got <- string(line)
		}()
	}
	first := dialUntil(t, a.Protocol("p"), b)
	first.Write([]byte("s0"))
	defer first.Close()
	for i := 1; i < streams; i++ {
		conn, err := a.Protocol("p").Dial("ed25519", b.node.PublicKey().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.Write([]byte{'s', byte('0' + i)})
	}
	seen := make(map[string]bool)
	for i := 0; i < streams; i++ {
		line := within(t, convergence, "an accepted stream", got)
		if len(line) != 2 || line[0] != 's' || seen[line] {
			t.Fatalf("accept %d got %q (seen %v)", i, line, seen)
		}
		seen[line] = true
	}
	wg.Wait()
}

func TestCloseWakesAcceptAndRefusesLaterStreams(t *testing.T) {
	a, b := pair(t, "p", "q")
	// The session is up, over protocol q.
	accepted := acceptOne(b.Protocol("q"))
	conn := dialUntil(t, a.Protocol("q"), b)
	conn.Write([]byte("x"))
	within(t, convergence, "a stream on q", accepted).Close()
	conn.Close()

	p := b.Protocol("p")
	waiting := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() {
			_, err := p.Accept()
			waiting <- err
		}()
	}
	time.Sleep(100 * time.Millisecond)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := within(t, 5*time.Second, "a woken Accept", waiting); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept returned %v, want net.ErrClosed", err)
		}
	}
	if _, err := p.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close returned %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Nobody listens for p on b any more: a stream a dials there does not
	// become an accepted stream, and q still works.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if refused, err := a.Protocol("p").DialContext(ctx, "ed25519", b.node.PublicKey().String()); err == nil {
		refused.Write([]byte("x"))
		refused.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := refused.Read(make([]byte, 1)); err == nil {
			t.Fatal("a stream to a closed protocol was answered")
		}
		refused.Close()
	}
	accepted = acceptOne(b.Protocol("q"))
	conn = dialUntil(t, a.Protocol("q"), b)
	conn.Write([]byte("y"))
	within(t, convergence, "a stream on q after p closed", accepted).Close()
	conn.Close()

	// Sessions.Close closes q too and ends the sessions.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Protocol("q").Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Sessions.Close returned %v", err)
	}
	stop := time.Now().Add(5 * time.Second)
	for len(b.Protocol("q").Sessions()) != 0 {
		if time.Now().After(stop) {
			t.Fatalf("sessions left after Close: %x", b.Protocol("q").Sessions())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDialGivesUpWithItsContext(t *testing.T) {
	a, _ := pair(t, "p")
	var nobody pinecone.PublicKey
	rand.Read(nobody[:])

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := a.Protocol("p").DialContext(ctx, "ed25519", nobody.String())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("gave up after %v", elapsed)
	}

	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() {
			_, err := a.Protocol("p").DialContext(ctx, "ed25519", nobody.String()+":443")
			done <- err
		}()
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	for i := 0; i < 2; i++ {
		if err := within(t, 5*time.Second, "a cancelled dial", done); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	}
}

func TestDialRefusesBadAddresses(t *testing.T) {
	a, _ := pair(t, "p")
	for _, addr := range []string{"", "nothex", "abcd:80", a.node.PublicKey().String(), a.node.PublicKey().String() + ":80"} {
		if conn, err := a.Protocol("p").Dial("ed25519", addr); err == nil {
			conn.Close()
			t.Fatalf("dialled %q", addr)
		}
	}
}

func TestSessionEventsNameTheOtherNode(t *testing.T) {
	a, b := pair(t, "events")
	events, err := b.node.Events()
	if err != nil {
		t.Fatal(err)
	}
	accepted := acceptOne(b.Protocol("events"))
	conn := dialUntil(t, a.Protocol("events"), b)
	if _, err := conn.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if remote := within(t, convergence, "the accepted stream", accepted); remote == nil {
		t.Fatal("accept failed")
	} else {
		defer remote.Close()
	}
	// b saw the session open, then (after a closes every session to b)
	// close, both naming a's key.
	want := []pinecone.EventKind{pinecone.EventSessionOpened, pinecone.EventSessionClosed}
	deadline := time.After(convergence)
	for len(want) > 0 {
		select {
		case event := <-events:
			if event.Kind != want[0] {
				continue
			}
			if event.Key != a.node.PublicKey() {
				t.Fatalf("event %s names %v, want %v", event.JSON, event.Key, a.node.PublicKey())
			}
			want = want[1:]
			if len(want) == 1 {
				conn.Close()
				a.Close()
			}
		case <-deadline:
			t.Fatalf("still waiting for event kind %d", want[0])
		}
	}
}
