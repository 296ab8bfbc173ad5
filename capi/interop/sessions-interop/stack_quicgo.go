package main

import (
	"crypto/ed25519"
	"log"
	"net"
	"net/http"
	"os"

	pinecone "pinecone.local/capi"
	"pinecone.local/interop/quicsessions"
)

func init() { stacks["quic-go"] = openQuicGo }

// openQuicGo runs quic-go over the node's net.PacketConn.
func openQuicGo(node *pinecone.Node, key ed25519.PrivateKey, protocols []string, logger *log.Logger) (stack, error) {
	// quic-go would warn that it cannot size the UDP receive buffer of
	// what is not a UDP socket.
	os.Setenv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING", "true")
	s, err := quicsessions.New(quicsessions.Config{
		Conn: node,
		Key:  key,
		Addr: func(k ed25519.PublicKey) net.Addr {
			var addr pinecone.PublicKey
			copy(addr[:], k)
			return addr
		},
		Protocols: protocols,
		Log:       logger,
	})
	if err != nil {
		return nil, err
	}
	return quicGoStack{s}, nil
}

type quicGoStack struct{ *quicsessions.Sessions }

func (s quicGoStack) Protocol(name string) endpoint {
	return quicGoEndpoint{s.Sessions.Protocol(name)}
}

type quicGoEndpoint struct{ *quicsessions.Protocol }

func (e quicGoEndpoint) HTTP() (*http.ServeMux, *http.Client) {
	h := e.Protocol.HTTP()
	return h.Mux(), h.Client()
}
