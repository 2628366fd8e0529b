//! Certificate chains: `verify_peer` with arbitrary DER split into a chain, against a fixed
//! CA, plus the DER helpers of `x509` on every element.
#![no_main]

use consul_connect::x509::{self, Usage};
use consul_connect::{fuzzing, verify_peer, ServiceId};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    static ROOTS: OnceLock<consul_connect::Roots> = OnceLock::new();
    let roots = ROOTS.get_or_init(common::roots);
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let usage = if flags & 1 == 0 {
        Usage::Client
    } else {
        Usage::Server
    };
    let now = match (flags >> 1) & 3 {
        0 => SystemTime::now(),
        1 => UNIX_EPOCH,
        2 => UNIX_EPOCH + Duration::from_secs(7_258_118_400), // 2200
        _ => UNIX_EPOCH + Duration::from_secs(1_893_456_000), // 2030
    };
    let chain = common::split_chain(rest);
    for der in &chain {
        let _ = x509::uri_sans(der);
        let _ = x509::leaf_info(der);
    }
    if let Ok(peer) = verify_peer(&chain, roots, now, usage) {
        // A verified peer's canonical id parses back to the same identity.
        let again = ServiceId::parse(&peer.spiffe_id).expect("canonical id parses");
        assert_eq!(again.trust_domain, peer.id.trust_domain);
        assert_eq!(again.partition, peer.id.partition);
        assert_eq!(again.namespace, peer.id.namespace);
        assert_eq!(again.datacenter, peer.id.datacenter);
        assert_eq!(again.service, peer.id.service);
        assert!(peer
            .id
            .trust_domain
            .eq_ignore_ascii_case(common::TRUST_DOMAIN));
        assert!(peer.not_before <= peer.not_after);
        assert!(peer.chain_not_after <= peer.not_after);
        assert_eq!(
            fuzzing::expected_matches("*", &peer.id, &peer.id).ok(),
            Some(true)
        );
        assert_eq!(
            fuzzing::expected_matches(&peer.spiffe_id, &peer.id, &peer.id).ok(),
            Some(true)
        );
    }
});
