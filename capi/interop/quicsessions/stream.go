package quicsessions

import (
	"net"

	quic "github.com/lucas-clemente/quic-go"
)

// Stream is one bidirectional QUIC stream as a net.Conn whose addresses
// are node keys.
type Stream struct {
	quic.Stream
	local, remote net.Addr
}

func newStream(s quic.Stream, local, remote net.Addr) *Stream {
	return &Stream{Stream: s, local: local, remote: remote}
}

// LocalAddr is this node's key.
func (s *Stream) LocalAddr() net.Addr { return s.local }

// RemoteAddr is the remote node's key, as its certificate proved.
func (s *Stream) RemoteAddr() net.Addr { return s.remote }

// CloseWrite finishes the sending side; what was written is still
// delivered.
func (s *Stream) CloseWrite() error { return s.Stream.Close() }

// Close finishes the sending side (what was written is still delivered)
// and tells the remote to stop sending.
func (s *Stream) Close() error {
	s.Stream.CancelRead(0)
	return s.Stream.Close()
}

// Abort resets both directions, discarding what was not delivered.
func (s *Stream) Abort() {
	s.Stream.CancelRead(0)
	s.Stream.CancelWrite(0)
}
