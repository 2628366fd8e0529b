//! Verification of the peer of one TLS connection, for endpoints that do their own TLS
//! (the JCA trust manager; any other embedding).
//!
//! Two steps, both in the core so every language binding behaves the same:
//!
//! 1. the presented chain is verified against the current Consul roots with
//!    [`crate::authz::verify_peer`], the function the authenticator uses (roots and their
//!    intermediates, validity, exactly one Connect service SPIFFE id, trust domain);
//! 2. the verified identity is compared with the one the caller meant to reach
//!    ([`Expected`]), as Consul's Go `connect` package does when it dials a service: the
//!    peer's certificate names no host, so its SPIFFE id takes the place of host-name
//!    verification.
//!
//! Authorization by intentions is a separate, later step (see [`crate::authz`]).

use crate::authz::{verify_peer, DenyReason, Peer};
use crate::error::{clip, Error, Result};
use crate::identity::Snapshot;
use crate::spiffe::ServiceId;
use crate::x509::Usage;
use std::fmt;
use std::time::SystemTime;

/// Which end of the connection this process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// We dialed: the peer is a TLS server and must be the service we expected.
    Client,
    /// We accepted: the peer is a TLS client.
    Server,
}

impl Side {
    /// The role of the *peer* in words (for messages).
    pub fn peer_role(self) -> &'static str {
        match self {
            Side::Client => "server",
            Side::Server => "client",
        }
    }

    fn peer_usage(self) -> Usage {
        match self {
            Side::Client => Usage::Server,
            Side::Server => Usage::Client,
        }
    }
}

/// The identity a caller expects its peer to have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// `*`: any Connect service of our trust domain (an explicit choice, never a default).
    AnyService,
    /// A service name: that service in our own namespace and partition, in any datacenter
    /// of the trust domain. Consul intentions name services the same way (datacenters
    /// are not part of an intention), so this is the identity intentions authorize.
    Service(String),
    /// A full SPIFFE id: trust domain, partition, namespace, datacenter and service must
    /// all be equal.
    SpiffeId(ServiceId),
    /// A comma-separated list of the forms above: the peer must be one of them (for
    /// example a Trino coordinator and its workers running as two services).
    OneOf(Vec<Expected>),
}

impl Expected {
    /// Parses `*`, a service name, or a service SPIFFE id (`spiffe://…/svc/<name>`), or a
    /// comma-separated list of these.
    pub fn parse(text: &str) -> Result<Expected> {
        if text.contains(',') {
            let items = text
                .split(',')
                .map(Expected::parse_one)
                .collect::<Result<Vec<_>>>()?;
            return Ok(Expected::OneOf(items));
        }
        Expected::parse_one(text)
    }

    fn parse_one(text: &str) -> Result<Expected> {
        let text = text.trim();
        if text == "*" {
            return Ok(Expected::AnyService);
        }
        if text
            .get(..9)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("spiffe://"))
        {
            return Ok(Expected::SpiffeId(ServiceId::parse(text)?));
        }
        if valid_service_name(text) {
            return Ok(Expected::Service(text.to_string()));
        }
        Err(Error::InvalidArgument(format!(
            "expected peer identity `{}` is not `*`, a Consul service name or a service SPIFFE id",
            clip(text)
        )))
    }

    /// Whether `peer` is the expected identity; `own` is this process's identity (its
    /// namespace and partition complete a bare service name).
    pub fn matches(&self, peer: &ServiceId, own: &ServiceId) -> bool {
        match self {
            Expected::AnyService => true,
            Expected::Service(name) => {
                peer.service == *name
                    && peer.namespace == own.namespace
                    && peer.partition == own.partition
            }
            Expected::SpiffeId(id) => {
                peer.trust_domain.eq_ignore_ascii_case(&id.trust_domain)
                    && peer.partition == id.partition
                    && peer.namespace == id.namespace
                    && peer.datacenter == id.datacenter
                    && peer.service == id.service
            }
            Expected::OneOf(items) => items.iter().any(|e| e.matches(peer, own)),
        }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::AnyService => f.write_str("*"),
            Expected::Service(name) => f.write_str(name),
            Expected::SpiffeId(id) => write!(f, "{id}"),
            Expected::OneOf(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                Ok(())
            }
        }
    }
}

