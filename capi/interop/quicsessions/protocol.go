package quicsessions

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	quic "github.com/lucas-clemente/quic-go"
)

// Protocol is one protocol's sessions: a net.Listener for the streams
// other nodes open, and a dialler of streams to them.
type Protocol struct {
	s       *Sessions
	name    string
	streams chan net.Conn
	closed  chan struct{}
	once    sync.Once

	mu    sync.Mutex
	table map[string]*session // by remote key (raw bytes as a string)

	httpOnce sync.Once
	http     *HTTP
}

// session is the connection to one remote key, or a dial in progress.
type session struct {
	conn        quic.Connection // nil while dialling
	dialled     bool            // this node dialled it
	settled     chan struct{}   // closed once the dial has ended either way
	established time.Time       // when conn was set
}

func newProtocol(s *Sessions, name string) *Protocol {
	return &Protocol{
		s:       s,
		name:    name,
		streams: make(chan net.Conn),
		closed:  make(chan struct{}),
		table:   make(map[string]*session),
	}
}

// Accept waits for the next stream another node opens.
func (p *Protocol) Accept() (net.Conn, error) {
	select {
	case stream := <-p.streams:
		return stream, nil
	case <-p.closed:
		return nil, net.ErrClosed
	}
}

// Addr is this node's address on the PacketConn.
func (p *Protocol) Addr() net.Addr { return p.s.cfg.Addr(p.s.public) }

// Close stops Accept; later streams opened by other nodes are refused.
// Sessions already open stay open for streams this node dials.
func (p *Protocol) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

// shutdown closes the protocol and every one of its connections.
func (p *Protocol) shutdown() {
	p.Close()
	p.mu.Lock()
	var conns []quic.Connection
	for _, e := range p.table {
		if e.conn != nil {
			conns = append(conns, e.conn)
		}
	}
	p.table = make(map[string]*session)
	p.mu.Unlock()
	for _, conn := range conns {
		_ = conn.CloseWithError(0, "sessions closed")
	}
}

// Sessions lists the keys this protocol has a connection with.
func (p *Protocol) Sessions() []ed25519.PublicKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	keys := make([]ed25519.PublicKey, 0, len(p.table))
	for k, e := range p.table {
		if e.conn != nil {
			keys = append(keys, ed25519.PublicKey(k))
		}
	}
	return keys
}

// simultaneous is how long after this node's own dial is established an
// incoming connection from the same key counts as dialled at the same
// moment (the same window as the node's own sessions).
const simultaneous = 2 * time.Second

// adopt takes an admitted incoming connection from remote. When there is
// already one for that key:
//   - this node's own dial to it, still handshaking or established less
//     than `simultaneous` ago: both dialled at once, and each may already
//     have opened streams on its own. Both stay open (they close when
//     idle), and the one dialled by the larger key is listed for new
//     streams, as by the node's own sessions;
//   - otherwise the newcomer is a duplicate: it is closed as "connection
//     replaced", as by the reference, and the old one leaves the table
//     (its open streams go on), so the dialler's one retry is taken, as
//     it is by the reference.
func (p *Protocol) adopt(remote ed25519.PublicKey, conn quic.Connection) {
	k := string(remote)
	p.mu.Lock()
	e := p.table[k]
	switch {
	case e == nil:
		p.table[k] = establishedSession(conn, false)
	case !e.dialled || (e.conn != nil && time.Since(e.established) >= simultaneous):
		delete(p.table, k)
		p.mu.Unlock()
		p.s.logf("%s: a second connection from %x: %s", p.name, []byte(remote), reasonReplaced)
		_ = conn.CloseWithError(codeReplaced, reasonReplaced)
		return
	case bytes.Compare(remote, p.s.public) > 0:
		p.table[k] = establishedSession(conn, false)
	}
	p.mu.Unlock()
	go p.serve(remote, conn)
}

func establishedSession(conn quic.Connection, dialled bool) *session {
	settled := make(chan struct{})
	close(settled)
	return &session{conn: conn, dialled: dialled, settled: settled, established: time.Now()}
}

