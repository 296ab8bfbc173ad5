//! The two certificate checks of a session handshake.
//!
//! * A dialler accepts the server's certificate only when it is exactly
//!   one certificate, holding an ed25519 key equal to the key dialled.
//! * A server requires a client certificate and accepts it only when it
//!   is exactly one certificate whose ed25519 key equals the overlay
//!   source key of the datagrams that carried the handshake. Traffic
//!   frames' source keys are not signed: the handshake is what
//!   authenticates them.
//!
//! Names and validity dates are not checked, as by the reference. The
//! handshake signature is checked against the certificate's key (TLS 1.3,
//! ed25519 only).

use std::sync::Arc;

use pinecone_engine::wire::PublicKey;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};

use super::certificate::certificate_key;

/// Why a peer's certificates are refused, in words.
fn refuse(why: &'static str) -> Error {
    Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(
        Refusal(why),
    ))))
}

/// A certificate refusal's reason.
#[derive(Debug)]
struct Refusal(&'static str);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Refusal {}

/// Accepts exactly one certificate whose key is `expected`.
fn check_certificates(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    expected: PublicKey,
) -> Result<(), Error> {
    if !intermediates.is_empty() {
        return Err(refuse("expected exactly one certificate"));
    }
    match certificate_key(end_entity) {
        None => Err(refuse("expected a certificate with an ed25519 key")),
        Some(key) if key != expected => Err(refuse("the certificate's key is not the peer's")),
        Some(_) => Ok(()),
    }
}

/// The signature algorithms of ring. Only ed25519 is offered
/// ([`supported_verify_schemes`](ServerCertVerifier::supported_verify_schemes)),
/// and only an ed25519 certificate passes [`check_certificates`].
fn algorithms() -> WebPkiSupportedAlgorithms {
    rustls::crypto::ring::default_provider().signature_verification_algorithms
}

/// What either side answers a TLS 1.2 signature with: QUIC needs TLS 1.3.
const TLS12_REFUSED: Error =
    Error::PeerIncompatible(rustls::PeerIncompatible::Tls13RequiredForQuic);

/// The signature schemes either side accepts: ed25519 alone.
const SCHEMES: [SignatureScheme; 1] = [SignatureScheme::ED25519];

/// The dialler's check of the server: its certificate holds the key
/// dialled.
#[derive(Debug)]
pub(crate) struct DialledKey(pub(crate) PublicKey);

impl ServerCertVerifier for DialledKey {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        check_certificates(end_entity, intermediates, self.0)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        Err(TLS12_REFUSED)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        SCHEMES.to_vec()
    }
}

/// The server's check of a client: its certificate holds the source key
/// of its datagrams.
#[derive(Debug)]
pub(crate) struct SourceKey(pub(crate) PublicKey);

impl ClientCertVerifier for SourceKey {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        check_certificates(end_entity, intermediates, self.0)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        Err(TLS12_REFUSED)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        SCHEMES.to_vec()
    }
}
