//! The crate's error type.
//!
//! Every failure the core can report is a variant here, so the FFI edge can map each kind
//! to the right Java exception (or C status code) without parsing messages. Messages are
//! written for a Trino operator: they say what was wrong and where, and never contain
//! tokens or key material.

use std::path::PathBuf;

/// Errors reported by the Consul Connect core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration key is unknown or its value is malformed.
    #[error("configuration key `{key}`: {reason}")]
    Config {
        /// The offending key (property name or environment variable).
        key: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The caller passed an argument that cannot be used (null, empty, oversized, garbage).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A SPIFFE id is malformed or not of the expected Connect form.
    #[error("invalid SPIFFE id `{id}`: {reason}")]
    SpiffeId {
        /// The id as given (truncated when very long).
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// Certificate or key material is malformed, mismatched or fails verification.
    #[error("certificate rejected: {0}")]
    Certificate(#[from] CertificateError),

    /// A request to the Consul agent failed or returned something unusable.
    #[error("Consul agent {endpoint}: {reason}")]
    Agent {
        /// The endpoint, without query string or token.
        endpoint: String,
        /// What went wrong.
        reason: String,
    },

    /// A file could not be read or written.
    #[error("file {path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The handle was closed, or the background runtime is gone.
    #[error("the Consul Connect handle is closed")]
    Closed,

    /// No material is available yet (first fetch has not succeeded).
    #[error("no Consul Connect identity available yet: {0}")]
    NotReady(String),

    /// The background runtime (the threads the watchers run on) could not be started.
    #[error("cannot start the background runtime: {0}")]
    Runtime(String),

    /// A bug: a component failed in a way it never should (e.g. a panicking decision
    /// source). Reported, never turned into an allow.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why certificate or key material was rejected: one variant per cause, so callers decide
/// by type (the publisher keeps a leaf whose issuer is not known *yet*), never by text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// A PEM text could not be decoded.
    #[error("{what}: malformed PEM: {detail}")]
    MalformedPem {
        /// What the PEM was meant to hold.
        what: String,
        /// The decoder's complaint.
        detail: String,
    },
    /// A PEM text holds no certificate.
    #[error("{what}: no CERTIFICATE block")]
    NoCertificateBlock {
        /// What the PEM was meant to hold.
        what: String,
    },
    /// A PEM text holds no private key that can be used.
    #[error("{what}: no usable private key in PEM: {detail}")]
    NoPrivateKey {
        /// What the PEM was meant to hold.
        what: String,
        /// The decoder's complaint.
        detail: String,
    },
    /// Zero bytes where a certificate was expected.
    #[error("empty certificate")]
    Empty,
    /// A certificate larger than any Connect certificate.
    #[error("certificate of {len} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Bytes after the certificate's DER.
    #[error("trailing bytes after the certificate")]
    TrailingBytes,
    /// Not a DER certificate.
    #[error("malformed DER: {0}")]
    MalformedDer(String),
    /// The subjectAltName extension cannot be read.
    #[error("malformed subjectAltName: {0}")]
    MalformedSan(String),
    /// A leaf without a URI SAN.
    #[error("leaf has no URI SAN (not a Connect certificate)")]
    NoUri,
    /// A leaf with more than one URI SAN.
    #[error("leaf has {0} URI SANs; a Connect leaf has exactly one")]
    SeveralUris(usize),
    /// No certificate in a chain.
    #[error("empty certificate chain")]
    EmptyChain,
    /// None of the roots can serve as a trust anchor.
    #[error("no usable CA root")]
    NoUsableRoot,
    /// The leaf cannot be used for path building.
    #[error("leaf is not a usable certificate: {0}")]
    UnusableLeaf(String),
    /// The chain leads to no current root.
    #[error("chain does not lead to a current Consul CA root (unknown issuer)")]
    UnknownIssuer,
    /// A certificate of the chain has expired.
    #[error("certificate has expired")]
    Expired,
    /// A certificate of the chain is not valid yet.
    #[error("certificate is not valid yet")]
    NotValidYet,
    /// A signature in the chain does not verify.
    #[error("bad signature in the chain")]
    BadSignature,
    /// Any other path-building failure.
    #[error("chain verification failed: {0}")]
    ChainInvalid(String),
    /// A private key that cannot be decoded, converted or used.
    #[error("{0}")]
    UnusableKey(String),
    /// The private key belongs to another certificate.
    #[error("private key does not match the certificate")]
    KeyMismatch,
    /// Key and certificate could not be compared.
    #[error("cannot compare key and certificate: {0}")]
    KeyComparison(String),
    /// A leaf names another service than ours.
    #[error("leaf names service `{found}`, expected `{expected}`")]
    WrongService {
        /// The service the leaf names.
        found: String,
        /// Our service.
        expected: String,
    },
    /// A leaf's trust domain is not the roots'.
    #[error("leaf trust domain `{found}` differs from the roots' `{expected}`")]
    ForeignTrustDomain {
        /// The leaf's trust domain.
        found: String,
        /// The roots' trust domain.
        expected: String,
    },
    /// A leaf past its validity period (expired).
    #[error("leaf {serial} is outside its validity period")]
    OutsideValidity {
        /// The leaf's serial.
        serial: String,
    },
    /// A leaf whose validity period has not begun on this node's clock. Time can fix
    /// this: the publisher keeps such a leaf and looks at it again.
    #[error(
        "leaf {serial} is not valid before {} (is this node's clock behind the CA's?); \
         checked again when it becomes valid",
        humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs((*not_before).max(0) as u64)
        )
    )]
    NotValidBefore {
        /// The leaf's serial.
        serial: String,
        /// Its notBefore, seconds since the epoch.
        not_before: i64,
    },
    /// An update that breaks a publishing rule (no root, no trust domain, no certificate,
    /// a file that must not be written).
    #[error("{0}")]
    Rejected(String),
}

