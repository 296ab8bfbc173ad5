package main

import (
	"context"
	"crypto/ed25519"
	"log"
	"net"
	"net/http"

	pinecone "pinecone.local/capi"
)

// stack is one implementation of sessions on a node.
type stack interface {
	Protocol(name string) endpoint
	Close() error
}

// endpoint is what this program uses of a protocol's sessions.
type endpoint interface {
	net.Listener
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	// HTTP is the protocol's HTTP server mux and client.
	HTTP() (*http.ServeMux, *http.Client)
}

// stacks opens a stack on a node, by name; each stack's file adds itself.
var stacks = map[string]func(node *pinecone.Node, key ed25519.PrivateKey, protocols []string, logger *log.Logger) (stack, error){}
