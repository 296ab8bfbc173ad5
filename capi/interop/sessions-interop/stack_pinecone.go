package main

import (
	"crypto/ed25519"
	"log"
	"net/http"

	pinecone "pinecone.local/capi"
	"pinecone.local/capi/sessions"
)

func init() { stacks["pinecone"] = openPinecone }

// openPinecone uses the node's own sessions through the Go package (with
// -v through the reference's spelling, which panics on failure).
func openPinecone(node *pinecone.Node, _ ed25519.PrivateKey, protocols []string, logger *log.Logger) (stack, error) {
	if logger != nil {
		return pineconeStack{sessions.NewSessions(logger, node, protocols)}, nil
	}
	s, err := sessions.New(node, protocols)
	if err != nil {
		return nil, err
	}
	return pineconeStack{s}, nil
}

type pineconeStack struct{ *sessions.Sessions }

func (s pineconeStack) Protocol(name string) endpoint {
	return pineconeEndpoint{s.Sessions.Protocol(name)}
}

type pineconeEndpoint struct{ *sessions.Protocol }

func (e pineconeEndpoint) HTTP() (*http.ServeMux, *http.Client) {
	h := e.Protocol.HTTP()
	return h.Mux(), h.Client()
}
