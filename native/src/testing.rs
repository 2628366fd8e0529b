//! Test certificates and identities, shared by the unit tests, the integration tests and the
//! benchmarks: one CA builder (rcgen, ECDSA P-256) that issues Connect-shaped leaves, and
//! the snapshot pieces ([`Leaf`], [`Roots`]) a [`Store`] publishes.
//!
//! Compiled for `cfg(test)` and with the `test-support` cargo feature only (the crate's
//! dev-dependency on itself turns it on for `tests/` and `benches/`); the shipped library
//! (`cargo build --release --lib`) never contains it.
//!
//! ```ignore
//! let ca = Ca::new("Test CA");
//! let store = Store::new();
//! ca.publish(&store, "trino"); // our own identity, and the CA as the only root
//! let web = ca.leaf("web"); // a peer's leaf, valid for an hour
//! let expired = ca.issue(LeafSpec::service("web").valid(long_ago, not_so_long_ago));
//! ```

use crate::identity::{Leaf, Root, Roots, Snapshot, Store};
use crate::x509::{self, Usage};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The trust domain of every identity made here.
pub const TRUST_DOMAIN: &str = "11111111-2222-3333-4444-555555555555.consul";

/// The SPIFFE id of `service` in [`TRUST_DOMAIN`]
/// (`spiffe://<trust domain>/ns/default/dc/dc1/svc/<service>`).
pub fn service_uri(service: &str) -> String {
    format!("spiffe://{TRUST_DOMAIN}/ns/default/dc/dc1/svc/{service}")
}

/// What a leaf says: its URI SANs, what it may authenticate, when it is valid.
///
/// Leaves are shaped as Consul issues them: an empty subject, the URIs as SANs, digital
/// signature and key agreement usage, an authority key identifier.
#[derive(Clone, Debug)]
pub struct LeafSpec {
    uris: Vec<String>,
    usage: Option<Usage>,
    not_before: SystemTime,
    not_after: SystemTime,
}

impl LeafSpec {
    /// A leaf of `service` in [`TRUST_DOMAIN`], for clients and servers, valid from a minute
    /// ago for an hour.
    pub fn service(service: &str) -> LeafSpec {
        LeafSpec::uris(&[&service_uri(service)])
    }

    /// A leaf with exactly these URI SANs (none, several, or ones that are no service
    /// SPIFFE id), for clients and servers, valid from a minute ago for an hour.
    pub fn uris(uris: &[&str]) -> LeafSpec {
        LeafSpec {
            uris: uris.iter().map(|u| (*u).to_string()).collect(),
            usage: None,
            not_before: SystemTime::now() - Duration::from_secs(60),
            not_after: SystemTime::now() + Duration::from_secs(3600),
        }
    }

    /// Authenticates one side only (a single extended key usage).
    pub fn only_for(mut self, usage: Usage) -> LeafSpec {
        self.usage = Some(usage);
        self
    }

    /// Valid from `not_before` to `not_after`.
    pub fn valid(mut self, not_before: SystemTime, not_after: SystemTime) -> LeafSpec {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }

    /// Valid from a minute ago for `lifetime`.
    pub fn lifetime(self, lifetime: Duration) -> LeafSpec {
        let now = SystemTime::now();
        self.valid(now - Duration::from_secs(60), now + lifetime)
    }

    fn params(&self) -> CertificateParams {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.subject_alt_names = self
            .uris
            .iter()
            .map(|u| SanType::URI(u.as_str().try_into().expect("URI SAN")))
            .collect();
        params.extended_key_usages = match self.usage {
            None => vec![
                ExtendedKeyUsagePurpose::ClientAuth,
                ExtendedKeyUsagePurpose::ServerAuth,
            ],
            Some(Usage::Client) => vec![ExtendedKeyUsagePurpose::ClientAuth],
            Some(Usage::Server) => vec![ExtendedKeyUsagePurpose::ServerAuth],
        };
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyAgreement,
        ];
        params.use_authority_key_identifier_extension = true;
        params.not_before = self.not_before.into();
        params.not_after = self.not_after.into();
        params
    }
}

/// A certificate authority: a self-signed root ([`Ca::new`]) or an intermediate signed by
/// another CA ([`Ca::intermediate`]).
pub struct Ca {
    params: CertificateParams,
    key: KeyPair,
    /// DER of this CA's certificate.
    pub der: Vec<u8>,
    /// PEM of this CA's certificate.
    pub pem: String,
    /// This CA's certificate and the intermediates above it, up to (without) the root:
    /// what a leaf is sent with. Empty for a root.
    intermediates: Vec<Vec<u8>>,
    /// DER of the root at the top.
    root: Vec<u8>,
}

