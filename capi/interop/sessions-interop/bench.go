package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	pinecone "pinecone.local/capi"
)

// The two roles of the stream throughput bench, as pinecone-bench's
// sessions-throughput runs every variant:
//
//	serve: listen for TCP peers on loopback, print "READY <hex key>
//	<host:port>" as the first line, then echo every stream on protocol
//	"bench" back to its end (and finish the sending side) until killed.
//	send <host:port> <hex key> <bytes> <write size>: peer with that
//	address, open a stream to the key, write <bytes> in writes of <write
//	size> bytes while reading the echo, and print "RESULT <bytes echoed>
//	<seconds>", timed from the dial's return to the last echoed byte.

// benchProtocol is the protocol the bench's streams use.
const benchProtocol = "bench"

// benchPatience is how long the sender waits for the peering and the
// session.
const benchPatience = 60 * time.Second

// closeWriter is a stream whose sending side can be finished alone.
type closeWriter interface{ CloseWrite() error }

// runRole runs the bench role args name.
func runRole(node *pinecone.Node, start func(...string) stack, args []string) error {
	switch {
	case args[0] == "serve" && len(args) == 1:
		return serveEcho(node, start(benchProtocol))
	case args[0] == "send" && len(args) == 5:
		total, err1 := strconv.ParseInt(args[3], 10, 64)
		size, err2 := strconv.Atoi(args[4])
		if err1 != nil || err2 != nil || total <= 0 || size <= 0 {
			return errors.New("send wants a positive byte count and write size")
		}
		if err := node.Connect(peerURI(args[1])); err != nil {
			return err
		}
		st := start(benchProtocol)
		defer st.Close()
		return sendEcho(st.Protocol(benchProtocol), args[2], total, size)
	default:
		return errors.New("roles: serve, or send <host:port> <hex key> <bytes> <write size>")
	}
}

// serveEcho echoes every stream until the process is killed.
func serveEcho(node *pinecone.Node, st stack) error {
	bound, err := node.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println("READY", node.PublicKey(), bound)
	listener := st.Protocol(benchProtocol)
	for {
		conn, err := listener.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer conn.Close()
			if _, err := io.Copy(conn, conn); err == nil {
				if half, ok := conn.(closeWriter); ok {
					_ = half.CloseWrite()
				}
			}
		}()
	}
}

// sendEcho opens a stream to remote, writes total bytes in writes of size
// while reading the echo, and prints the RESULT line.
func sendEcho(e endpoint, remote string, total int64, size int) error {
	conn, err := dialUntil(e, remote, benchPatience)
	if err != nil {
		return err
	}
	defer conn.Close()
	half, ok := conn.(closeWriter)
	if !ok {
		return fmt.Errorf("%T cannot finish its sending side", conn)
	}
	started := time.Now()
	written := make(chan error, 1)
	go func() {
		chunk := make([]byte, size)
		for i := range chunk {
			chunk[i] = byte(i)
		}
		for left := total; left > 0; {
			n := int64(len(chunk))
			if left < n {
				n = left
			}
			if _, err := conn.Write(chunk[:n]); err != nil {
				written <- err
				return
			}
			left -= n
		}
		written <- half.CloseWrite()
	}()
	echoed, err := io.Copy(io.Discard, conn)
	seconds := time.Since(started).Seconds()
	if err != nil {
		return fmt.Errorf("reading the echo: %w", err)
	}
	if err := <-written; err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	if echoed != total {
		return fmt.Errorf("%d of %d bytes came back", echoed, total)
	}
	fmt.Printf("RESULT %d %.6f\n", echoed, seconds)
	return nil
}

// dialUntil dials remote until a stream opens or wait passes.
func dialUntil(e endpoint, remote string, wait time.Duration) (net.Conn, error) {
	stop := time.Now().Add(wait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := e.DialContext(ctx, "tcp", remote)
		cancel()
		if err == nil {
			return conn, nil
		}
		if time.Now().After(stop) {
			return nil, fmt.Errorf("no stream to %s within %v: %w", remote, wait, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
