package pinecone

import (
	"io"
	"net/http"
)

// ManholeHandler answers an HTTP request with the node's state dump as
// JSON (the fields of the reference's manhole), as the reference's
// Router.ManholeHandler does, for a program that serves it on its own
// HTTP server. Who may ask is the program's to decide.
func (n *Node) ManholeHandler(w http.ResponseWriter, r *http.Request) {
	state, err := n.StateJSON()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, state+"\n")
}
