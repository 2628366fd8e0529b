//! Verification of a peer's certificate chain against the current Consul roots.
//!
//! A pure function of (chain, roots, time): no I/O, no cache, so the authenticator and
//! the JCA trust manager share it. Cheap structural checks (parsing, the SPIFFE id, trust
//! domain, validity period) run before signatures are checked, so garbage and obviously
//! wrong certificates are refused without any public-key work.
//!
//! Parsing uses x509-parser; signatures and path building use rustls-webpki, with every
//! current root as a trust anchor and both the roots' `IntermediateCerts` and the
//! intermediates the peer presented as candidate intermediates.
//!
//! Every presented certificate must be part of the verified path (an intermediate of it)
//! or published by Consul with the current roots (a root, or one of their
//! `IntermediateCerts`, e.g. the cross-signed root Consul's leaves carry after a CA
//! rotation), and none may be presented twice: anything else is refused as
//! [`DenyReason::UnusedCertificate`]. The presented bytes are then determined by the
//! identity, its path and the roots (up to the order and choice of a few published
//! certificates), which lets the authorizer key its cache by those bytes without padding
//! multiplying the entries.

use super::reason::DenyReason;
use crate::error::{clip, Error};
use crate::identity::Roots;
use crate::spiffe::ServiceId;
use crate::x509::{colon_hex, unix_seconds, verify_path, PathError, Usage, MAX_CERT_LEN};
use rustls::pki_types::{CertificateDer, UnixTime};
use std::time::SystemTime;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Most certificates accepted in a presented chain (a Connect chain is a leaf plus at
/// most a couple of intermediates).
pub const MAX_CHAIN_LEN: usize = 8;

/// A peer whose chain verified: who it is and what its certificate says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The service identity (service, namespace, datacenter, partition, trust domain).
    pub id: ServiceId,
    /// The SPIFFE id in canonical form (`spiffe://<td>/ns/<ns>/dc/<dc>/svc/<name>`).
    pub spiffe_id: String,
    /// The service qualified by namespace and partition where not default
    /// ([`ServiceId::qualified_name`]): the default Trino user.
    pub user: String,
    /// The identity's groups ([`ServiceId::groups`]).
    pub groups: Vec<String>,
    /// The leaf's serial in Consul's colon-hex form.
    pub serial: String,
    /// Start of the leaf's validity, seconds since the epoch.
    pub not_before: i64,
    /// End of the leaf's validity, seconds since the epoch.
    pub not_after: i64,
    /// Earliest end of validity among the certificates of the verified path (the leaf,
    /// the intermediates it used, whether presented or taken from the roots'
    /// `IntermediateCerts`, and a presented root), seconds since the epoch: the chain is
    /// usable until then.
    pub chain_not_after: i64,
}

