package sessions

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	pinecone "pinecone.local/capi"
)

// Dial opens a stream to the node whose key is addr: 64 hex digits,
// optionally followed by ":port" (ignored), as in http://<hex key>/ URLs.
// network is ignored (every session runs over the overlay).
func (p *Protocol) Dial(network, addr string) (net.Conn, error) {
	return p.DialContext(context.Background(), network, addr)
}

// DialTLS is Dial: every session is encrypted end to end.
func (p *Protocol) DialTLS(network, addr string) (net.Conn, error) {
	return p.DialContext(context.Background(), network, addr)
}

// DialTLSContext is DialContext: every session is encrypted end to end.
func (p *Protocol) DialTLSContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return p.DialContext(ctx, network, addr)
}

// DialContext opens a stream to the node whose key is addr (see Dial),
// over the session with it, which is set up first when there is none. It
// gives up when ctx is done (cancelled or past its deadline).
func (p *Protocol) DialContext(ctx context.Context, _, addr string) (net.Conn, error) {
	remote, err := parseAddr(addr)
	if err != nil {
		return nil, p.dialError(addr, err)
	}
	if remote == p.s.node.PublicKey() {
		return nil, p.dialError(addr, errors.New("sessions: dialling this node's own key"))
	}
	if err := ctx.Err(); err != nil {
		return nil, p.dialError(addr, err)
	}
	target := dialTarget{remote, p.name}
	watching := make(chan struct{})
	defer close(watching)
	if ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				p.s.dials.cancel(p.s.node, target)
			case <-watching:
			}
		}()
	}
	for {
		timeout := time.Duration(-1)
		if deadline, ok := ctx.Deadline(); ok {
			if timeout = time.Until(deadline); timeout <= 0 {
				return nil, p.dialError(addr, context.DeadlineExceeded)
			}
		}
		generation := p.s.dials.generation(target)
		file, err := p.s.node.DialSession(remote, p.name, timeout)
		if err == nil {
			stream, err := newStream(file, p.s.node.PublicKey(), remote)
			if err != nil {
				return nil, p.dialError(addr, err)
			}
			return stream, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, p.dialError(addr, ctxErr)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, p.dialError(addr, context.DeadlineExceeded)
		}
		if p.s.dials.generation(target) == generation {
			return nil, p.dialError(addr, err)
		}
		// Another dial's cancellation stopped this one too: try again.
	}
}

func (p *Protocol) dialError(addr string, err error) error {
	return &net.OpError{Op: "dial", Net: pinecone.PublicKey{}.Network(), Source: p.Addr(),
		Addr: dialAddr(addr), Err: err}
}

// dialAddr is a dialled address as given, for errors.
type dialAddr string

func (a dialAddr) Network() string { return pinecone.PublicKey{}.Network() }
func (a dialAddr) String() string  { return string(a) }

// parseAddr reads "hexkey" or "hexkey:port".
func parseAddr(addr string) (pinecone.PublicKey, error) {
	host := addr
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		host = addr[:i]
	}
	key, err := pinecone.ParsePublicKey(host)
	if err != nil {
		return key, fmt.Errorf("sessions: %q is not a node key (64 hex digits, optionally :port)", addr)
	}
	return key, nil
}

// dialTarget is what the library cancels dials by.
type dialTarget struct {
	remote   pinecone.PublicKey
	protocol string
}

// dialCancels counts the cancellations issued for each target, so that a
// dial stopped by another dial's cancellation (the library cancels every
// dial to a target at once) can tell and try again. A cancellation is
// issued and counted under the lock, so a dial that read the count before
// it began sees it move if one stopped it: one that reads it while a
// cancellation is under way waits for it to end, and begins after it.
type dialCancels struct {
	mu    sync.Mutex
	count map[dialTarget]uint64
}

func (d *dialCancels) generation(target dialTarget) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.count[target]
}

func (d *dialCancels) cancel(node *pinecone.Node, target dialTarget) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.count == nil {
		d.count = make(map[dialTarget]uint64)
	}
	d.count[target]++
	_, _ = node.CancelSessionDials(target.remote, target.protocol)
}
