// Package sessions gives a Go program end-to-end encrypted streams between
// Pinecone nodes, shaped like the reference implementation's sessions
// package so that a program such as Dendrite changes its imports and
// little else. The sessions themselves (QUIC with TLS 1.3, certificates
// made from the node keys, wire-compatible with the reference's) run
// inside the node, through the library's C ABI: no datagram crosses into
// Go.
//
//	node, _ := pinecone.NewNode(seed)
//	s, err := sessions.New(node, []string{"matrix"})
//	proto := s.Protocol("matrix")
//	// proto is a net.Listener of the streams other nodes open...
//	go http.Serve(proto, handler)
//	// ...and a dialler of streams to them, addressed by hex key.
//	conn, err := proto.Dial("ed25519", hexKey)
//	// Or HTTP both ways: a server on proto, a client for http://<hex key>/….
//	h := proto.HTTP()
//	h.Mux().Handle("/", handler)
//	resp, err := h.Client().Get("http://" + hexKey + "/path")
//
// A stream reaches the other node with its first byte: there is no
// preamble, so in a protocol where the server speaks first the client must
// still write first.
package sessions

import (
	"errors"
	"fmt"

	pinecone "pinecone.local/capi"
)

// Logger is what NewSessions logs to; *log.Logger is one.
type Logger interface {
	Printf(format string, v ...any)
	Println(v ...any)
}

// Sessions is a node's sessions for a set of protocols.
type Sessions struct {
	node      *pinecone.Node
	log       Logger
	protocols map[string]*Protocol
	dials     dialCancels
}

// New listens for sessions of each protocol (its ALPN name) on node.
func New(node *pinecone.Node, protocols []string) (*Sessions, error) {
	if node == nil {
		return nil, errors.New("sessions: no node")
	}
	s := &Sessions{node: node, protocols: make(map[string]*Protocol, len(protocols))}
	for _, name := range protocols {
		if _, dup := s.protocols[name]; dup {
			continue
		}
		if err := node.ListenSessions(name); err != nil {
			s.Close()
			return nil, fmt.Errorf("sessions: protocol %q: %w", name, err)
		}
		s.protocols[name] = newProtocol(s, name)
	}
	return s, nil
}

// NewSessions is New with the reference's signature: log gets a line when
// a protocol stops accepting on an error, and a failure to listen panics,
// as in the reference.
func NewSessions(log Logger, node *pinecone.Node, protocols []string) *Sessions {
	s, err := New(node, protocols)
	if err != nil {
		panic(err)
	}
	s.log = log
	return s
}

// Protocol is the protocol of that name, nil when it was not given to
// New.
func (s *Sessions) Protocol(name string) *Protocol { return s.protocols[name] }

// Close closes every protocol (their Accept calls return net.ErrClosed)
// and every session they have open. The node stays up.
func (s *Sessions) Close() error {
	var first error
	for _, p := range s.protocols {
		if err := p.Close(); err != nil && first == nil {
			first = err
		}
	}
	open, err := s.open()
	if err != nil {
		return first
	}
	closed := make(map[pinecone.PublicKey]bool)
	for _, session := range open {
		if s.protocols[session.Protocol] != nil && !closed[session.Remote] {
			closed[session.Remote] = true
			_, _ = s.node.CloseSessions(session.Remote)
		}
	}
	return first
}

func (s *Sessions) logf(format string, v ...any) {
	if s.log != nil {
		s.log.Printf(format, v...)
	}
}
