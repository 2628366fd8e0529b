//! X.509 work: PEM decoding, SPIFFE ids in certificates, chain verification against the
//! Consul roots, and private-key normalisation/matching.
//!
//! Parsing uses x509-parser; signatures and path building use rustls-webpki; key checks use
//! rustls's own `CertifiedKey::keys_match`. Nothing here is hand-rolled cryptography.

use crate::error::{CertificateError, Result};
use crate::spiffe::ServiceId;
use pkcs8::der::asn1::{AnyRef, Null};
use pkcs8::der::{Decode, Encode};
use pkcs8::spki::AlgorithmIdentifierRef;
use pkcs8::ObjectIdentifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};
use zeroize::Zeroizing;

/// Largest certificate accepted (Consul leaves are ~1 KiB; 64 KiB leaves ample room).
pub const MAX_CERT_LEN: usize = 64 * 1024;

/// What the library needs to know about a leaf certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafInfo {
    /// The service identity from the single SPIFFE URI SAN.
    pub id: ServiceId,
    /// Serial number in Consul's colon-separated lower-case hex form (`0a:1b:…`).
    pub serial: String,
    /// Start of validity, seconds since the epoch.
    pub not_before: i64,
    /// End of validity, seconds since the epoch.
    pub not_after: i64,
}

impl LeafInfo {
    /// Whether `now` lies within the validity period.
    pub fn is_valid_at(&self, now: SystemTime) -> bool {
        let now = unix_seconds(now);
        self.not_before <= now && now <= self.not_after
    }
}

/// Seconds since the epoch, saturating for times before it.
pub fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Decodes every `CERTIFICATE` block of a PEM text; errors when there is none.
pub fn certs_from_pem(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| CertificateError::MalformedPem {
            what: what.into(),
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(CertificateError::NoCertificateBlock { what: what.into() }.into());
    }
    Ok(certs)
}

/// Decodes a PEM private key (PKCS#8, SEC1 `EC PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
pub fn key_from_pem(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
        CertificateError::NoPrivateKey {
            what: what.into(),
            detail: e.to_string(),
        }
        .into()
    })
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>> {
    if der.is_empty() {
        return Err(CertificateError::Empty.into());
    }
    if der.len() > MAX_CERT_LEN {
        return Err(CertificateError::TooLarge {
            len: der.len(),
            limit: MAX_CERT_LEN,
        }
        .into());
    }
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(CertificateError::TrailingBytes.into()),
        Err(e) => Err(CertificateError::MalformedDer(e.to_string()).into()),
    }
}