impl Error {
    /// True when the error was caused by the caller's input rather than by the
    /// environment; the JNI layer maps these to `IllegalArgumentException`.
    pub fn is_invalid_argument(&self) -> bool {
        matches!(
            self,
            Error::InvalidArgument(_) | Error::SpiffeId { .. } | Error::Config { .. }
        )
    }

    /// Builds a [`Error::Config`].
    pub fn config(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// Builds a [`Error::Agent`].
    pub fn agent(endpoint: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Agent {
            endpoint: endpoint.into(),
            reason: reason.into(),
        }
    }

    /// Builds a [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Makes untrusted text safe to put into an error message (and so into a log line): at
/// most 200 bytes (then `…`), and every control character and every invisible
/// direction or width formatting character (U+200B–U+200F, U+202A–U+202E, U+2066–U+2069,
/// U+FEFF) written as an escape such as `\n` or `\u{202e}`, so a peer's text can neither
/// start a forged log line nor reorder what an operator reads.
pub(crate) fn clip(text: &str) -> String {
    const MAX: usize = 200;
    let mut end = text.len().min(MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + 8);
    for c in text[..end].chars() {
        if c.is_control() || is_invisible_format(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if end < text.len() {
        out.push('…');
    }
    out
}

/// Zero-width and bidirectional formatting characters (Unicode category Cf that matter
/// for display): they change how a line reads without being seen.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn clip_escapes_what_could_forge_or_reorder_a_log_line() {
        assert_eq!(
            clip("spiffe://td/svc/web\n2026-01-01 INFO allowed admin"),
            "spiffe://td/svc/web\\n2026-01-01 INFO allowed admin"
        );
        assert_eq!(clip("a\r\u{1b}[31mb\u{0}"), "a\\r\\u{1b}[31mb\\u{0}");
        assert_eq!(clip("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(clip("zero\u{200b}width"), "zero\\u{200b}width");
        // Printable text, non-ASCII included, is kept as it is.
        assert_eq!(clip("café/ns/default"), "café/ns/default");
    }

    #[test]
    fn clip_bounds_length_on_a_char_boundary() {
        let long = "é".repeat(150); // 300 bytes
        let clipped = clip(&long);
        assert!(clipped.ends_with('…'));
        assert_eq!(clipped.chars().count(), 101);
        assert_eq!(clip("short"), "short");
    }
}
