//! The node's session certificate, and the key a peer's certificate
//! carries.
//!
//! As the reference: a self-signed X.509 certificate over the node's own
//! ed25519 key, with the hex public key as common name and as DNS name.
//! Only its key matters to either side: names and dates are never
//! checked (the reference's certificates start at year 1, which a strict
//! validity check would refuse).

use ed25519_dalek::SigningKey;
use pinecone_engine::wire::PublicKey;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::ParsedCertificate;

/// The PKCS#8 encoding of an ed25519 private key, less its 32-byte seed
/// (RFC 8410: version 0, algorithm id-Ed25519, the seed as an OCTET
/// STRING inside the privateKey OCTET STRING).
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A SubjectPublicKeyInfo of an ed25519 key, less the 32-byte key
/// (RFC 8410: algorithm id-Ed25519 without parameters, the key as a
/// BIT STRING with no unused bits).
const SPKI_ED25519_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// What this node shows in session handshakes, as server and as client.
#[derive(Debug)]
pub(crate) struct Identity {
    /// The self-signed certificate.
    pub(crate) certificate: CertificateDer<'static>,
    /// Its private key, PKCS#8.
    pub(crate) private_key: PrivatePkcs8KeyDer<'static>,
}

impl Identity {
    /// The certificate of the node with `key`.
    pub(crate) fn new(key: &SigningKey) -> Result<Identity, rcgen::Error> {
        let mut pkcs8 = PKCS8_ED25519_PREFIX.to_vec();
        pkcs8.extend_from_slice(key.as_bytes());
        let private_key = PrivatePkcs8KeyDer::from(pkcs8);
        let key_pair =
            rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&private_key, &rcgen::PKCS_ED25519)?;
        let name = hex::encode(key.verifying_key().as_bytes());
        let mut params = rcgen::CertificateParams::new(vec![name.clone()])?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.serial_number = Some(rcgen::SerialNumber::from(1u64));
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(9999, 12, 31);
        let certificate = params.self_signed(&key_pair)?.der().clone();
        Ok(Identity {
            certificate,
            private_key,
        })
    }

    /// The private key as rustls takes it.
    pub(crate) fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.private_key.clone_key())
    }
}

/// The ed25519 key of a DER certificate; `None` when it does not parse or
/// holds another kind of key.
pub(crate) fn certificate_key(certificate: &CertificateDer<'_>) -> Option<PublicKey> {
    let parsed = ParsedCertificate::try_from(certificate).ok()?;
    let spki = parsed.subject_public_key_info();
    let key = spki.as_ref().strip_prefix(SPKI_ED25519_PREFIX.as_slice())?;
    Some(PublicKey(key.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_carries_the_node_key_and_its_hex_name() {
        let signing = SigningKey::from_bytes(&[7; 32]);
        let identity = Identity::new(&signing).unwrap();
        let key = PublicKey(signing.verifying_key().to_bytes());
        assert_eq!(certificate_key(&identity.certificate), Some(key));
        let name = hex::encode(key.0);
        let der = identity.certificate.as_ref();
        // Issuer and subject common names (self-signed) and the DNS name.
        let count = der
            .windows(name.len())
            .filter(|window| *window == name.as_bytes())
            .count();
        assert_eq!(count, 3);
    }

    #[test]
    fn a_certificate_with_another_kind_of_key_has_no_key() {
        let other = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let params = rcgen::CertificateParams::new(vec!["x".to_owned()]).unwrap();
        let certificate = params.self_signed(&other).unwrap();
        assert_eq!(certificate_key(certificate.der()), None);
        assert_eq!(
            certificate_key(&CertificateDer::from(vec![0x30, 0x03])),
            None
        );
    }
}