/// Why a peer was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The chain does not verify against the current roots (or none are known yet).
    Unverified {
        /// Our end of the connection.
        side: Side,
        /// The verification failure.
        reason: DenyReason,
    },
    /// The chain verified, but names another service than the one expected.
    Unexpected {
        /// What the caller expected, as configured.
        expected: String,
        /// The peer's SPIFFE id.
        found: String,
    },
    /// We are the client and no expected server identity was given: refusing is the
    /// only safe answer, since any service of the mesh could otherwise pose as the one
    /// meant.
    NoExpectation,
}

impl Refusal {
    /// A stable, machine-readable name (the [`DenyReason::code`] for verification
    /// failures).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Unverified { reason, .. } => reason.code(),
            Refusal::Unexpected { .. } => "unexpected-identity",
            Refusal::NoExpectation => "no-expected-identity",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Unverified { side, reason } => write!(
                f,
                "Consul Connect refused the {} certificate: {reason}",
                side.peer_role()
            ),
            Refusal::Unexpected { expected, found } => write!(
                f,
                "Consul Connect refused the server certificate: it belongs to `{found}`, \
                 not to the expected service `{expected}`"
            ),
            Refusal::NoExpectation => f.write_str(
                "Consul Connect refused the server certificate: no expected server identity \
                 is configured (set the service name or SPIFFE id to reach, or `*` for any \
                 service of the trust domain)",
            ),
        }
    }
}

impl std::error::Error for Refusal {}

/// Verifies the chain a peer presented (DER, leaf first) against `snapshot` at `now`,
/// then checks it is `expected` (required when `side` is [`Side::Client`]).
///
/// `snapshot` is `None` before the identity's first snapshot: every peer is refused.
pub fn verify<C: AsRef<[u8]>>(
    snapshot: Option<&Snapshot>,
    chain: &[C],
    side: Side,
    expected: Option<&Expected>,
    now: SystemTime,
) -> std::result::Result<Peer, Refusal> {
    if side == Side::Client && expected.is_none() {
        return Err(Refusal::NoExpectation);
    }
    let unverified = |reason| Refusal::Unverified { side, reason };
    let snapshot = snapshot.ok_or_else(|| unverified(DenyReason::NoRoots))?;
    let peer = verify_peer(chain, &snapshot.roots, now, side.peer_usage()).map_err(unverified)?;
    if let Some(expected) = expected {
        if !expected.matches(&peer.id, &snapshot.leaf.info.id) {
            return Err(Refusal::Unexpected {
                expected: expected.to_string(),
                found: peer.spiffe_id.clone(),
            });
        }
    }
    Ok(peer)
}

