package sessions

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// serveWhoami answers "<server key> <client key>" on /whoami.
func serveWhoami(s *Sessions, proto string) {
	s.Protocol(proto).HTTP().Mux().HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", s.node.PublicKey(), r.RemoteAddr)
	})
}

// fetchWhoami fetches /whoami from to until it answers.
func fetchWhoami(t *testing.T, from, to *Sessions, proto string) string {
	t.Helper()
	client := from.Protocol(proto).HTTP().Client()
	stop := time.Now().Add(convergence)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+to.node.PublicKey().String()+"/whoami", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err == nil {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %s", resp.Status)
			}
			return string(body)
		}
		cancel()
		if time.Now().After(stop) {
			t.Fatalf("no answer from %v: %v", to.node.PublicKey(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestHTTPBothWays(t *testing.T) {
	a, b := pair(t, "matrix")
	serveWhoami(a, "matrix")
	serveWhoami(b, "matrix")
	ka, kb := a.node.PublicKey().String(), b.node.PublicKey().String()

	if got, want := fetchWhoami(t, a, b, "matrix"), kb+" "+ka; got != want {
		t.Fatalf("a fetched %q from b, want %q", got, want)
	}
	if got, want := fetchWhoami(t, b, a, "matrix"), ka+" "+kb; got != want {
		t.Fatalf("b fetched %q from a, want %q", got, want)
	}
	// Many requests at once, each its own stream over the one session.
	errs := make(chan error, 20)
	for i := 0; i < cap(errs); i++ {
		go func() {
			resp, err := a.Protocol("matrix").HTTP().Client().Get("http://" + kb + ":8008/whoami")
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != kb+" "+ka {
					err = fmt.Errorf("answer %q", body)
				}
			}
			errs <- err
		}()
	}
	for i := 0; i < cap(errs); i++ {
		if err := within(t, convergence, "a request", errs); err != nil {
			t.Fatal(err)
		}
	}
	kbRaw := b.node.PublicKey()
	if keys := a.Protocol("matrix").Sessions(); len(keys) != 1 || string(keys[0]) != string(kbRaw[:]) {
		t.Fatalf("a's sessions %x, want only b's key", keys)
	}
}

func TestTheReferencesSpellings(t *testing.T) {
	node := startNode(t)
	s := NewSessions(nil, node, []string{"matrix"})
	defer s.Close()
	var p *SessionProtocol = s.Protocol("matrix")
	if p == nil || p.Addr() != node.PublicKey() {
		t.Fatalf("protocol %v, addr want %v", p, node.PublicKey())
	}
	if s.Protocol("other") != nil {
		t.Fatal("a protocol New was not given")
	}
}
