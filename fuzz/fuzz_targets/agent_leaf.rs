//! The agent's leaf answer (`/v1/agent/connect/ca/leaf/<service>`): JSON, PEM chain, PEM
//! key in any encoding, and the key helpers that use them.
#![no_main]

use consul_connect::fuzzing;
use consul_connect::x509;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((chain, key)) = fuzzing::agent_leaf(data) {
        assert!(!chain.is_empty(), "a decoded leaf has a certificate");
        assert!(!key.is_empty(), "a decoded leaf has a key");
        let leaf = chain[0].clone().into();
        let _ = x509::leaf_info(&chain[0]);
        let _ = x509::check_key_matches(&leaf, &key);
        let _ = x509::signing_key(&key);
    }
});
