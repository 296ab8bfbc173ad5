package sessions

import (
	"crypto/ed25519"
	"net"
	"sync"

	pinecone "pinecone.local/capi"
)

// Protocol is one protocol's sessions: a net.Listener of the streams other
// nodes open (any number of goroutines may call Accept at once) and a
// dialler of streams to other nodes.
type Protocol struct {
	s    *Sessions
	name string

	// accepted carries streams from the accept loop to Accept.
	accepted chan *Stream
	// closed is closed by Close; loopDone when the accept loop has ended,
	// after which loopErr says why.
	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
	loopDone  chan struct{}
	loopErr   error

	httpOnce sync.Once
	http     *HTTP
}

// SessionProtocol is the reference's name for Protocol.
type SessionProtocol = Protocol

var _ net.Listener = (*Protocol)(nil)

func newProtocol(s *Sessions, name string) *Protocol {
	p := &Protocol{
		s:        s,
		name:     name,
		accepted: make(chan *Stream),
		closed:   make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	go p.acceptLoop()
	return p
}

// acceptLoop waits in the library for the next stream, without a timeout
// (Close wakes it by no longer listening), and hands each to Accept.
func (p *Protocol) acceptLoop() {
	defer close(p.loopDone)
	local := p.s.node.PublicKey()
	for {
		file, remote, err := p.s.node.AcceptSession(p.name, -1)
		if err != nil {
			select {
			case <-p.closed:
				p.loopErr = net.ErrClosed
			default:
				p.loopErr = err
				p.s.logf("sessions: %s: no longer accepting: %v", p.name, err)
			}
			return
		}
		stream, err := newStream(file, local, remote)
		if err != nil {
			p.s.logf("sessions: %s: a stream from %s: %v", p.name, remote, err)
			continue
		}
		select {
		case p.accepted <- stream:
		case <-p.closed:
			stream.Close()
			p.loopErr = net.ErrClosed
			return
		}
	}
}

// Accept waits for the next stream another node opens on this protocol.
// Its RemoteAddr is the other node's pinecone.PublicKey, proved by its
// certificate. After Close it returns net.ErrClosed.
func (p *Protocol) Accept() (net.Conn, error) {
	select {
	case stream := <-p.accepted:
		return stream, nil
	case <-p.closed:
		return nil, p.opError("accept", net.ErrClosed)
	case <-p.loopDone:
		return nil, p.opError("accept", p.loopErr)
	}
}

// Close stops accepting: waiting and later Accept calls return
// net.ErrClosed, and streams other nodes open on this protocol are
// refused. Sessions already open stay open for Dial until Sessions.Close.
func (p *Protocol) Close() error {
	p.closeOnce.Do(func() {
		close(p.closed)
		p.closeErr = p.s.node.UnlistenSessions(p.name)
		<-p.loopDone
	})
	return p.closeErr
}

// Addr is this node's pinecone.PublicKey.
func (p *Protocol) Addr() net.Addr { return p.s.node.PublicKey() }

// Sessions lists the keys this protocol has a session with now.
func (p *Protocol) Sessions() []ed25519.PublicKey {
	open, err := p.s.open()
	if err != nil {
		return nil
	}
	var keys []ed25519.PublicKey
	for _, session := range open {
		if session.Protocol == p.name {
			key := session.Remote
			keys = append(keys, ed25519.PublicKey(key[:]))
		}
	}
	return keys
}

func (p *Protocol) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: pinecone.PublicKey{}.Network(), Addr: p.Addr(), Err: err}
}
