//! Settings of the identities the integration tests open: properties only, as Trino passes
//! them (the environment is not read).

use consul_connect::config::Settings;
use std::collections::BTreeMap;

/// Settings from these properties; a key given twice takes its last value.
pub fn settings(pairs: &[(&str, &str)]) -> Settings {
    let props: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_sources(&props, |_| None).expect("settings")
}

/// Settings of `service`'s identity from the agent at `address`: requests time out after
/// 2 s, blocking queries wait 30 s; `extra` adds keys or overrides these.
pub fn agent_settings(address: &str, service: &str, extra: &[(&str, &str)]) -> Settings {
    let mut pairs = vec![
        ("consul.address", address),
        ("consul.service", service),
        ("consul.request-timeout", "2s"),
        ("consul.watch.wait", "30s"),
    ];
    pairs.extend_from_slice(extra);
    settings(&pairs)
}
