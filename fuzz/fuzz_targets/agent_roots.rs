//! The agent's roots answer (`/v1/agent/connect/ca/roots`): JSON, validation, every root's
//! and intermediate's PEM; the result is then used to verify a chain.
#![no_main]

use consul_connect::verify_peer;
use consul_connect::x509::Usage;
use libfuzzer_sys::fuzz_target;
use std::time::SystemTime;

fuzz_target!(|data: &[u8]| {
    if let Ok(roots) = consul_connect::fuzzing::agent_roots(data) {
        assert!(!roots.roots.is_empty());
        assert!(
            roots.roots.iter().any(|r| r.active),
            "validated roots have an active one"
        );
        assert_eq!(roots.trust_domain, roots.trust_domain.to_ascii_lowercase());
        let chain: Vec<&[u8]> = roots.roots.iter().map(|r| r.cert.as_ref()).collect();
        let _ = verify_peer(&chain, &roots, SystemTime::now(), Usage::Client);
    }
});