/// All URI subject alternative names of a certificate.
pub fn uri_sans(der: &[u8]) -> Result<Vec<String>> {
    let cert = parse(der)?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| CertificateError::MalformedSan(e.to_string()))?;
    Ok(san
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::URI(uri) => Some((*uri).to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Parses a Connect leaf: exactly one URI SAN, which must be a service SPIFFE id.
pub fn leaf_info(der: &[u8]) -> Result<LeafInfo> {
    let cert = parse(der)?;
    let uris = uri_sans(der)?;
    let uri = match uris.as_slice() {
        [one] => one,
        [] => return Err(CertificateError::NoUri.into()),
        many => return Err(CertificateError::SeveralUris(many.len()).into()),
    };
    let id = ServiceId::parse(uri)?;
    Ok(LeafInfo {
        id,
        serial: colon_hex(cert.raw_serial()),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// Consul's serial form: colon-separated two-digit lower-case hex, leading zero bytes dropped.
pub fn colon_hex(bytes: &[u8]) -> String {
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    bytes[start..]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Which side of a connection the certificate authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// A client certificate (TLS client authentication).
    Client,
    /// A server certificate.
    Server,
}

/// Why a certification path could not be built, before a caller words it for its
/// audience (operator error, or a client deny reason).
#[derive(Debug)]
pub enum PathError {
    /// None of the roots is a usable trust anchor.
    NoAnchors,
    /// The end-entity certificate cannot be used at all.
    BadLeaf(webpki::Error),
    /// No valid path: unknown issuer, bad signature, expired, wrong usage, ...
    Path(webpki::Error),
}

/// The one place that builds and checks a path (rustls-webpki): from `leaf` through
/// `intermediates` to one of `roots`, signatures, validity at `now`, and the extended key
/// usage for `usage`. Returns the intermediates the verified path went through (leaf
/// side first, the anchor excluded).
pub fn verify_path<'a>(
    leaf: &CertificateDer<'_>,
    roots: impl IntoIterator<Item = &'a CertificateDer<'a>>,
    intermediates: &[CertificateDer<'_>],
    now: SystemTime,
    usage: Usage,
) -> std::result::Result<Vec<CertificateDer<'static>>, PathError> {
    let anchors = roots
        .into_iter()
        .filter_map(|r| webpki::anchor_from_trusted_cert(r).ok())
        .collect::<Vec<_>>();
    if anchors.is_empty() {
        return Err(PathError::NoAnchors);
    }
    let ee = webpki::EndEntityCert::try_from(leaf).map_err(PathError::BadLeaf)?;
    let time = UnixTime::since_unix_epoch(now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO));
    let eku = match usage {
        Usage::Client => webpki::KeyUsage::client_auth(),
        Usage::Server => webpki::KeyUsage::server_auth(),
    };
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        intermediates,
        time,
        eku,
        None,
        None,
    )
    .map(|path| {
        path.intermediate_certificates()
            .map(|c| c.der().into_owned())
            .collect()
    })
    .map_err(PathError::Path)
}

/// Verifies that `chain[0]` chains to one of `roots`, using the rest of `chain` and
/// `extra_intermediates` (e.g. the roots' `IntermediateCerts`) as intermediates.
pub fn verify_chain(
    chain: &[CertificateDer<'_>],
    roots: &[CertificateDer<'_>],
    extra_intermediates: &[CertificateDer<'_>],
    now: SystemTime,
    usage: Usage,
) -> Result<()> {
    let leaf = chain.first().ok_or(CertificateError::EmptyChain)?;
    let intermediates: Vec<CertificateDer<'_>> = chain[1..]
        .iter()
        .chain(extra_intermediates.iter())
        .map(|c| CertificateDer::from(c.as_ref()))
        .collect();
    verify_path(leaf, roots, &intermediates, now, usage)
        .map(|_| ())
        .map_err(|e| {
            match e {
                PathError::NoAnchors => CertificateError::NoUsableRoot,
                PathError::BadLeaf(e) => CertificateError::UnusableLeaf(e.to_string()),
                PathError::Path(e) => classify_webpki(e),
            }
            .into()
        })
}

fn classify_webpki(e: webpki::Error) -> CertificateError {
    use webpki::Error as E;
    match e {
        E::UnknownIssuer => CertificateError::UnknownIssuer,
        E::CertExpired { .. } => CertificateError::Expired,
        E::CertNotValidYet { .. } => CertificateError::NotValidYet,
        E::InvalidSignatureForPublicKey => CertificateError::BadSignature,
        other => CertificateError::ChainInvalid(format!("{other:?}")),
    }
}

/// Converts any supported private key encoding to PKCS#8 DER (what Java's `KeyFactory`
/// reads). The returned bytes are zeroed when dropped.
pub fn to_pkcs8(key: &PrivateKeyDer<'_>) -> Result<Zeroizing<Vec<u8>>> {
    const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    let wrap = |algorithm: AlgorithmIdentifierRef<'_>,
                inner: &[u8]|
     -> Result<Zeroizing<Vec<u8>>> {
        pkcs8::PrivateKeyInfo::new(algorithm, inner)
            .to_der()
            .map(Zeroizing::new)
            .map_err(|e| {
                CertificateError::UnusableKey(format!("cannot re-encode private key: {e}")).into()
            })
    };
    match key {
        PrivateKeyDer::Pkcs8(k) => Ok(Zeroizing::new(k.secret_pkcs8_der().to_vec())),
        PrivateKeyDer::Sec1(k) => {
            let parsed = sec1::EcPrivateKey::from_der(k.secret_sec1_der()).map_err(|e| {
                CertificateError::UnusableKey(format!("malformed EC private key: {e}"))
            })?;
            let curve = match parsed.parameters {
                Some(sec1::EcParameters::NamedCurve(oid)) => oid,
                None => {
                    return Err(CertificateError::UnusableKey(
                        "EC private key does not name its curve".into(),
                    )
                    .into())
                }
            };
            wrap(
                AlgorithmIdentifierRef {
                    oid: EC_PUBLIC_KEY,
                    parameters: Some(AnyRef::from(&curve)),
                },
                k.secret_sec1_der(),
            )
        }
        PrivateKeyDer::Pkcs1(k) => wrap(
            AlgorithmIdentifierRef {
                oid: RSA_ENCRYPTION,
                parameters: Some(AnyRef::from(Null)),
            },
            k.secret_pkcs1_der(),
        ),
        _ => Err(CertificateError::UnusableKey("unsupported private key encoding".into()).into()),
    }
}

/// Checks that the PKCS#8 private key belongs to the leaf certificate (compares the
/// public key derived from the private key with the certificate's SubjectPublicKeyInfo).
pub fn check_key_matches(leaf: &CertificateDer<'_>, pkcs8_der: &[u8]) -> Result<()> {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8_der.to_vec()));
    let signer = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| CertificateError::UnusableKey(format!("private key is not usable: {e}")))?;
    let certified = rustls::sign::CertifiedKey::new(vec![leaf.clone().into_owned()], signer);
    certified.keys_match().map_err(|e| match e {
        rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
            CertificateError::KeyMismatch.into()
        }
        other => CertificateError::KeyComparison(other.to_string()).into(),
    })
}

/// Builds a rustls signing key from PKCS#8 DER (used by TLS users of the snapshot).
pub fn signing_key(pkcs8_der: &[u8]) -> Result<Arc<dyn rustls::sign::SigningKey>> {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8_der.to_vec()));
    rustls::crypto::ring::sign::any_supported_type(&key).map_err(|e| {
        CertificateError::UnusableKey(format!("private key is not usable: {e}")).into()
    })
}

/// PEM text of a private key (PKCS#8 DER), the same text [`to_pem`] gives, built in one
/// zeroizing buffer sized up front (with `room` bytes more for what the caller appends,
/// e.g. the certificate chain): no copy of the key or of its base64 text is left behind
/// unzeroed, which `pem::encode` and a growing `String` would do.
pub fn private_key_pem(pkcs8_der: &[u8], room: usize) -> Zeroizing<String> {
    use base64::Engine;
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----\r\n";
    const END: &str = "-----END PRIVATE KEY-----\r\n";
    let lines = pkcs8_der.len().div_ceil(48);
    let capacity = BEGIN.len() + lines * (64 + 2) + END.len() + room;
    let mut out = Zeroizing::new(String::with_capacity(capacity));
    out.push_str(BEGIN);
    for chunk in pkcs8_der.chunks(48) {
        // 48 bytes are one 64-character line.
        base64::engine::general_purpose::STANDARD.encode_string(chunk, &mut out);
        out.push_str("\r\n");
    }
    out.push_str(END);
    out
}

/// Encodes DER blocks as PEM text with the given label.
pub fn to_pem(label: &str, blocks: &[&[u8]]) -> String {
    blocks
        .iter()
        .map(|der| pem::encode(&pem::Pem::new(label, der.to_vec())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn private_key_pem_is_exactly_what_pem_encoding_gives() {
        for len in [0usize, 1, 47, 48, 49, 121, 138, 1218] {
            let der: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let ours = private_key_pem(&der, 100);
            assert_eq!(*ours, to_pem("PRIVATE KEY", &[&der]), "{len} bytes");
            assert!(
                ours.capacity() >= ours.len() + 100,
                "room kept for the chain"
            );
        }
    }

    #[test]
    fn colon_hex_matches_consul() {
        assert_eq!(colon_hex(&[0x00, 0x0a, 0xff]), "0a:ff");
        assert_eq!(colon_hex(&[0x00]), "00");
        assert_eq!(colon_hex(&[0x12]), "12");
    }

    #[test]
    fn garbage_is_rejected_cleanly() {
        let cause = |r: Result<LeafInfo>| match r {
            Err(Error::Certificate(c)) => c,
            other => panic!("{other:?}"),
        };
        assert_eq!(cause(leaf_info(b"")), CertificateError::Empty);
        for bad in [&b"\x30\x03\x01\x01"[..], b"not a certificate at all"] {
            assert!(matches!(
                cause(leaf_info(bad)),
                CertificateError::MalformedDer(_)
            ));
        }
        assert_eq!(
            cause(leaf_info(&vec![0x30; MAX_CERT_LEN + 1])),
            CertificateError::TooLarge {
                len: MAX_CERT_LEN + 1,
                limit: MAX_CERT_LEN
            }
        );
        assert!(matches!(
            certs_from_pem(
                b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n",
                "x"
            ),
            Err(Error::Certificate(CertificateError::MalformedPem { .. }))
        ));
        assert!(certs_from_pem(b"", "x")
            .unwrap_err()
            .to_string()
            .contains("no CERTIFICATE"));
    }
}
