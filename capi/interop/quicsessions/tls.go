package quicsessions

import (
	"bytes"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
)

// serverTLS accepts any of protocols by ALPN and requires a client
// certificate: exactly one, ed25519. Whether its key is the key the
// datagrams came from is checked once the connection is up (the source is
// not known inside the handshake).
func serverTLS(cert tls.Certificate, protocols []string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAnyClientCert,
		NextProtos:   protocols,
		VerifyPeerCertificate: func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
			_, err := soleKey(rawCerts)
			return err
		},
	}
}

// clientTLS dials protocol and takes the server only if it presents
// exactly one ed25519 certificate whose key is remote. Names and dates are
// not checked, and no server name is sent (a hex key is longer than a DNS
// label allows).
func clientTLS(cert tls.Certificate, protocol string, remote ed25519.PublicKey) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		NextProtos:         []string{protocol},
		InsecureSkipVerify: true, // replaced by VerifyPeerCertificate below
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &cert, nil
		},
		VerifyPeerCertificate: func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
			public, err := soleKey(rawCerts)
			if err != nil {
				return err
			}
			if !bytes.Equal(public, remote) {
				return errors.New("quicsessions: the server's certificate is for " +
					hex.EncodeToString(public) + ", not the dialled key")
			}
			return nil
		},
	}
}
