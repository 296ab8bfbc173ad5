package quicsessions

import (
	"net/http"
	"time"
)

// HTTP is HTTP/1.1 over a protocol's streams: a server on its listener
// and a client whose requests to http://<hex key>/… open streams to that
// node.
type HTTP struct {
	mux    *http.ServeMux
	client *http.Client
}

// HTTP starts serving the protocol's streams with Mux (once; later calls
// return the same) and returns the server's mux and a client.
func (p *Protocol) HTTP() *HTTP {
	p.httpOnce.Do(func() {
		transport := &http.Transport{
			DisableKeepAlives: true,
			DialContext:       p.DialContext,
			DialTLSContext:    p.DialTLSContext,
		}
		p.http = &HTTP{
			mux:    http.NewServeMux(),
			client: &http.Client{Transport: transport, Timeout: 30 * time.Second},
		}
		server := &http.Server{
			Handler:      p.http.mux,
			ReadTimeout:  10 * time.Second,
			WriteTimeout: 10 * time.Second,
			IdleTimeout:  30 * time.Second,
		}
		go server.Serve(p) //nolint:errcheck // ends when the protocol closes
	})
	return p.http
}

// Mux is the server's request router.
func (h *HTTP) Mux() *http.ServeMux { return h.mux }

// Client sends requests to http://<hex key>/… over sessions.
func (h *HTTP) Client() *http.Client { return h.client }
