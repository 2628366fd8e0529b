//! Parity of local decisions with the agent's: seeded, generated intention sets for
//! `trino` and `*` (exact and wildcard sources, allow, deny and L7 intentions, every
//! precedence Consul CE can express: 9, 8, 6 and 5), written to a real Consul agent, and
//! for every set a pool of client identities (names the sets use and names they don't,
//! in the default namespace and in another) asked of both [`LocalDecisionSource`] and
//! the agent's `POST /v1/agent/connect/authorize`. They must agree on allow, deny and
//! L7-ness, and on Consul's reason text, for every case; the count is printed.
//!
//! Three times: ACLs off (the default answer is allow), ACLs off with the agent's
//! `default_intention_policy = "deny"` (deny, "Default intention policy"), and ACLs on
//! with `default_policy = "deny"` and the node's minimal token (deny, "Default behavior
//! configured by ACLs", learned through that token).
//!
//! Both sides may trail the write of a set: the agent answers from its own cache of the
//! intentions, the local source from its watch. Each set carries a sentinel intention
//! (`sentinel-<k>` → `trino`, written last); a side has the set once it matches that
//! sentinel, so nothing sleeps blindly.

mod common;

use common::consul::{Consul, Mode};
use common::settings::agent_settings;
use common::wait::poll;
use consul_connect::{
    AgentClient, AgentDecisionSource, DecisionRequest, DecisionSource, LocalDecisionSource, Peer,
    ServiceId, Verdict,
};
use std::time::{Duration, Instant};

/// The node's minimal token policy (as in `tests/acl.rs`).
const POLICY: &str = r#"service "trino" {
  policy     = "write"
  intentions = "read"
}"#;

/// Intention sets per agent.
const SETS: usize = 10;

/// Service names the sets draw their sources from; clients are these and `STRANGERS`.
const NAMES: [&str; 6] = ["web", "api", "db", "batch", "evil", "report"];
/// Clients no set names (only wildcards or the default decide for them).
const STRANGERS: [&str; 2] = ["stranger", "web2"];
/// Namespaces of the clients: Consul CE lists every intention in `default`, so clients of
/// `team-b` only ever get the default.
const NAMESPACES: [&str; 2] = ["default", "team-b"];

/// xorshift64*: deterministic, seeded, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One source of a generated config entry.
fn source(name: &str, kind: u64) -> serde_json::Value {
    match kind {
        0 => serde_json::json!({ "Name": name, "Action": "allow" }),
        1 => serde_json::json!({ "Name": name, "Action": "deny" }),
        _ => serde_json::json!({
            "Name": name,
            "Permissions": [{ "Action": "allow", "HTTP": { "PathPrefix": "/v1/" } }],
        }),
    }
}

/// A generated set: sources for `trino` (with the sentinel last) and for `*`.
fn generate(rng: &mut Rng, k: usize) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let mut pick = |with_l7: bool| {
        let mut sources = Vec::new();
        for name in NAMES.iter().chain(["*"].iter()) {
            // Each name is in about half of the entries; L7 about one time in four.
            if rng.below(2) == 0 {
                let kind = if with_l7 && rng.below(4) == 0 {
                    2
                } else {
                    rng.below(2)
                };
                sources.push(source(name, kind));
            }
        }
        sources
    };
    let mut to_trino = pick(true);
    let to_any = pick(false);
    to_trino.push(source(&format!("sentinel-{k}"), (k % 2) as u64));
    (to_trino, to_any)
}

fn write_entry(consul: &Consul, name: &str, sources: &[serde_json::Value]) {
    let path = format!("/v1/config/service-intentions/{name}");
    if sources.is_empty() {
        let (status, text) = consul.request("DELETE", &path, None);
        assert_eq!(status, 200, "delete {name}: {text}");
        return;
    }
    let entry = serde_json::json!({
        "Kind": "service-intentions",
        "Name": name,
        "Sources": sources,
    });
    let (status, text) = consul.request("PUT", "/v1/config", Some(&entry.to_string()));
    assert_eq!(status, 200, "write intentions for {name}: {text}\n{entry}");
}

/// A verified client as the authorizer hands it to a decision source.
fn peer(trust_domain: &str, namespace: &str, service: &str) -> Peer {
    let id = ServiceId::parse(&format!(
        "spiffe://{trust_domain}/ns/{namespace}/dc/dc1/svc/{service}"
    ))
    .expect("id");
    Peer::new(id, "01".into(), (0, i64::MAX), i64::MAX)
}

/// (kind, reason) of a verdict, kind one of `allow`, `deny`, `l7`.
fn parts(v: &Verdict) -> (&'static str, &str) {
    match v {
        Verdict::Allow { reason } => ("allow", reason),
        Verdict::Deny { reason } => ("deny", reason),
        Verdict::DenyHttpPermissions { reason } => ("l7", reason),
    }
}

