// Package quicsessions runs end-to-end encrypted sessions between Pinecone
// nodes with quic-go 0.29 over any net.PacketConn whose addresses are node
// keys (this project's capi Node, or the reference's router). It follows
// the rules of the reference's sessions package, so that a node using it
// and a node using the reference's package, or this project's Rust
// sessions, talk to each other:
//
//   - each node presents a self-signed ed25519 certificate over its own
//     key (common name and DNS name the key in hex), on both sides;
//   - a dialler takes the server only if it presents exactly one ed25519
//     certificate whose key is the dialled key, sends no server name and
//     offers the protocol name as its only ALPN;
//   - a server requires a client certificate and keeps a connection only
//     if that certificate's key is the key its datagrams come from;
//   - one QUIC connection per (protocol, remote key), reused for every
//     stream either side opens; a stream is one bidirectional QUIC stream
//     with no preamble;
//   - idle timeout 15 s, path-MTU discovery off (quic-go 0.29 then sends
//     datagrams of at most 1,200 bytes, under the reference's 1,452).
//
// It is a test program's library, kept outside capi/go because it needs
// quic-go (Debian's golang-github-lucas-clemente-quic-go-dev, GOPATH mode).
package quicsessions

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"net"
	"time"

	quic "github.com/lucas-clemente/quic-go"
)

// idleTimeout closes a connection with no traffic, as the reference does.
const idleTimeout = 15 * time.Second

// Application error codes this package closes connections with. The
// reference closes every connection with code 0; the reason text is what
// tells them apart.
const (
	codeReplaced quic.ApplicationErrorCode = 0
	codeRefused  quic.ApplicationErrorCode = 1
)

// reasonReplaced is the reason a duplicate connection is closed with, as
// the reference words it.
const reasonReplaced = "connection replaced"

// Config says what the sessions run over.
type Config struct {
	// Conn carries the QUIC datagrams; its addresses are node keys whose
	// String is the key in hex.
	Conn net.PacketConn
	// Key is this node's private key; it signs the node's certificate.
	Key ed25519.PrivateKey
	// Addr turns a node key into the net.Addr Conn's WriteTo takes.
	Addr func(ed25519.PublicKey) net.Addr
	// Protocols are the protocol names (ALPN) served and dialled.
	Protocols []string
	// Log, when set, gets a line for every connection refused or
	// replaced.
	Log *log.Logger
}

// Sessions is one node's QUIC endpoint: a listener for every protocol in
// its Config, and the dialler of each.
type Sessions struct {
	cfg       Config
	public    ed25519.PublicKey
	cert      tls.Certificate
	quic      *quic.Config
	listener  quic.Listener
	protocols map[string]*Protocol
	ctx       context.Context
	cancel    context.CancelFunc
}

// New starts listening for sessions of every protocol in cfg on cfg.Conn.
func New(cfg Config) (*Sessions, error) {
	if cfg.Conn == nil || cfg.Addr == nil || len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("quicsessions: Conn, Addr and an ed25519 Key are required")
	}
	cert, err := nodeCertificate(cfg.Key)
	if err != nil {
		return nil, err
	}
	s := &Sessions{
		cfg:       cfg,
		public:    cfg.Key.Public().(ed25519.PublicKey),
		cert:      cert,
		quic:      &quic.Config{MaxIdleTimeout: idleTimeout, DisablePathMTUDiscovery: true},
		protocols: make(map[string]*Protocol, len(cfg.Protocols)),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, name := range cfg.Protocols {
		s.protocols[name] = newProtocol(s, name)
	}
	s.listener, err = quic.Listen(cfg.Conn, serverTLS(cert, cfg.Protocols), s.quic)
	if err != nil {
		s.cancel()
		return nil, fmt.Errorf("quicsessions: listen: %w", err)
	}
	go s.acceptConnections()
	return s, nil
}

// Protocol is the protocol of that name, nil when New was not given it.
func (s *Sessions) Protocol(name string) *Protocol { return s.protocols[name] }

// Close stops listening and closes every session. Conn stays open.
func (s *Sessions) Close() error {
	s.cancel()
	err := s.listener.Close()
	for _, p := range s.protocols {
		p.shutdown()
	}
	return err
}

// acceptConnections admits every connection that completes its handshake.
func (s *Sessions) acceptConnections() {
	for {
		conn, err := s.listener.Accept(s.ctx)
		if err != nil {
			return
		}
		s.admit(conn)
	}
}

// admit keeps conn when its client certificate is for the key its
// datagrams come from and it speaks one of our protocols.
func (s *Sessions) admit(conn quic.Connection) {
	source, err := keyOf(conn.RemoteAddr())
	if err != nil {
		s.refuse(conn, err.Error())
		return
	}
	state := conn.ConnectionState().TLS
	if len(state.PeerCertificates) != 1 {
		s.refuse(conn, "want exactly one client certificate")
		return
	}
	certKey, ok := state.PeerCertificates[0].PublicKey.(ed25519.PublicKey)
	if !ok || !certKey.Equal(source) {
		s.refuse(conn, "client certificate is not for the source key "+hex.EncodeToString(source))
		return
	}
	p := s.protocols[state.NegotiatedProtocol]
	if p == nil {
		s.refuse(conn, "no such protocol")
		return
	}
	p.adopt(source, conn)
}

// refuse closes a connection that broke the rules, saying why.
func (s *Sessions) refuse(conn quic.Connection, reason string) {
	s.logf("refused a connection from %v: %s", conn.RemoteAddr(), reason)
	_ = conn.CloseWithError(codeRefused, reason)
}

func (s *Sessions) logf(format string, args ...any) {
	if s.cfg.Log != nil {
		s.cfg.Log.Printf(format, args...)
	}
}

// keyOf reads the node key out of an address of the PacketConn.
func keyOf(addr net.Addr) (ed25519.PublicKey, error) {
	if addr == nil {
		return nil, errors.New("quicsessions: no address")
	}
	raw, err := hex.DecodeString(addr.String())
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("quicsessions: address %q is not a node key", addr.String())
	}
	return ed25519.PublicKey(raw), nil
}
