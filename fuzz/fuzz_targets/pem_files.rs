//! The files source's PEM files (key, chain, roots; NUL-separated in the input) and the PEM
//! helpers of `x509`; what decodes is then used to verify the chain.
#![no_main]

use consul_connect::x509::{self, Usage};
use consul_connect::{fuzzing, verify_peer};
use libfuzzer_sys::fuzz_target;
use std::time::SystemTime;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let (key, chain, roots) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    if let Ok(k) = x509::key_from_pem(key, "key") {
        let _ = x509::to_pkcs8(&k);
    }
    let _ = x509::certs_from_pem(chain, "chain");
    if let Ok((roots, chain)) = fuzzing::files(key, chain, roots) {
        assert!(!chain.is_empty());
        assert!(!roots.roots.is_empty() && roots.roots[0].active);
        let _ = verify_peer(&chain, &roots, SystemTime::now(), Usage::Client);
    }
});
