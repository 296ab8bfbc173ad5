package quicsessions

import (
	"crypto/ed25519"
	"encoding/hex"
	"net"
	"os"
	"sync"
	"time"
)

// memAddr is a node key as an address of memNet.
type memAddr string // raw key bytes

func (a memAddr) Network() string { return "ed25519" }
func (a memAddr) String() string  { return hex.EncodeToString([]byte(a)) }

func addrOf(k ed25519.PublicKey) net.Addr { return memAddr(k) }

// memNet delivers datagrams between memConns by key, in memory.
type memNet struct {
	mu    sync.Mutex
	conns map[memAddr]*memConn
}

type memPacket struct {
	data []byte
	from memAddr
}

// memConn is a net.PacketConn on memNet at one key.
type memConn struct {
	net    *memNet
	addr   memAddr
	in     chan memPacket
	closed chan struct{}
	once   sync.Once

	mu       sync.Mutex
	deadline time.Time
}

func (n *memNet) attach(key ed25519.PublicKey) *memConn {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conns == nil {
		n.conns = make(map[memAddr]*memConn)
	}
	c := &memConn{net: n, addr: memAddr(key), in: make(chan memPacket, 1024), closed: make(chan struct{})}
	n.conns[c.addr] = c
	return c
}

func (c *memConn) ReadFrom(p []byte) (int, net.Addr, error) {
	c.mu.Lock()
	deadline := c.deadline
	c.mu.Unlock()
	var expired <-chan time.Time
	if !deadline.IsZero() {
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case packet := <-c.in:
		return copy(p, packet.data), packet.from, nil
	case <-c.closed:
		return 0, nil, net.ErrClosed
	case <-expired:
		return 0, nil, os.ErrDeadlineExceeded
	}
}

func (c *memConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	c.net.mu.Lock()
	to := c.net.conns[addr.(memAddr)]
	c.net.mu.Unlock()
	if to != nil {
		select {
		case to.in <- memPacket{data: append([]byte(nil), p...), from: c.addr}:
		default: // a full queue drops, as a network does
		}
	}
	return len(p), nil
}

func (c *memConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *memConn) LocalAddr() net.Addr { return c.addr }

func (c *memConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

func (c *memConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	return nil
}

func (c *memConn) SetWriteDeadline(time.Time) error { return nil }
