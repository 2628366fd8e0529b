//! Cost of a cold decision (a client seen for the first time: its chain verified, then a
//! decision), local evaluation against the agent's authorize endpoint, in the same run,
//! on a real Consul dev agent (`CONSUL_BIN`, or `tests/scripts/ensure-consul.sh`).
//!
//! The list for `trino` holds 100 intentions (`svc-0` … `svc-98` and `*`); the client
//! `web` is covered only by the wildcard at the end of the list, the worst case for the
//! evaluation. Besides criterion's estimates, prints p50/p90/p99 of 2000 timed calls of
//! each and the ratio.
//!
//! `cargo bench --bench decisions` (`cargo test --all-targets` runs it once, briefly).

#[path = "../tests/common/consul.rs"]
#[allow(dead_code)]
mod consul;

use consul::Consul;
use consul_connect::config::Settings;
use consul_connect::x509::{self, Usage};
use consul_connect::{
    verify_peer, AgentClient, AgentDecisionSource, DecisionRequest, DecisionSource, Identity,
    LocalDecisionSource, Roots, Verdict,
};
use criterion::{criterion_group, criterion_main, Criterion};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

fn settings(address: &str) -> Settings {
    let props: BTreeMap<String, String> = [
        ("consul.address", address),
        ("consul.service", "trino"),
        ("consul.request-timeout", "2s"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Settings::from_sources(&props, |_| None).expect("settings")
}

/// A cold decision: verification, then `source`.
fn cold(chain: &[Vec<u8>], roots: &Roots, source: &dyn DecisionSource) -> Verdict {
    let peer = verify_peer(chain, roots, SystemTime::now(), Usage::Client).expect("verified");
    source
        .decide(&DecisionRequest {
            target: "trino",
            peer: &peer,
        })
        .expect("decision")
}

/// (p50, p90, p99) of `n` timed calls of `f`.
fn percentiles(n: usize, mut f: impl FnMut()) -> [Duration; 3] {
    let mut took: Vec<Duration> = (0..n)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    took.sort();
    [0.50, 0.90, 0.99].map(|q| took[((n as f64) * q) as usize])
}

fn bench(c: &mut Criterion) {
    let consul = Consul::start();
    let mut sources: Vec<serde_json::Value> = (0..99)
        .map(|i| serde_json::json!({ "Name": format!("svc-{i}"), "Action": "deny" }))
        .collect();
    sources.push(serde_json::json!({ "Name": "*", "Action": "allow" }));
    let entry =
        serde_json::json!({ "Kind": "service-intentions", "Name": "trino", "Sources": sources });
    let (status, text) = consul.request("PUT", "/v1/config", Some(&entry.to_string()));
    assert_eq!(status, 200, "{text}");
    let (status, body) = consul.request("GET", "/v1/agent/connect/ca/leaf/web", None);
    assert_eq!(status, 200, "{body}");
    let leaf: serde_json::Value = serde_json::from_str(&body).expect("leaf");
    let chain: Vec<Vec<u8>> = x509::certs_from_pem(
        leaf["CertPEM"].as_str().expect("CertPEM").as_bytes(),
        "leaf",
    )
    .expect("PEM")
    .into_iter()
    .map(|c| c.to_vec())
    .collect();

    let settings = settings(&consul.http_addr());
    let identity = Identity::open(settings.clone()).expect("identity");
    let snapshot = identity.wait_ready(Duration::from_secs(30)).expect("ready");
    let roots = snapshot.roots.clone();
    let agent = AgentClient::new(&settings.agent).expect("client");
    let remote = AgentDecisionSource::new(agent.clone(), Duration::from_secs(2)).expect("agent");
    let local =
        LocalDecisionSource::watch(agent, "trino", Duration::from_secs(600)).expect("local");
    let deadline = Instant::now() + Duration::from_secs(20);
    while local.status().default.is_none() || local.status().list.map_or(0, |l| l.len()) < 100 {
        assert!(
            Instant::now() < deadline,
            "local source not ready: {:?}",
            local.status()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let want = cold(&chain, &roots, &remote);
    assert_eq!(cold(&chain, &roots, &local), want);
    assert!(matches!(want, Verdict::Allow { .. }), "{want:?}");

    let peer = verify_peer(&chain, &roots, SystemTime::now(), Usage::Client).expect("verified");
    c.bench_function("decision_local_evaluation_only", |b| {
        b.iter(|| {
            local.decide(black_box(&DecisionRequest {
                target: "trino",
                peer: &peer,
            }))
        })
    });
    c.bench_function("decision_cold_local", |b| {
        b.iter(|| cold(black_box(&chain), &roots, &local))
    });
    c.bench_function("decision_cold_agent", |b| {
        b.iter(|| cold(black_box(&chain), &roots, &remote))
    });

    // `cargo test --all-targets` runs this once as a smoke test: fewer calls then.
    let n = if std::env::args().any(|a| a == "--bench") {
        2000
    } else {
        100
    };
    let eval = percentiles(n, || {
        black_box(local.decide(&DecisionRequest {
            target: "trino",
            peer: &peer,
        }))
        .ok();
    });
    let l = percentiles(n, || {
        black_box(cold(&chain, &roots, &local));
    });
    let a = percentiles(n, || {
        black_box(cold(&chain, &roots, &remote));
    });
    eprintln!("{n} calls each, p50 / p90 / p99:");
    eprintln!("  local evaluation only (100 intentions): {eval:?}");
    eprintln!("  cold decision, local:                    {l:?}");
    eprintln!("  cold decision, agent (HTTP authorize):   {a:?}");
    eprintln!(
        "  agent / local: p50 {:.1}x, p99 {:.1}x",
        a[0].as_secs_f64() / l[0].as_secs_f64(),
        a[2].as_secs_f64() / l[2].as_secs_f64()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
