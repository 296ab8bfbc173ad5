package sessions

import (
	"fmt"
	"net"
	"os"
	"time"

	pinecone "pinecone.local/capi"
)

// Stream is one bidirectional stream of a session, a net.Conn whose
// addresses are the two nodes' keys. Deadlines work as on any net.Conn
// (the runtime's poller waits on the stream's socket). CloseWrite
// finishes the sending side; Close flushes what was written, finishes the
// stream and tells the other node to stop sending.
type Stream struct {
	conn          *net.UnixConn
	local, remote pinecone.PublicKey
}

var _ net.Conn = (*Stream)(nil)

// newStream takes over file, a stream's socket from the library.
func newStream(file *os.File, local, remote pinecone.PublicKey) (*Stream, error) {
	defer file.Close() // FileConn holds a duplicate
	conn, err := net.FileConn(file)
	if err != nil {
		return nil, err
	}
	unix, ok := conn.(*net.UnixConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("sessions: the library gave a %T, not a Unix socket", conn)
	}
	return &Stream{conn: unix, local: local, remote: remote}, nil
}

// Read reads stream bytes; io.EOF once the other node finished sending.
func (s *Stream) Read(b []byte) (int, error) { return s.conn.Read(b) }

// Write writes stream bytes.
func (s *Stream) Write(b []byte) (int, error) { return s.conn.Write(b) }

// CloseWrite finishes the sending side; reading goes on.
func (s *Stream) CloseWrite() error { return s.conn.CloseWrite() }

// Close ends the stream: what was written is still delivered.
func (s *Stream) Close() error { return s.conn.Close() }

// LocalAddr is this node's key.
func (s *Stream) LocalAddr() net.Addr { return s.local }

// RemoteAddr is the other node's key, proved by its certificate.
func (s *Stream) RemoteAddr() net.Addr { return s.remote }

// SetDeadline sets the read and write deadlines.
func (s *Stream) SetDeadline(t time.Time) error { return s.conn.SetDeadline(t) }

// SetReadDeadline sets when pending and later reads give up.
func (s *Stream) SetReadDeadline(t time.Time) error { return s.conn.SetReadDeadline(t) }

// SetWriteDeadline sets when pending and later writes give up.
func (s *Stream) SetWriteDeadline(t time.Time) error { return s.conn.SetWriteDeadline(t) }
