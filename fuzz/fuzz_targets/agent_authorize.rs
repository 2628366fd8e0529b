//! The agent's authorize answer (`POST /v1/agent/connect/authorize`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = consul_connect::fuzzing::agent_authorize(data);
});
