package quicsessions

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// certificateLifetime is how long a node's certificate claims to be valid.
// Nobody checks it (peers check only the key), but x509 wants a date.
const certificateLifetime = 365 * 24 * time.Hour

// nodeCertificate makes the self-signed certificate a node presents on
// both sides of every session: an ed25519 certificate over the node's own
// key, its common name and only DNS name the key in hex.
func nodeCertificate(key ed25519.PrivateKey) (tls.Certificate, error) {
	public, ok := key.Public().(ed25519.PublicKey)
	if !ok {
		return tls.Certificate{}, errors.New("quicsessions: not an ed25519 key")
	}
	name := hex.EncodeToString(public)
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certificateLifetime),
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, public, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("quicsessions: certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// soleKey is the ed25519 key of a peer that presented exactly one
// certificate; anything else is an error.
func soleKey(rawCerts [][]byte) (ed25519.PublicKey, error) {
	if len(rawCerts) != 1 {
		return nil, fmt.Errorf("quicsessions: want exactly one certificate, got %d", len(rawCerts))
	}
	cert, err := x509.ParseCertificate(rawCerts[0])
	if err != nil {
		return nil, fmt.Errorf("quicsessions: certificate: %w", err)
	}
	public, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("quicsessions: certificate key is %T, not ed25519", cert.PublicKey)
	}
	return public, nil
}