/// Verifies a presented chain (leaf first, then intermediates) against `roots` at `now`.
///
/// The chain must parse, start with a non-CA leaf carrying exactly one URI SAN that is a
/// Connect service SPIFFE id in the roots' trust domain, every presented certificate must
/// be within its validity period, and the leaf must chain to one of the roots for the
/// given `usage`, and every presented certificate after the leaf must be on the path it
/// chains through or published with the roots (no padding, no duplicates). Each failure maps to its own [`DenyReason`].
pub fn verify_peer<C: AsRef<[u8]>>(
    chain: &[C],
    roots: &Roots,
    now: SystemTime,
    usage: Usage,
) -> Result<Peer, DenyReason> {
    check_shape(chain)?;
    let parsed = chain
        .iter()
        .enumerate()
        .map(|(index, der)| parse(index, der.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = &parsed[0];
    if leaf.is_ca() {
        return Err(DenyReason::WrongOrder);
    }
    let id = service_id(leaf)?;
    if !id.trust_domain.eq_ignore_ascii_case(&roots.trust_domain) {
        return Err(DenyReason::ForeignTrustDomain {
            found: id.trust_domain.clone(),
            expected: roots.trust_domain.clone(),
        });
    }
    let now_s = unix_seconds(now);
    let mut chain_not_after = i64::MAX;
    for cert in &parsed {
        let (start, end) = (
            cert.validity().not_before.timestamp(),
            cert.validity().not_after.timestamp(),
        );
        if now_s < start {
            return Err(DenyReason::NotYetValid { not_before: start });
        }
        if now_s > end {
            return Err(DenyReason::Expired { not_after: end });
        }
        chain_not_after = chain_not_after.min(end);
    }
    if roots.roots.is_empty() {
        return Err(DenyReason::NoRoots);
    }
    let path_not_after = verify_signatures(chain, roots, now, usage)?;
    Ok(Peer::new(
        id,
        colon_hex(leaf.raw_serial()),
        (
            leaf.validity().not_before.timestamp(),
            leaf.validity().not_after.timestamp(),
        ),
        chain_not_after.min(path_not_after),
    ))
}

impl Peer {
    /// The peer `id` with its derived names (SPIFFE id, user, groups), the leaf's
    /// `serial`, its validity (`not_before`, `not_after`) and the chain's end of validity.
    /// [`verify_peer`] is the only way to learn a verified peer; this builds one for a
    /// decision source asked directly (tests, benchmarks).
    pub fn new(id: ServiceId, serial: String, validity: (i64, i64), chain_not_after: i64) -> Peer {
        Peer {
            spiffe_id: id.to_uri(),
            user: id.qualified_name(),
            groups: id.groups(),
            id,
            serial,
            not_before: validity.0,
            not_after: validity.1,
            chain_not_after,
        }
    }
}

/// Refuses, without parsing anything, input that cannot be a certificate chain: no
/// certificate, too many, or one that is empty or larger than [`MAX_CERT_LEN`].
#[inline]
pub(crate) fn check_shape<C: AsRef<[u8]>>(chain: &[C]) -> Result<(), DenyReason> {
    check_count(chain.len())?;
    for (index, der) in chain.iter().enumerate() {
        check_size(index, der.as_ref().len())?;
    }
    Ok(())
}

/// The count part of [`check_shape`]: at least one certificate, at most
/// [`MAX_CHAIN_LEN`]. Callers that copy a chain from elsewhere (the JNI layer) check it
/// before copying anything.
#[inline]
pub(crate) fn check_count(count: usize) -> Result<(), DenyReason> {
    if count == 0 {
        return Err(DenyReason::EmptyChain);
    }
    if count > MAX_CHAIN_LEN {
        return Err(DenyReason::ChainTooLong {
            count,
            max: MAX_CHAIN_LEN,
        });
    }
    Ok(())
}

/// The size part of [`check_shape`] for certificate `index`: 1 to [`MAX_CERT_LEN`] bytes.
#[inline]
pub(crate) fn check_size(index: usize, len: usize) -> Result<(), DenyReason> {
    if len == 0 || len > MAX_CERT_LEN {
        return Err(DenyReason::Malformed {
            index,
            detail: if len == 0 {
                "empty".into()
            } else {
                format!("{len} bytes exceed the {MAX_CERT_LEN}-byte limit")
            },
        });
    }
    Ok(())
}

fn parse(index: usize, der: &[u8]) -> Result<X509Certificate<'_>, DenyReason> {
    let malformed = |detail: String| DenyReason::Malformed { index, detail };
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok((rest, _)) => Err(malformed(format!(
            "{} trailing bytes after the certificate",
            rest.len()
        ))),
        Err(e) => Err(malformed(format!("not DER X.509: {e}"))),
    }
}

/// The single URI SAN of the leaf, parsed as a Connect service id.
fn service_id(leaf: &X509Certificate<'_>) -> Result<ServiceId, DenyReason> {
    let san = leaf
        .subject_alternative_name()
        .map_err(|e| DenyReason::Malformed {
            index: 0,
            detail: format!("malformed subjectAltName: {e}"),
        })?;
    let mut uris = san
        .iter()
        .flat_map(|ext| ext.value.general_names.iter())
        .filter_map(|name| match name {
            GeneralName::URI(uri) => Some(*uri),
            _ => None,
        });
    let (first, count) = match uris.next() {
        None => return Err(DenyReason::NoSpiffeId),
        Some(first) => (first, 1 + uris.count()),
    };
    if count > 1 {
        return Err(DenyReason::MultipleUris(count));
    }
    ServiceId::parse(first).map_err(|e| DenyReason::NotAService {
        uri: clip(first),
        detail: match e {
            Error::SpiffeId { reason, .. } => reason.to_string(),
            other => other.to_string(),
        },
    })
}