// serve hands the streams the remote opens on conn to Accept until conn
// ends, then forgets conn.
func (p *Protocol) serve(remote ed25519.PublicKey, conn quic.Connection) {
	defer p.forget(remote, conn)
	ctx := conn.Context()
	for {
		stream, err := conn.AcceptStream(ctx)
		if err != nil {
			return
		}
		wrapped := newStream(stream, p.Addr(), p.s.cfg.Addr(remote))
		select {
		case p.streams <- wrapped:
		case <-p.closed:
			wrapped.Abort()
		case <-ctx.Done():
			wrapped.Abort()
			return
		}
	}
}

// forget removes conn from the table if it is still the one there.
func (p *Protocol) forget(remote ed25519.PublicKey, conn quic.Connection) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.table[string(remote)]; e != nil && e.conn == conn {
		delete(p.table, string(remote))
	}
}

// Dial opens a stream to addr, a node key in hex optionally followed by
// ":port" (the port is ignored). network is ignored.
func (p *Protocol) Dial(network, addr string) (net.Conn, error) {
	return p.DialContext(context.Background(), network, addr)
}

// DialTLS is Dial: every session is encrypted.
func (p *Protocol) DialTLS(network, addr string) (net.Conn, error) {
	return p.DialContext(context.Background(), network, addr)
}

// DialTLSContext is DialContext: every session is encrypted.
func (p *Protocol) DialTLSContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return p.DialContext(ctx, network, addr)
}

// DialContext opens a stream to addr over the session with that key,
// connecting first when there is none. When the session turns out to be
// closed (the remote replaced it) it connects again, once.
func (p *Protocol) DialContext(ctx context.Context, _, addr string) (net.Conn, error) {
	remote, err := parseKey(addr)
	if err != nil {
		return nil, err
	}
	if remote.Equal(p.s.public) {
		return nil, errors.New("quicsessions: dialling this node's own key")
	}
	for attempt := 0; ; attempt++ {
		conn, err := p.connection(ctx, remote)
		retry := false
		if err == nil {
			var stream quic.Stream
			stream, err = conn.OpenStreamSync(ctx)
			if err == nil {
				return newStream(stream, p.Addr(), p.s.cfg.Addr(remote)), nil
			}
			p.forget(remote, conn)
			retry = true
		} else {
			var closed *quic.ApplicationError
			retry = errors.As(err, &closed)
		}
		if attempt > 0 || !retry || ctx.Err() != nil {
			return nil, fmt.Errorf("quicsessions: dial %x: %w", []byte(remote), err)
		}
	}
}

// connection is the connection to remote, dialled now when there is none
// (one dial per key at a time; others wait for it).
func (p *Protocol) connection(ctx context.Context, remote ed25519.PublicKey) (quic.Connection, error) {
	k := string(remote)
	for {
		select {
		case <-p.s.ctx.Done():
			return nil, net.ErrClosed
		default:
		}
		p.mu.Lock()
		e := p.table[k]
		if e != nil && e.conn != nil {
			p.mu.Unlock()
			return e.conn, nil
		}
		if e != nil {
			p.mu.Unlock()
			select {
			case <-e.settled:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		e = &session{dialled: true, settled: make(chan struct{})}
		p.table[k] = e
		p.mu.Unlock()

		conn, err := quic.DialContext(ctx, p.s.cfg.Conn, p.s.cfg.Addr(remote), "",
			clientTLS(p.s.cert, p.name, remote), p.s.quic)

		p.mu.Lock()
		mine := p.table[k] == e
		if mine && err == nil {
			e.conn, e.established = conn, time.Now()
		} else if mine {
			delete(p.table, k)
		}
		close(e.settled)
		p.mu.Unlock()
		if err != nil {
			return nil, err
		}
		go p.serve(remote, conn)
		if !mine {
			// Both dialled at once and the remote's dial is listed (see
			// adopt): this one stays open, unlisted, until idle.
			continue
		}
		return conn, nil
	}
}

// parseKey reads "hexkey" or "hexkey:port".
func parseKey(addr string) (ed25519.PublicKey, error) {
	host := addr
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		host = addr[:i]
	}
	raw, err := hex.DecodeString(host)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("quicsessions: %q is not a node key (64 hex digits, optionally :port)", addr)
	}
	return ed25519.PublicKey(raw), nil
}
