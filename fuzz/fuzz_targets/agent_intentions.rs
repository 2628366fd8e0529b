//! The intentions match answer (`/v1/connect/intentions/match?by=destination`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = consul_connect::fuzzing::agent_intentions(data, "trino");
});