impl Ca {
    /// A self-signed root whose subject is the common name `name`.
    pub fn new(name: &str) -> Ca {
        let key = KeyPair::generate().expect("CA key");
        let params = ca_params(name);
        let cert = params.self_signed(&key).expect("root certificate");
        Ca {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            intermediates: vec![],
            root: cert.der().to_vec(),
            params,
            key,
        }
    }

    /// An intermediate CA named `name`, signed by this CA.
    pub fn intermediate(&self, name: &str) -> Ca {
        let key = KeyPair::generate().expect("CA key");
        let params = ca_params(name);
        let cert = params
            .signed_by(&key, &self.issuer())
            .expect("intermediate certificate");
        let mut intermediates = vec![cert.der().to_vec()];
        intermediates.extend(self.intermediates.iter().cloned());
        Ca {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            intermediates,
            root: self.root.clone(),
            params,
            key,
        }
    }

    /// The CA's private key, PEM (to install it as Consul's CA).
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// Issues a leaf; returns its DER.
    pub fn issue(&self, spec: LeafSpec) -> Vec<u8> {
        self.issue_with_key(&spec).0
    }

    /// The DER of a leaf of `service` in [`TRUST_DOMAIN`], for clients and servers, valid
    /// for an hour.
    pub fn leaf(&self, service: &str) -> Vec<u8> {
        self.issue(LeafSpec::service(service))
    }

    /// `leaf` followed by the intermediates between this CA and its root: the chain a peer
    /// presents.
    pub fn chain(&self, leaf: Vec<u8>) -> Vec<Vec<u8>> {
        let mut chain = vec![leaf];
        chain.extend(self.intermediates.iter().cloned());
        chain
    }

    /// The trusted roots: this CA's root, active, in [`TRUST_DOMAIN`].
    pub fn roots(&self) -> Roots {
        Roots {
            trust_domain: TRUST_DOMAIN.to_string(),
            roots: vec![Root {
                id: "root".into(),
                cert: self.root.clone().into(),
                intermediates: vec![],
                active: true,
            }],
        }
    }

    /// An own identity for `service`: a leaf of this CA (with its chain) and its key.
    pub fn own_leaf(&self, service: &str) -> Leaf {
        self.own_leaf_to(LeafSpec::service(service))
    }

    /// An own identity made to `spec` (e.g. a validity window in the future): a leaf of
    /// this CA (with its chain) and its key.
    pub fn own_leaf_to(&self, spec: LeafSpec) -> Leaf {
        let (der, key) = self.issue_with_key(&spec);
        Leaf {
            info: x509::leaf_info(&der).expect("leaf info"),
            chain: self.chain(der).into_iter().map(Into::into).collect(),
            key_pkcs8: zeroize::Zeroizing::new(key.serialize_der()),
        }
    }

    /// A leaf made to `spec` as PEM files hold it: the chain (leaf, then the intermediates
    /// up to the root) and the PKCS#8 private key.
    pub fn leaf_pem(&self, spec: LeafSpec) -> (String, String) {
        let (der, key) = self.issue_with_key(&spec);
        let chain = self
            .chain(der)
            .into_iter()
            .map(|der| pem::encode(&pem::Pem::new("CERTIFICATE", der)))
            .collect();
        (chain, key.serialize_pem())
    }

    /// Publishes [`Ca::own_leaf`] of `service` and [`Ca::roots`] to `store`.
    pub fn publish(&self, store: &Store, service: &str) {
        store.publish(Arc::new(self.own_leaf(service)), Arc::new(self.roots()));
    }

    /// A snapshot whose own identity is `service` and whose only root is this CA's root.
    pub fn snapshot(&self, service: &str) -> Arc<Snapshot> {
        let store = Store::new();
        self.publish(&store, service);
        store.load().expect("published snapshot")
    }

    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }

    fn issue_with_key(&self, spec: &LeafSpec) -> (Vec<u8>, KeyPair) {
        let key = KeyPair::generate().expect("leaf key");
        let cert = spec
            .params()
            .signed_by(&key, &self.issuer())
            .expect("leaf certificate");
        (cert.der().to_vec(), key)
    }
}

/// Parameters of a CA certificate named `name` (any path length).
pub(crate) fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}
