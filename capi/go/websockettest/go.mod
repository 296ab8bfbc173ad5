module pinecone.local/capi/websockettest

go 1.19

require (
	github.com/gorilla/websocket v1.5.0
	pinecone.local/capi v0.0.0
)

// The package under test, and Debian's gorilla WebSocket
// (golang-github-gorilla-websocket-dev), which scripts/test-all installs:
// nothing is fetched from the network.
replace (
	github.com/gorilla/websocket => /usr/share/gocode/src/github.com/gorilla/websocket
	pinecone.local/capi => ../
)
