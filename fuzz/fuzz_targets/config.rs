//! Configuration: duration strings, flags, agent addresses, and whole property maps
//! (`Settings::from_sources`, the entry point of `Settings::from_properties`), with
//! invariants on what parses.
#![no_main]

use consul_connect::config::{self, AgentAddress, Settings, MAX_DURATION};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(d) = config::parse_duration("k", &text) {
        assert!(!d.is_zero() && d <= MAX_DURATION, "{d:?}");
    }
    if let Ok(d) = config::parse_duration_allowing_zero("k", &text) {
        assert!(d <= MAX_DURATION, "{d:?}");
    }
    if let Ok(flag) = config::parse_flag("k", &text) {
        assert!(text
            .trim()
            .eq_ignore_ascii_case(if flag { "true" } else { "false" }));
    }
    for https in [false, true] {
        if let Ok(AgentAddress::Http(url)) = AgentAddress::parse("k", &text, https) {
            assert!(url.scheme() == "http" || url.scheme() == "https");
        }
    }
    // Properties, one `key=value` a line. Token files are left out: reading an arbitrary
    // path (a device, say) is not what this target is about.
    let props: BTreeMap<String, String> = text
        .lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(k, _)| !k.contains("token-file"))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let _ = Settings::from_sources(&props, |_| None);
});
