package pinecone

import (
	"encoding/hex"
	"fmt"
)

// PublicKey is a node's ed25519 public key; it is the net.Addr of a Node.
type PublicKey [32]byte

// Network reports "ed25519".
func (k PublicKey) Network() string { return "ed25519" }

// String is the key in lowercase hex.
func (k PublicKey) String() string { return hex.EncodeToString(k[:]) }

// MarshalText writes the key in lowercase hex.
func (k PublicKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a key written by MarshalText.
func (k *PublicKey) UnmarshalText(text []byte) error {
	key, err := ParsePublicKey(string(text))
	if err != nil {
		return err
	}
	*k = key
	return nil
}

// ParsePublicKey reads a key written by String.
func ParsePublicKey(text string) (PublicKey, error) {
	var key PublicKey
	raw, err := hex.DecodeString(text)
	if err != nil {
		return key, err
	}
	if len(raw) != len(key) {
		return key, fmt.Errorf("pinecone: a key has 32 bytes, not %d", len(raw))
	}
	copy(key[:], raw)
	return key, nil
}
