//! Entry points for the fuzz targets (`fuzz/`, run by `tests/fuzz.sh`): thin wrappers over
//! the crate-internal parsers that see outside input, so the targets exercise exactly the
//! code the library runs. Only with the `fuzzing` cargo feature; never in the shipped
//! library.
//!
//! Public parsers (`verify_peer`, `ServiceId::parse`, `config::*`, `x509::*`) are called by
//! the targets directly; this module adds the ones that are not public:
//!
//! - the agent's JSON answers (`consul::client::decode` and what the library does with
//!   the decoded value right after),
//! - the files source's PEM files (`identity::files_source::decode`),
//! - expected peer identities (`peer::Expected`).

use crate::authz::{IntentionList, Verdict};
use crate::consul::client::{self, AuthorizeResponse, Intention, LeafCert};
use crate::consul::CaRoots;
use crate::error::{Error, Result};
use crate::identity::{Root, Roots};
use crate::peer::Expected;
use crate::spiffe::ServiceId;
use std::collections::HashMap;

/// The answer of `/v1/agent/connect/ca/leaf/<service>`, decoded as the agent source does:
/// the JSON body, the non-empty check of `AgentClient::leaf`, then the PEM chain and key.
/// Returns the chain (DER, leaf first) and the PKCS#8 key.
pub fn agent_leaf(body: &[u8]) -> Result<(Vec<Vec<u8>>, Vec<u8>)> {
    let leaf: LeafCert = client::decode("/v1/agent/connect/ca/leaf/fuzz", body)?;
    if leaf.cert_pem.trim().is_empty() || leaf.private_key_pem.trim().is_empty() {
        return Err(Error::agent(
            "/v1/agent/connect/ca/leaf/fuzz",
            "leaf response without certificate or key",
        ));
    }
    let material = crate::identity::source::decode_leaf(
        leaf.cert_pem.as_bytes(),
        leaf.private_key_pem.as_bytes(),
    )?;
    Ok((
        material.chain.iter().map(|c| c.to_vec()).collect(),
        material.key_pkcs8.to_vec(),
    ))
}

/// The answer of `/v1/agent/connect/ca/roots`, decoded as the agent source does: the JSON
/// body, `validate_roots` of `AgentClient::roots`, then every root's PEM.
pub fn agent_roots(body: &[u8]) -> Result<Roots> {
    const ENDPOINT: &str = "/v1/agent/connect/ca/roots";
    let roots: CaRoots = client::decode(ENDPOINT, body)?;
    client::validate_roots(ENDPOINT, &roots)?;
    let material = crate::identity::agent_source::decode_roots(&roots)?;
    Ok(Roots {
        trust_domain: material.trust_domain,
        roots: material.roots,
    })
}

/// The answer of `POST /v1/agent/connect/authorize`: (authorized, reason).
pub fn agent_authorize(body: &[u8]) -> Result<(bool, String)> {
    let answer: AuthorizeResponse = client::decode("/v1/agent/connect/authorize", body)?;
    Ok((answer.authorized, answer.reason))
}

/// The answer of `/v1/connect/intentions/match?by=destination&name=<destination>`, decoded
/// as `AgentClient::intention_match` does and made into the list local decisions read;
/// then a fixed client is evaluated against it. Returns the list's length and whether the
/// client is allowed (`None`: the list does not decide and no default is known).
pub fn agent_intentions(body: &[u8], destination: &str) -> Result<(usize, Option<bool>)> {
    let all: HashMap<String, Vec<Intention>> =
        client::decode("/v1/connect/intentions/match", body)?;
    let list = IntentionList::new(&client::match_list(all, destination)?, 1);
    let client = ServiceId::parse("spiffe://td.consul/ns/default/dc/dc1/svc/web")?;
    let verdict = crate::authz::evaluate_for_fuzzing(&list, &client);
    Ok((
        list.len(),
        verdict.map(|v| matches!(v, Verdict::Allow { .. })),
    ))
}

/// The three PEM files of the files source (key, chain, roots), decoded as the source does
/// on every poll. Returns the roots and the chain (DER, leaf first).
pub fn files(key: &[u8], chain: &[u8], roots: &[u8]) -> Result<(Roots, Vec<Vec<u8>>)> {
    let (roots, leaf) = crate::identity::files_source::decode(key, chain, roots)?;
    Ok((
        Roots {
            trust_domain: roots.trust_domain,
            roots: roots.roots,
        },
        leaf.chain.iter().map(|c| c.to_vec()).collect(),
    ))
}

/// An expected peer identity (`*`, a service name, a service SPIFFE id, or a list of
/// these), in its canonical form (what `TlsBridge.normalizeExpected` returns).
pub fn expected(text: &str) -> Result<String> {
    Expected::parse(text).map(|e| e.to_string())
}

/// Whether the peer `peer` matches the expectation `text` for a process whose own identity
/// is `own`.
pub fn expected_matches(text: &str, peer: &ServiceId, own: &ServiceId) -> Result<bool> {
    Expected::parse(text).map(|e| e.matches(peer, own))
}

/// A root made from DER (for targets that embed a fixed CA).
pub fn root(id: &str, der: &[u8], active: bool) -> Root {
    Root {
        id: id.to_string(),
        cert: rustls_pki_types::CertificateDer::from(der.to_vec()),
        intermediates: Vec::new(),
        active,
    }
}
