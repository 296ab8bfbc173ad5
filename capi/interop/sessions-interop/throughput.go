package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// throughputProtocol is the protocol name throughput streams use.
const throughputProtocol = "throughput"

// serveSink reads every accepted stream to its end, then answers how many
// bytes it carried (8 bytes, big-endian) and closes it.
func serveSink(e endpoint) {
	for {
		conn, err := e.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			n, err := io.Copy(io.Discard, conn)
			if err != nil {
				return
			}
			var count [8]byte
			binary.BigEndian.PutUint64(count[:], uint64(n))
			_, _ = conn.Write(count[:])
		}()
	}
}

// closeWriter is a stream whose sending side can be finished alone.
type closeWriter interface{ CloseWrite() error }

// sendThroughput opens a stream to remote's sink (retrying until wait
// passes), writes total bytes in writes of size bytes, finishes its
// sending side and waits for the sink's count; it prints the rate from
// the first write to the count's arrival (MB = 10^6 bytes).
func sendThroughput(e endpoint, stackName, remote string, total int64, size int, wait time.Duration) error {
	if size <= 0 || total <= 0 {
		return errors.New("-bytes and -write must be positive")
	}
	conn, err := dialUntil(e, remote, wait)
	if err != nil {
		return err
	}
	defer conn.Close()
	half, ok := conn.(closeWriter)
	if !ok {
		return fmt.Errorf("%T cannot finish its sending side", conn)
	}
	chunk := make([]byte, size)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	start := time.Now()
	for left := total; left > 0; {
		n := int64(len(chunk))
		if left < n {
			n = left
		}
		if _, err := conn.Write(chunk[:n]); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		left -= n
	}
	if err := half.CloseWrite(); err != nil {
		return fmt.Errorf("finishing the stream: %w", err)
	}
	var count [8]byte
	if _, err := io.ReadFull(conn, count[:]); err != nil {
		return fmt.Errorf("reading the count: %w", err)
	}
	elapsed := time.Since(start)
	if got := int64(binary.BigEndian.Uint64(count[:])); got != total {
		return fmt.Errorf("the sink counted %d bytes, %d were sent", got, total)
	}
	fmt.Printf("throughput %s bytes=%d write=%d seconds=%.3f MB/s=%.1f\n",
		stackName, total, size, elapsed.Seconds(), float64(total)/elapsed.Seconds()/1e6)
	return nil
}

// dialUntil dials remote until it answers or wait passes.
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
