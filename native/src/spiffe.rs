//! SPIFFE ids of Consul Connect services.
//!
//! Consul issues leaf certificates whose single URI SAN names the service:
//! `spiffe://<trust-domain>/ns/<namespace>/dc/<datacenter>/svc/<service>`, or, with an
//! Enterprise admin partition, `spiffe://<trust-domain>/ap/<partition>/ns/<namespace>/dc/<datacenter>/svc/<service>`.
//! Parsing is strict on purpose: anything that is not exactly one of those forms is
//! rejected, so a crafted URI cannot smuggle a different identity past a caller.

use crate::error::{clip, Error, Result};
use std::fmt;

/// The default partition name Consul uses when none is encoded in the id.
pub const DEFAULT_PARTITION: &str = "default";
/// The namespace every Consul has (and the only one on Consul CE).
pub const DEFAULT_NAMESPACE: &str = "default";

/// Longest SPIFFE id accepted (the SPIFFE spec caps ids at 2048 bytes).
pub const MAX_ID_LEN: usize = 2048;

/// The identity of a Connect service, as encoded in its SPIFFE id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServiceId {
    /// Trust domain, lower-cased (e.g. `<cluster-id>.consul`).
    pub trust_domain: String,
    /// Admin partition; `default` when the id carries none.
    pub partition: String,
    /// Namespace (`default` on Consul CE).
    pub namespace: String,
    /// Datacenter that issued the certificate.
    pub datacenter: String,
    /// Service name.
    pub service: String,
    /// Whether the id carried an explicit `/ap/<partition>` segment.
    pub explicit_partition: bool,
}

