package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	pinecone "pinecone.local/capi"
)

// whoami is the answer of GET /whoami: the serving node's key and the key
// its sessions stack says the request came from.
type whoami struct {
	Server string `json:"server"`
	Client string `json:"client"`
}

// serveWhoami answers GET /whoami on the protocol's HTTP server and
// counts the answers.
func serveWhoami(e endpoint, self pinecone.PublicKey) *answers {
	counter := &answers{moved: make(chan struct{}, 1)}
	mux, _ := e.HTTP()
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if json.NewEncoder(w).Encode(whoami{Server: self.String(), Client: r.RemoteAddr}) == nil {
			counter.add()
		}
	})
	return counter
}

// answers counts the /whoami requests answered.
type answers struct {
	mu    sync.Mutex
	n     int
	moved chan struct{}
}

func (a *answers) add() {
	a.mu.Lock()
	a.n++
	a.mu.Unlock()
	select {
	case a.moved <- struct{}{}:
	default:
	}
}

func (a *answers) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// reach waits until n were answered, at most wait.
func (a *answers) reach(n int, wait time.Duration) bool {
	timeout := time.After(wait)
	for a.count() < n {
		select {
		case <-a.moved:
		case <-timeout:
			return false
		}
	}
	return true
}

// fetchWhoami fetches /whoami from remote until it answers or wait
// passes, and checks that the answer came from remote and that remote saw
// the request come from self.
func fetchWhoami(e endpoint, self pinecone.PublicKey, remote string, wait time.Duration) error {
	_, client := e.HTTP()
	start := time.Now()
	var last error
	for attempt := 1; time.Since(start) < wait; attempt++ {
		got, err := getWhoami(client, remote)
		if err != nil {
			last = err
			time.Sleep(250 * time.Millisecond)
			continue
		}
		if got.Server != remote || got.Client != self.String() {
			return fmt.Errorf("answer %+v: want server %s and client %s", got, remote, self)
		}
		fmt.Printf("fetch %s ok: server=%s client=%s attempts=%d seconds=%.2f\n",
			remote, got.Server, got.Client, attempt, time.Since(start).Seconds())
		return nil
	}
	if last == nil {
		last = errors.New("no attempt")
	}
	return fmt.Errorf("no answer within %v: %w", wait, last)
}

func getWhoami(client *http.Client, remote string) (whoami, error) {
	var got whoami
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+remote+"/whoami", nil)
	if err != nil {
		return got, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return got, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return got, err
	}
	if resp.StatusCode != http.StatusOK {
		return got, fmt.Errorf("status %s", resp.Status)
	}
	return got, json.Unmarshal(body, &got)
}
