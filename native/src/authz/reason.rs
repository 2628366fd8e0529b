//! Why a client certificate was refused.
//!
//! Every refusal has its own variant, so an operator reading Trino's log (or a test) can
//! tell a forged certificate from an expired one, a Consul intention from an unreachable
//! agent. [`DenyReason::code`] gives a stable, machine-readable name for each.

use std::time::{Duration, UNIX_EPOCH};

/// The reason an authorization was denied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DenyReason {
    /// The client presented no certificate at all.
    #[error("no peer certificate was presented")]
    EmptyChain,

    /// The client presented more certificates than any Connect chain has.
    #[error("the peer presented {count} certificates; at most {max} are accepted")]
    ChainTooLong {
        /// How many were presented.
        count: usize,
        /// The limit.
        max: usize,
    },

    /// A certificate of the chain is not a well-formed X.509 certificate.
    #[error("certificate #{index} of the peer chain is malformed: {detail}")]
    Malformed {
        /// Position in the presented chain (0 = leaf).
        index: usize,
        /// What is wrong with it.
        detail: String,
    },

    /// The chain carries a certificate that its verified path does not use and that is
    /// not published with the current roots (padding, a duplicate, a certificate of
    /// another CA). A Connect client presents its leaf and at most the intermediates of
    /// its path to a current root (and certificates Consul publishes with the roots, such
    /// as a cross-signed root); anything else is refused, so that padding cannot multiply
    /// the cached decisions of one identity.
    #[error("certificate #{index} of the peer chain is neither part of its verified path to a Consul CA root nor published with the roots (extra or repeated certificate)")]
    UnusedCertificate {
        /// Position in the presented chain (1 = first after the leaf).
        index: usize,
    },

    /// The first certificate is a CA certificate: the chain is out of order (the leaf
    /// must come first) or the peer presented a CA as its identity.
    #[error("the first certificate of the peer chain is a CA certificate, not a leaf (chain out of order?)")]
    WrongOrder,

    /// No Consul CA roots are known yet (the identity has not been fetched).
    #[error("no Consul CA roots are available yet; cannot verify peer certificates")]
    NoRoots,

    /// The leaf carries no URI subject alternative name, so it names no Connect service.
    #[error(
        "the peer certificate carries no SPIFFE id (no URI SAN): not a Consul Connect certificate"
    )]
    NoSpiffeId,

    /// The leaf carries several URI SANs; a Connect leaf has exactly one.
    #[error("the peer certificate carries {0} URI SANs; a Consul Connect leaf has exactly one")]
    MultipleUris(usize),

    /// The single URI SAN is not the SPIFFE id of a Connect *service* (e.g. an agent or
    /// mesh-gateway id, or not a SPIFFE id at all).
    #[error("the peer's URI SAN `{uri}` is not a Consul Connect service identity: {detail}")]
    NotAService {
        /// The URI (shortened when long).
        uri: String,
        /// What is wrong with it.
        detail: String,
    },

    /// The SPIFFE id belongs to another trust domain than this cluster's.
    #[error("the peer's trust domain `{found}` is not this cluster's `{expected}`")]
    ForeignTrustDomain {
        /// Trust domain of the client's SPIFFE id.
        found: String,
        /// The trust domain of the current Consul roots.
        expected: String,
    },

    /// A certificate of the chain has expired.
    #[error("the peer certificate expired at {}", rfc3339(*not_after))]
    Expired {
        /// End of validity, seconds since the epoch.
        not_after: i64,
    },

    /// A certificate of the chain is not valid yet.
    #[error("the peer certificate is not valid before {}", rfc3339(*not_before))]
    NotYetValid {
        /// Start of validity, seconds since the epoch.
        not_before: i64,
    },

    /// The chain does not lead to any of the current Consul CA roots.
    #[error("the peer certificate was not issued by a current Consul CA root (unknown issuer)")]
    UnknownIssuer,

    /// A signature in the chain does not verify (forged or corrupted certificate).
    #[error("a signature in the peer chain does not verify against the Consul CA (forged or corrupted certificate)")]
    BadSignature,

    /// Chain verification failed for another reason.
    #[error("the peer chain does not verify: {0}")]
    ChainInvalid(String),

    /// The requested target is not a valid Consul service name.
    #[error("`{0}` is not a valid Consul service name")]
    InvalidTarget(String),

    /// Consul intentions deny the connection.
    #[error("denied by Consul intentions: {reason}")]
    Denied {
        /// Consul's explanation.
        reason: String,
    },

    /// The matching intention carries HTTP (layer-7) permissions. Consul's authorize
    /// endpoint is a layer-4 check and answers *deny* for such intentions.
    #[error("the Consul intention that matches carries HTTP permissions, which Consul's layer-4 authorize check always denies; use an allow/deny intention for this service: {reason}")]
    IntentionHasHttpPermissions {
        /// Consul's explanation.
        reason: String,
    },

    /// No decision could be obtained (agent unreachable, timed out or answering nonsense).
    #[error("cannot get an authorization decision from Consul: {0}")]
    AgentUnavailable(String),
}

