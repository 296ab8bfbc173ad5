package sessions

import (
	"encoding/json"

	pinecone "pinecone.local/capi"
)

// openSession is what this package reads of an entry of the node's
// sessions as JSON.
type openSession struct {
	Remote   pinecone.PublicKey `json:"key"`
	Protocol string             `json:"protocol"`
}

// open lists the node's open sessions, of every protocol.
func (s *Sessions) open() ([]openSession, error) {
	text, err := s.node.SessionsJSON()
	if err != nil {
		return nil, err
	}
	var list []openSession
	err = json.Unmarshal([]byte(text), &list)
	return list, err
}