impl ServiceId {
    /// Parses a Connect service SPIFFE id, rejecting every other form.
    pub fn parse(uri: &str) -> Result<Self> {
        let fail = |reason: &'static str| Error::SpiffeId {
            id: clip(uri),
            reason,
        };
        if uri.is_empty() {
            return Err(fail("empty"));
        }
        if uri.len() > MAX_ID_LEN {
            return Err(fail("longer than 2048 bytes"));
        }
        let rest = strip_prefix_ignore_case(uri, "spiffe://")
            .ok_or_else(|| fail("scheme is not spiffe://"))?;
        let (host, path) = rest
            .split_once('/')
            .ok_or_else(|| fail("no path after the trust domain"))?;
        if host.is_empty() {
            return Err(fail("empty trust domain"));
        }
        if !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
        {
            return Err(fail(
                "trust domain may only hold letters, digits, '.', '-' and '_' (no port, user info or query)",
            ));
        }
        let segments: Vec<&str> = path.split('/').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(fail("empty path segment"));
        }
        if !segments.iter().all(|s| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
        }) {
            return Err(fail(
                "path segments may only hold letters, digits, '.', '-' and '_' (no escapes, query or fragment)",
            ));
        }
        let (partition, tail) = match segments.as_slice() {
            ["ap", partition, tail @ ..] => (Some(*partition), tail),
            tail => (None, tail),
        };
        match tail {
            ["ns", namespace, "dc", datacenter, "svc", service] => Ok(ServiceId {
                trust_domain: host.to_ascii_lowercase(),
                partition: partition.unwrap_or(DEFAULT_PARTITION).to_string(),
                namespace: (*namespace).to_string(),
                datacenter: (*datacenter).to_string(),
                service: (*service).to_string(),
                explicit_partition: partition.is_some(),
            }),
            ["agent", ..] => Err(fail("names a Consul agent, not a service")),
            ["gateway", ..] => Err(fail("names a mesh gateway, not a service")),
            _ => Err(fail(
                "path is not /ns/<ns>/dc/<dc>/svc/<service> (optionally after /ap/<partition>)",
            )),
        }
    }

    /// The canonical URI form of this id.
    pub fn to_uri(&self) -> String {
        self.to_string()
    }

    /// The service qualified as much as needed to be unique in the trust domain, in
    /// Consul's own notation: `web` in the default namespace and partition,
    /// `team-b/web` in namespace `team-b`, `part-1/team-b/web` in a partition other than
    /// `default` (any namespace). Service, namespace and partition names cannot hold `/`,
    /// so two identities never share a qualified name. The datacenter is left out: Consul
    /// intentions, and so our decisions, do not depend on it.
    pub fn qualified_name(&self) -> String {
        if self.partition != DEFAULT_PARTITION {
            format!("{}/{}/{}", self.partition, self.namespace, self.service)
        } else if self.namespace != DEFAULT_NAMESPACE {
            format!("{}/{}", self.namespace, self.service)
        } else {
            self.service.clone()
        }
    }

    /// The groups this identity belongs to, for Trino's access control:
    /// `consul:service:<qualified name>`, `consul:namespace:<namespace>` (partition-qualified
    /// outside the default partition: `consul:namespace:<partition>/<namespace>`),
    /// `consul:partition:<partition>` and `consul:datacenter:<datacenter>`.
    pub fn groups(&self) -> Vec<String> {
        let namespace = if self.partition != DEFAULT_PARTITION {
            format!("{}/{}", self.partition, self.namespace)
        } else {
            self.namespace.clone()
        };
        vec![
            format!("consul:service:{}", self.qualified_name()),
            format!("consul:namespace:{namespace}"),
            format!("consul:partition:{}", self.partition),
            format!("consul:datacenter:{}", self.datacenter),
        ]
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spiffe://{}", self.trust_domain)?;
        if self.explicit_partition {
            write!(f, "/ap/{}", self.partition)?;
        }
        write!(
            f,
            "/ns/{}/dc/{}/svc/{}",
            self.namespace, self.datacenter, self.service
        )
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trino users and groups from every Enterprise form: the default namespace and
    /// partition keep the bare name; everything else is qualified; no two identities that
    /// differ in namespace or partition share a user.
    #[test]
    fn qualified_names_and_groups_never_collide_across_tenants() {
        let td = "11111111-2222-3333-4444-555555555555.consul";
        let id = |path: &str| ServiceId::parse(&format!("spiffe://{td}{path}")).unwrap();
        let forms = [
            ("/ns/default/dc/dc1/svc/admin", "admin"),
            ("/ns/default/dc/dc2/svc/admin", "admin"),
            ("/ap/default/ns/default/dc/dc1/svc/admin", "admin"),
            ("/ns/team-b/dc/dc1/svc/admin", "team-b/admin"),
            ("/ap/default/ns/team-b/dc/dc1/svc/admin", "team-b/admin"),
            (
                "/ap/part-1/ns/default/dc/dc1/svc/admin",
                "part-1/default/admin",
            ),
            (
                "/ap/part-1/ns/team-b/dc/dc1/svc/admin",
                "part-1/team-b/admin",
            ),
            ("/ns/default/dc/dc1/svc/team-b", "team-b"),
        ];
        for (path, user) in forms {
            assert_eq!(id(path).qualified_name(), user, "{path}");
        }
        // Distinct (partition, namespace, service) triples give distinct users.
        let mut seen = std::collections::BTreeMap::new();
        for (path, _) in forms {
            let i = id(path);
            let key = (i.partition.clone(), i.namespace.clone(), i.service.clone());
            let user = i.qualified_name();
            if let Some(other) = seen.insert(user.clone(), key.clone()) {
                assert_eq!(other, key, "{user} names two identities");
            }
        }
        assert_eq!(
            id("/ap/part-1/ns/team-b/dc/dc2/svc/admin").groups(),
            [
                "consul:service:part-1/team-b/admin",
                "consul:namespace:part-1/team-b",
                "consul:partition:part-1",
                "consul:datacenter:dc2"
            ]
        );
        assert_eq!(
            id("/ns/default/dc/dc1/svc/web").groups(),
            [
                "consul:service:web",
                "consul:namespace:default",
                "consul:partition:default",
                "consul:datacenter:dc1"
            ]
        );
    }

    #[test]
    fn parses_plain_service_id() {
        let id = ServiceId::parse(
            "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web",
        )
        .unwrap();
        assert_eq!(
            id.trust_domain,
            "11111111-2222-3333-4444-555555555555.consul"
        );
        assert_eq!(id.partition, "default");
        assert_eq!(id.namespace, "default");
        assert_eq!(id.datacenter, "dc1");
        assert_eq!(id.service, "web");
        assert!(!id.explicit_partition);
    }

    #[test]
    fn parses_partition_form_and_round_trips() {
        let uri = "spiffe://td.consul/ap/part1/ns/ns1/dc/dc2/svc/api";
        let id = ServiceId::parse(uri).unwrap();
        assert_eq!(
            (
                &*id.partition,
                &*id.namespace,
                &*id.datacenter,
                &*id.service
            ),
            ("part1", "ns1", "dc2", "api")
        );
        assert_eq!(id.to_uri(), uri);
    }

    #[test]
    fn trust_domain_is_case_insensitive() {
        let id = ServiceId::parse("SPIFFE://TD.Consul/ns/default/dc/dc1/svc/web").unwrap();
        assert_eq!(id.trust_domain, "td.consul");
    }

    #[test]
    fn rejects_everything_else() {
        for (bad, why) in [
            ("", "empty"),
            ("http://td/ns/default/dc/dc1/svc/web", "scheme"),
            ("spiffe://td", "no path"),
            ("spiffe:///ns/default/dc/dc1/svc/web", "empty trust domain"),
            ("spiffe://td:8080/ns/default/dc/dc1/svc/web", "trust domain"),
            ("spiffe://user@td/ns/default/dc/dc1/svc/web", "trust domain"),
            ("spiffe://td/ns/default/dc/dc1/svc/web/extra", "path is not"),
            ("spiffe://td/ns/default/dc/dc1/svc/", "empty path segment"),
            ("spiffe://td/ns/default/dc/dc1/svc/w%65b", "path segments"),
            ("spiffe://td/ns/default/dc/dc1/svc/web?x=1", "path segments"),
            ("spiffe://td/agent/client/dc/dc1/id/node", "agent"),
            ("spiffe://td/gateway/mesh/dc/dc1", "gateway"),
            (
                "spiffe://td/ap/p/ap/q/ns/default/dc/dc1/svc/web",
                "path is not",
            ),
        ] {
            let err = ServiceId::parse(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
        let long = format!("spiffe://td/ns/default/dc/dc1/svc/{}", "a".repeat(3000));
        assert!(ServiceId::parse(&long)
            .unwrap_err()
            .to_string()
            .contains("2048"));
    }
}