impl DenyReason {
    /// Every code, in the order of [`DenyReason::index`] (the metrics' order).
    pub const CODES: [&'static str; 19] = [
        "empty-chain",
        "chain-too-long",
        "malformed",
        "unused-certificate",
        "wrong-order",
        "no-roots",
        "no-spiffe-id",
        "multiple-uris",
        "not-a-service",
        "foreign-trust-domain",
        "expired",
        "not-yet-valid",
        "unknown-issuer",
        "bad-signature",
        "chain-invalid",
        "invalid-target",
        "denied",
        "intention-has-http-permissions",
        "agent-unavailable",
    ];

    /// A stable, machine-readable name of the reason (kebab-case).
    pub fn code(&self) -> &'static str {
        Self::CODES[self.index()]
    }

    /// The position of this reason's code in [`DenyReason::CODES`].
    pub fn index(&self) -> usize {
        match self {
            DenyReason::EmptyChain => 0,
            DenyReason::ChainTooLong { .. } => 1,
            DenyReason::Malformed { .. } => 2,
            DenyReason::UnusedCertificate { .. } => 3,
            DenyReason::WrongOrder => 4,
            DenyReason::NoRoots => 5,
            DenyReason::NoSpiffeId => 6,
            DenyReason::MultipleUris(_) => 7,
            DenyReason::NotAService { .. } => 8,
            DenyReason::ForeignTrustDomain { .. } => 9,
            DenyReason::Expired { .. } => 10,
            DenyReason::NotYetValid { .. } => 11,
            DenyReason::UnknownIssuer => 12,
            DenyReason::BadSignature => 13,
            DenyReason::ChainInvalid(_) => 14,
            DenyReason::InvalidTarget(_) => 15,
            DenyReason::Denied { .. } => 16,
            DenyReason::IntentionHasHttpPermissions { .. } => 17,
            DenyReason::AgentUnavailable(_) => 18,
        }
    }

    /// True when the caller's own argument is wrong (a target that is not a service
    /// name), not the peer's certificates: the JNI layer turns these into
    /// `IllegalArgumentException`. Everything about the presented chain, even bytes that
    /// are not a certificate, is the peer's doing and stays a refusal with its code.
    pub fn is_caller_error(&self) -> bool {
        matches!(self, DenyReason::InvalidTarget(_))
    }

    /// True when the refusal comes from Consul's decision (intentions), false when it
    /// comes from certificate verification or from a failure to get a decision.
    pub fn is_intention(&self) -> bool {
        matches!(
            self,
            DenyReason::Denied { .. } | DenyReason::IntentionHasHttpPermissions { .. }
        )
    }
}

/// RFC 3339 rendering of seconds since the epoch (for messages).
fn rfc3339(seconds: i64) -> String {
    match u64::try_from(seconds) {
        Ok(s) => humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(s)).to_string(),
        Err(_) => format!("{seconds} (before 1970)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_messages_name_the_problem() {
        let all = [
            DenyReason::EmptyChain,
            DenyReason::ChainTooLong { count: 20, max: 8 },
            DenyReason::Malformed {
                index: 1,
                detail: "x".into(),
            },
            DenyReason::UnusedCertificate { index: 1 },
            DenyReason::WrongOrder,
            DenyReason::NoRoots,
            DenyReason::NoSpiffeId,
            DenyReason::MultipleUris(2),
            DenyReason::NotAService {
                uri: "u".into(),
                detail: "d".into(),
            },
            DenyReason::ForeignTrustDomain {
                found: "a".into(),
                expected: "b".into(),
            },
            DenyReason::Expired { not_after: 0 },
            DenyReason::NotYetValid { not_before: 0 },
            DenyReason::UnknownIssuer,
            DenyReason::BadSignature,
            DenyReason::ChainInvalid("x".into()),
            DenyReason::InvalidTarget("x y".into()),
            DenyReason::Denied { reason: "r".into() },
            DenyReason::IntentionHasHttpPermissions { reason: "r".into() },
            DenyReason::AgentUnavailable("down".into()),
        ];
        let codes: std::collections::BTreeSet<_> = all.iter().map(DenyReason::code).collect();
        assert_eq!(codes.len(), all.len());
        // Every variant has its own index, and CODES lists every code once.
        assert_eq!(DenyReason::CODES.len(), all.len());
        for (i, reason) in all.iter().enumerate() {
            assert_eq!(reason.index(), i, "{reason:?}");
        }
        assert_eq!(
            DenyReason::Expired {
                not_after: 1_700_000_000
            }
            .to_string(),
            "the peer certificate expired at 2023-11-14T22:13:20Z"
        );
        assert!(DenyReason::InvalidTarget("a b".into()).is_caller_error());
        assert!(!DenyReason::Malformed {
            index: 0,
            detail: String::new()
        }
        .is_caller_error());
        assert!(!DenyReason::EmptyChain.is_caller_error());
        assert!(DenyReason::Denied { reason: "r".into() }.is_intention());
    }
}