/// Runs the parity check against an agent in `mode`; returns the number of cases.
fn parity(mode: Mode, seed: u64, default_allows: bool) -> usize {
    let started = Instant::now();
    let consul = Consul::start_mode(mode);
    let token = (mode == Mode::Acl).then(|| consul.create_token("trino-node", POLICY));
    if let Some(t) = &token {
        // Why the default is asked of the authorize endpoint: the agent's configuration
        // (`/v1/agent/self`) needs `agent:read`, which the node's token lacks.
        let (status, text) = consul.request_as(Some(t), "GET", "/v1/agent/self", None);
        assert_eq!(status, 403, "/v1/agent/self with the node token: {text}");
    }
    // L7 intentions need an HTTP destination.
    let (status, text) = consul.request(
        "PUT",
        "/v1/config",
        Some(r#"{"Kind":"service-defaults","Name":"trino","Protocol":"http"}"#),
    );
    assert_eq!(status, 200, "service-defaults: {text}");
    let mut extra = vec![];
    if let Some(t) = &token {
        extra.push(("consul.token", t.as_str()));
    }
    let settings = agent_settings(&consul.http_addr(), "trino", &extra);
    let agent = AgentClient::new(&settings.agent).expect("client");
    let remote =
        AgentDecisionSource::new(agent.clone(), settings.agent.request_timeout).expect("agent");
    let local =
        LocalDecisionSource::watch(agent, "trino", Duration::from_secs(600)).expect("local");
    let (status, body) = consul.request("GET", "/v1/agent/connect/ca/roots", None);
    assert_eq!(status, 200);
    let roots: serde_json::Value = serde_json::from_str(&body).expect("roots");
    let td = roots["TrustDomain"]
        .as_str()
        .expect("trust domain")
        .to_string();

    let ask = |source: &dyn DecisionSource, p: &Peer| {
        source.decide(&DecisionRequest {
            target: "trino",
            peer: p,
        })
    };
    let mut rng = Rng(seed);
    let mut cases = 0;
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for k in 0..SETS {
        let (to_trino, to_any) = generate(&mut rng, k);
        write_entry(&consul, "*", &to_any);
        write_entry(&consul, "trino", &to_trino);
        // Both sides have the set once they match its sentinel.
        let sentinel = peer(&td, "default", &format!("sentinel-{k}"));
        let marker = format!("default/sentinel-{k} => default/trino");
        for (side, source) in [("agent", &remote as &dyn DecisionSource), ("local", &local)] {
            poll(Duration::from_secs(20), || {
                ask(source, &sentinel)
                    .ok()
                    .filter(|v| parts(v).1.contains(&marker))
            })
            .unwrap_or_else(|| {
                panic!(
                    "{side} never saw set {k}: {:?} {:?}",
                    ask(source, &sentinel),
                    local.status()
                )
            });
        }
        let clients = NAMES
            .iter()
            .chain(STRANGERS.iter())
            .flat_map(|n| NAMESPACES.iter().map(move |ns| (*ns, *n)));
        for (ns, name) in clients {
            let client = peer(&td, ns, name);
            let want = ask(&remote, &client).expect("agent answer");
            // The default is learned in the background once per watch answer.
            let got = poll(Duration::from_secs(10), || ask(&local, &client).ok())
                .unwrap_or_else(|| panic!("no local answer: {:?}", ask(&local, &client)));
            assert_eq!(
                parts(&got),
                parts(&want),
                "set {k}, client {ns}/{name}: local {got:?}, agent {want:?}\ntrino: {to_trino:?}\n*: {to_any:?}"
            );
            let (kind, reason) = parts(&want);
            let level = reason
                .split("Precedence: ")
                .nth(1)
                .and_then(|r| r.split(',').next())
                .map_or("default".to_string(), |p| format!("precedence {p}"));
            *seen.entry(format!("{kind} by {level}")).or_default() += 1;
            cases += 1;
        }
    }
    let default = local.status().default.expect("default learned");
    assert_eq!(default.allow, default_allows, "{default:?}");
    eprintln!(
        "parity ({mode:?}): {cases} cases agree in {:.1?}; default {default:?}; {seen:?}",
        started.elapsed()
    );
    // Not vacuous: allows, denies, L7, every CE precedence and the default all occurred.
    for kind in [
        "precedence 9",
        "precedence 8",
        "precedence 6",
        "precedence 5",
        "default",
        "l7 by",
    ] {
        assert!(
            seen.keys().any(|k| k.contains(kind)),
            "no case decided by {kind}: {seen:?}"
        );
    }
    cases
}

#[test]
fn local_decisions_agree_with_the_agent_acls_off() {
    let cases = parity(Mode::Dev, 0x5eed_0001, true);
    assert!(cases >= 150, "{cases}");
    println!("parity cases, ACLs off: {cases}");
}

#[test]
fn local_decisions_agree_with_the_agent_default_intention_policy_deny() {
    let cases = parity(Mode::IntentionDefaultDeny, 0x5eed_0003, false);
    assert!(cases >= 150, "{cases}");
    println!("parity cases, ACLs off, default_intention_policy = deny: {cases}");
}

#[test]
fn local_decisions_agree_with_the_agent_acls_default_deny() {
    let cases = parity(Mode::Acl, 0x5eed_0002, false);
    assert!(cases >= 150, "{cases}");
    println!("parity cases, ACLs default deny: {cases}");
}