/// Verifies the path from the leaf to a current root. Returns the earliest end of validity
/// among the path's intermediates. Refuses a presented certificate that is neither on the
/// path nor published with the current roots (a root or one of their `IntermediateCerts`),
/// and any presented twice.
fn verify_signatures<C: AsRef<[u8]>>(
    chain: &[C],
    roots: &Roots,
    now: SystemTime,
    usage: Usage,
) -> Result<i64, DenyReason> {
    let presented = &chain[1..];
    let intermediates: Vec<CertificateDer<'_>> = presented
        .iter()
        .map(|c| CertificateDer::from(c.as_ref()))
        .chain(
            roots
                .roots
                .iter()
                .flat_map(|r| r.intermediates.iter())
                .map(|c| CertificateDer::from(c.as_ref())),
        )
        .collect();
    let leaf = CertificateDer::from(chain[0].as_ref());
    let anchors = roots.roots.iter().map(|r| &r.cert);
    let path = verify_path(&leaf, anchors, &intermediates, now, usage).map_err(|e| match e {
        PathError::NoAnchors => DenyReason::NoRoots,
        PathError::BadLeaf(e) => DenyReason::Malformed {
            index: 0,
            detail: format!("not a usable end-entity certificate: {e}"),
        },
        PathError::Path(e) => map_webpki(e, usage),
    })?;

    let mut not_after = i64::MAX;
    for der in &path {
        let parsed = X509Certificate::from_der(der.as_ref()).map_err(|e| {
            DenyReason::ChainInvalid(format!("an intermediate of the path does not parse: {e}"))
        })?;
        not_after = not_after.min(parsed.1.validity().not_after.timestamp());
    }
    // Besides the path, a presented certificate may be one Consul itself publishes with the
    // current roots: after a CA rotation Consul's leaves carry the new root cross-signed
    // by the old one, which the direct path to the new root does not need.
    let published = |der: &[u8]| {
        roots
            .roots
            .iter()
            .any(|r| r.cert.as_ref() == der || r.intermediates.iter().any(|c| c.as_ref() == der))
    };
    for (i, der) in presented.iter().enumerate() {
        let der = der.as_ref();
        let known = path.iter().any(|c| c.as_ref() == der) || published(der);
        let repeated = presented[..i].iter().any(|p| p.as_ref() == der);
        if !known || repeated {
            return Err(DenyReason::UnusedCertificate { index: i + 1 });
        }
    }
    Ok(not_after)
}

fn map_webpki(e: webpki::Error, usage: Usage) -> DenyReason {
    use webpki::Error as E;
    let seconds = |t: UnixTime| i64::try_from(t.as_secs()).unwrap_or(i64::MAX);
    match e {
        E::UnknownIssuer => DenyReason::UnknownIssuer,
        E::InvalidSignatureForPublicKey
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
        | E::UnsupportedSignatureAlgorithmContext(_)
        | E::SignatureAlgorithmMismatch => DenyReason::BadSignature,
        E::CertExpired { not_after, .. } => DenyReason::Expired {
            not_after: seconds(not_after),
        },
        E::CertNotValidYet { not_before, .. } => DenyReason::NotYetValid {
            not_before: seconds(not_before),
        },
        E::CaUsedAsEndEntity => DenyReason::WrongOrder,
        E::RequiredEkuNotFoundContext(_) => DenyReason::ChainInvalid(format!(
            "the leaf's extended key usage does not allow TLS {} authentication",
            match usage {
                Usage::Client => "client",
                Usage::Server => "server",
            }
        )),
        other => DenyReason::ChainInvalid(format!("{other:?}")),
    }
}
