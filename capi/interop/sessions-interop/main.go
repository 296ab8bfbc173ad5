// sessions-interop is a Pinecone node (this project's, through the Go
// package pinecone.local/capi) with end-to-end sessions from one of two
// stacks:
//
//	-stack quic-go   quic-go 0.29 over the node's net.PacketConn, following
//	                 the reference's sessions rules (package quicsessions)
//	-stack pinecone  the node's own sessions, through the Go package
//	                 pinecone.local/capi/sessions
//
// Without a role it serves HTTP on -protocol (GET /whoami answers the
// server's key and the key the request came from), can fetch /whoami from
// another node and check both keys (-fetch), and can wait until another
// node fetched from it (-served): two of them, one per stack, check that
// the stacks interoperate with HTTP both ways. Its results go to stdout as
// lines starting with "key", "listening", "fetch" or "served"; the exit
// status is 0 only when every requested fetch succeeded and every
// requested answer was given.
//
// With a role, it is one side of the stream throughput bench
// (pinecone-bench's sessions-throughput, which runs it as a variant):
//
//	sessions-interop -stack S serve
//	sessions-interop -stack S send <host:port> <hex key> <bytes> <write size>
//
// (see bench.go).
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	pinecone "pinecone.local/capi"
)

func main() {
	seedHex := flag.String("seed", "", "the node's ed25519 seed, 64 hex digits (default: random)")
	printKey := flag.Bool("printkey", false, "print the public key of -seed and exit")
	listen := flag.String("listen", "", "TCP address to accept peers on, e.g. 127.0.0.1:0")
	connect := flag.String("connect", "", "static peer to keep connected (host:port or tcp://host:port)")
	stackName := flag.String("stack", "quic-go", "sessions stack: "+strings.Join(stackNames(), " or "))
	protocol := flag.String("protocol", "interop", "protocol name (ALPN) HTTP is served and fetched on")
	fetch := flag.String("fetch", "", "fetch /whoami from this node key (hex) and check both keys")
	served := flag.Int("served", 0, "before exiting, wait (up to -wait) until /whoami was answered this many times")
	wait := flag.Duration("wait", 30*time.Second, "how long -fetch and -served wait for the other node")
	linger := flag.Duration("linger", 0, "keep serving this long after -fetch and -served (0 without them: until SIGINT or SIGTERM)")
	verbose := flag.Bool("v", false, "log refused and replaced connections on stderr")
	flag.Parse()

	seed, err := parseSeed(*seedHex)
	if err != nil {
		log.Fatal(err)
	}
	if *printKey {
		fmt.Println(hex.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)))
		return
	}
	open, ok := stacks[*stackName]
	if !ok {
		log.Fatalf("no stack %q (have %s)", *stackName, strings.Join(stackNames(), ", "))
	}
	var logger *log.Logger
	if *verbose {
		logger = log.New(os.Stderr, *stackName+": ", log.Lmicroseconds)
	}
	node, err := pinecone.NewNode(seed)
	if err != nil {
		log.Fatal(err)
	}
	start := func(protocols ...string) stack {
		st, err := open(node, ed25519.NewKeyFromSeed(seed), protocols, logger)
		if err != nil {
			log.Fatal(err)
		}
		return st
	}

	if flag.NArg() > 0 {
		err := runRole(node, start, flag.Args())
		node.Close()
		if err != nil {
			log.Fatal(err)
		}
		return
	}

	fmt.Println("key", node.PublicKey())
	if *listen != "" {
		bound, err := node.Listen(*listen)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("listening", bound)
	}
	if *connect != "" {
		if err := node.Connect(peerURI(*connect)); err != nil {
			log.Fatal(err)
		}
	}
	st := start(*protocol)
	answered := serveWhoami(st.Protocol(*protocol), node.PublicKey())

	failed := false
	if *fetch != "" {
		if err := fetchWhoami(st.Protocol(*protocol), node.PublicKey(), *fetch, *wait); err != nil {
			fmt.Println("fetch", *fetch, "failed:", err)
			failed = true
		}
	}
	if *served > 0 && !answered.reach(*served, *wait) {
		fmt.Println("served", answered.count(), "of", *served, "requests within", *wait)
		failed = true
	}
	if *fetch != "" || *served > 0 {
		time.Sleep(*linger)
	} else {
		waitForSignal(*linger)
	}
	st.Close()
	node.Close()
	if failed {
		os.Exit(1)
	}
}

// peerURI adds tcp:// to a bare host:port.
func peerURI(address string) string {
	if strings.Contains(address, "://") {
		return address
	}
	return "tcp://" + address
}

// parseSeed reads a 64-hex-digit seed, or makes a random one.
func parseSeed(text string) ([]byte, error) {
	if text == "" {
		seed := make([]byte, ed25519.SeedSize)
		_, err := io.ReadFull(rand.Reader, seed)
		return seed, err
	}
	seed, err := hex.DecodeString(text)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("-seed wants %d hex digits", 2*ed25519.SeedSize)
	}
	return seed, nil
}

// waitForSignal returns after d, or at SIGINT or SIGTERM when d is 0.
func waitForSignal(d time.Duration) {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	if d == 0 {
		<-signals
		return
	}
	select {
	case <-signals:
	case <-time.After(d):
	}
}

func stackNames() []string {
	names := make([]string, 0, len(stacks))
	for name := range stacks {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