/// Service names as Consul allows them (letters, digits, '-', '_', '.').
fn valid_service_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{service_uri, Ca, LeafSpec};

    fn id(uri: &str) -> ServiceId {
        ServiceId::parse(uri).unwrap()
    }

    #[test]
    fn a_client_accepts_the_expected_server_only() {
        let ca = Ca::new("ca");
        let web = ca.snapshot("web");
        let now = SystemTime::now();
        let trino = Expected::parse("trino").unwrap();
        let peer = verify(
            Some(&web),
            &[ca.leaf("trino")],
            Side::Client,
            Some(&trino),
            now,
        )
        .unwrap();
        assert_eq!(peer.spiffe_id, service_uri("trino"));
        let refused = verify(
            Some(&web),
            &[ca.leaf("api")],
            Side::Client,
            Some(&trino),
            now,
        )
        .unwrap_err();
        assert_eq!(refused.code(), "unexpected-identity");
        assert!(refused.to_string().contains("/svc/api"), "{refused}");
        assert!(refused.to_string().contains("`trino`"), "{refused}");
    }

    #[test]
    fn a_server_accepts_any_verified_client_and_checks_the_usage() {
        let ca = Ca::new("ca");
        let trino = ca.snapshot("trino");
        let now = SystemTime::now();
        let peer = verify(Some(&trino), &[ca.leaf("web")], Side::Server, None, now).unwrap();
        assert_eq!(peer.id.service, "web");
        // A leaf that may only authenticate servers is no client, and vice versa.
        let server_only = ca.issue(LeafSpec::service("web").only_for(Usage::Server));
        let r = verify(Some(&trino), &[&server_only], Side::Server, None, now).unwrap_err();
        assert_eq!(r.code(), "chain-invalid", "{r}");
        let client_only = ca.issue(LeafSpec::service("trino").only_for(Usage::Client));
        let any = Expected::AnyService;
        let r = verify(Some(&trino), &[&client_only], Side::Client, Some(&any), now).unwrap_err();
        assert_eq!(r.code(), "chain-invalid", "{r}");
    }

    #[test]
    fn another_ca_is_refused_on_both_sides() {
        let (ours, theirs) = (Ca::new("ours"), Ca::new("theirs"));
        let snapshot = ours.snapshot("web");
        let now = SystemTime::now();
        let any = Expected::AnyService;
        let forged = theirs.leaf("trino");
        let r = verify(Some(&snapshot), &[&forged], Side::Client, Some(&any), now).unwrap_err();
        assert_eq!(r.code(), "unknown-issuer");
        assert!(
            r.to_string()
                .starts_with("Consul Connect refused the server certificate"),
            "{r}"
        );
        let r = verify(Some(&snapshot), &[&forged], Side::Server, None, now).unwrap_err();
        assert_eq!(r.code(), "unknown-issuer");
        assert!(
            r.to_string()
                .starts_with("Consul Connect refused the client certificate"),
            "{r}"
        );
    }

    /// `text` is refused because its member `item` is no expected identity.
    fn assert_not_an_identity(text: &str, item: &str) {
        let err = Expected::parse(text).unwrap_err();
        let Error::InvalidArgument(message) = &err else {
            panic!("{text:?}: {err:?}");
        };
        assert_eq!(
            message,
            &format!(
                "expected peer identity `{item}` is not `*`, a Consul service name or a service \
                 SPIFFE id"
            ),
            "{text:?}"
        );
        assert!(err.is_invalid_argument());
    }

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(Expected::parse(" * ").unwrap(), Expected::AnyService);
        assert_eq!(
            Expected::parse("trino").unwrap(),
            Expected::Service("trino".into())
        );
        let e = Expected::parse("SPIFFE://TD.consul/ns/default/dc/dc1/svc/trino").unwrap();
        assert_eq!(
            e.to_string(),
            "spiffe://td.consul/ns/default/dc/dc1/svc/trino"
        );
        for bad in ["", "a b", "trino/x", "**"] {
            assert_not_an_identity(bad, bad);
        }
        let err = Expected::parse("spiffe://td/agent/client/dc/dc1/id/n").unwrap_err();
        assert!(
            matches!(err, Error::SpiffeId { reason, .. } if reason.contains("Consul agent")),
            "{err}"
        );
        assert!(err.is_invalid_argument());
    }

    #[test]
    fn service_names_match_in_our_namespace_and_partition_in_any_datacenter() {
        let own = id("spiffe://td/ns/default/dc/dc1/svc/web");
        let trino = Expected::parse("trino").unwrap();
        assert!(trino.matches(&id("spiffe://td/ns/default/dc/dc1/svc/trino"), &own));
        assert!(trino.matches(&id("spiffe://td/ns/default/dc/dc2/svc/trino"), &own));
        assert!(!trino.matches(&id("spiffe://td/ns/default/dc/dc1/svc/api"), &own));
        assert!(!trino.matches(&id("spiffe://td/ns/other/dc/dc1/svc/trino"), &own));
        assert!(!trino.matches(&id("spiffe://td/ap/p2/ns/default/dc/dc1/svc/trino"), &own));
        // The default partition, explicit or implicit, is the same partition.
        assert!(trino.matches(
            &id("spiffe://td/ap/default/ns/default/dc/dc1/svc/trino"),
            &own
        ));
    }

    #[test]
    fn a_list_matches_any_of_its_members() {
        let own = id("spiffe://td/ns/default/dc/dc1/svc/web");
        let e = Expected::parse(" trino-coordinator, trino-worker ").unwrap();
        assert_eq!(e.to_string(), "trino-coordinator,trino-worker");
        assert!(e.matches(&id("spiffe://td/ns/default/dc/dc1/svc/trino-worker"), &own));
        assert!(e.matches(
            &id("spiffe://td/ns/default/dc/dc2/svc/trino-coordinator"),
            &own
        ));
        assert!(!e.matches(&id("spiffe://td/ns/default/dc/dc1/svc/trino"), &own));
        assert!(!e.matches(&id("spiffe://td/ns/other/dc/dc1/svc/trino-worker"), &own));
        let mixed = Expected::parse("trino,spiffe://TD/ns/ops/dc/dc1/svc/admin").unwrap();
        assert!(mixed.matches(&id("spiffe://td/ns/ops/dc/dc1/svc/admin"), &own));
        assert!(!mixed.matches(&id("spiffe://td/ns/ops/dc/dc1/svc/trino"), &own));
        for (bad, item) in [
            ("trino,", ""),
            (",trino", ""),
            ("trino,,web", ""),
            ("trino,a b", "a b"),
            ("ünï,trino", "ünï"),
        ] {
            assert_not_an_identity(bad, item);
        }
    }

    #[test]
    fn non_ascii_input_is_refused_without_a_panic() {
        // Byte 9 falls inside a multi-byte character: slicing by bytes would panic.
        for bad in [
            "spiffe:/é/ns/default",
            "ünïcödé-service",
            "spiffe:/\u{1F600}",
        ] {
            assert_not_an_identity(bad, bad);
            assert_not_an_identity(&format!("trino,{bad}"), bad);
        }
        // A non-ASCII service inside a SPIFFE id is the SPIFFE parser's refusal.
        let err = Expected::parse("spiffe://td/ns/default/dc/dc1/svc/trïno").unwrap_err();
        assert!(err.is_invalid_argument(), "{err}");
    }

    #[test]
    fn spiffe_ids_match_exactly() {
        let own = id("spiffe://td/ns/default/dc/dc1/svc/web");
        let e = Expected::parse("spiffe://td/ns/default/dc/dc1/svc/trino").unwrap();
        assert!(e.matches(&id("spiffe://TD/ns/default/dc/dc1/svc/trino"), &own));
        assert!(!e.matches(&id("spiffe://td/ns/default/dc/dc2/svc/trino"), &own));
        assert!(!e.matches(&id("spiffe://other/ns/default/dc/dc1/svc/trino"), &own));
        assert!(Expected::AnyService.matches(&id("spiffe://td/ns/x/dc/y/svc/z"), &own));
    }

    #[test]
    fn a_client_without_expectation_or_roots_refuses() {
        let chain: [&[u8]; 1] = [b"x"];
        let now = SystemTime::now();
        let r = verify(None, &chain, Side::Client, None, now).unwrap_err();
        assert_eq!(r.code(), "no-expected-identity");
        let r = verify(None, &chain, Side::Server, None, now).unwrap_err();
        assert_eq!(r.code(), "no-roots");
        assert!(r.to_string().contains("client certificate"), "{r}");
    }
}
