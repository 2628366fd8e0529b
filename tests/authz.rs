//! Authorization against a real Consul dev agent: leaves issued by Consul for `web`,
//! `evil` and friends, intentions to `trino`, invalidation by the intentions watch, L7
//! intentions, forged and broken certificates signed by a CA we install as Consul's
//! root, an agent that stops or hangs, and many threads at once.

mod common;

use common::consul::Consul;
use common::settings::{agent_settings, settings};
use common::wait::eventually;
use consul_connect::config::PrincipalForm;
use consul_connect::testing::{Ca, LeafSpec};
use consul_connect::x509;
use consul_connect::AgentClient;
use consul_connect::Identity;
use consul_connect::{
    AgentDecisionSource, Authorization, Authorizer, DecisionRequest, DecisionSource, Origin,
    Verdict,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime};

/// Opens the identity of `trino` with the given extra settings and waits for it.
fn open_identity(consul: &Consul, extra: &[(&str, &str)]) -> Identity {
    let identity =
        Identity::open(agent_settings(&consul.http_addr(), "trino", extra)).expect("open");
    identity.wait_ready(Duration::from_secs(30)).expect("ready");
    identity
}

/// Counts the decisions asked of the real agent.
struct Counting {
    inner: AgentDecisionSource,
    calls: AtomicUsize,
}

impl DecisionSource for Counting {
    fn name(&self) -> &'static str {
        "counting-agent"
    }

    fn decide(&self, request: &DecisionRequest<'_>) -> consul_connect::Result<Verdict> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.decide(request)
    }
}

/// The usual authorizer (agent decisions, intentions watch), with a call counter.
fn authorizer(identity: &Identity) -> (Authorizer, Arc<Counting>) {
    let s = identity.settings();
    let counting = Arc::new(Counting {
        inner: AgentDecisionSource::new(identity.agent().clone(), s.agent.request_timeout)
            .expect("source"),
        calls: AtomicUsize::new(0),
    });
    let authz = Authorizer::builder(identity.store().clone(), "trino")
        .settings(&s.authz)
        .decision_timeout(s.agent.request_timeout)
        .source(counting.clone())
        .watch_intentions(identity.agent().clone())
        .build()
        .expect("authorizer");
    // The watch's first answer drops the decisions made before it; start counting after.
    eventually(
        Duration::from_secs(10),
        "the intentions watch answers",
        || authz.status().intentions_index.is_some(),
    );
    (authz, counting)
}

/// The DER chain Consul issues for `service` (leaf first).
fn consul_leaf(consul: &Consul, service: &str) -> Vec<Vec<u8>> {
    let (status, body) =
        consul.request("GET", &format!("/v1/agent/connect/ca/leaf/{service}"), None);
    assert_eq!(status, 200, "{body}");
    let leaf: serde_json::Value = serde_json::from_str(&body).expect("leaf JSON");
    let pem = leaf["CertPEM"].as_str().expect("CertPEM");
    x509::certs_from_pem(pem.as_bytes(), "leaf")
        .expect("PEM")
        .into_iter()
        .map(|c| c.to_vec())
        .collect()
}

fn set_intention(consul: &Consul, source: &str, body: &str) {
    let path = format!("/v1/connect/intentions/exact?source={source}&destination=trino");
    let (status, text) = consul.request("PUT", &path, Some(body));
    assert_eq!(status, 200, "intention {source}: {text}");
}

fn allow(consul: &Consul, source: &str) {
    set_intention(consul, source, r#"{"Action":"allow"}"#);
}

fn deny(consul: &Consul, source: &str) {
    set_intention(consul, source, r#"{"Action":"deny"}"#);
}

fn code(answer: &Authorization) -> &'static str {
    answer.deny_reason().map_or("allowed", |r| r.code())
}

#[test]
fn decisions_follow_consul_intentions() {
    let consul = Consul::start();
    allow(&consul, "web");
    deny(&consul, "evil");
    // A long TTL: any change seen below comes from the intentions watch.
    let identity = open_identity(&consul, &[("consul.authz.cache-ttl", "10m")]);
    let (authz, calls) = authorizer(&identity);
    let trust_domain = identity.snapshot().unwrap().roots.trust_domain.clone();
    let web = consul_leaf(&consul, "web");
    let evil = consul_leaf(&consul, "evil");

    let answer = authz.authorize(&web);
    assert!(answer.is_allowed(), "{}", answer.reason());
    assert_eq!(answer.origin(), Origin::Fresh);
    let id = answer.service_id().unwrap();
    assert_eq!(
        (
            &*id.service,
            &*id.namespace,
            &*id.datacenter,
            &*id.partition
        ),
        ("web", "default", "dc1", "default")
    );
    assert_eq!(id.trust_domain, trust_domain);
    let spiffe = format!("spiffe://{trust_domain}/ns/default/dc/dc1/svc/web");
    assert_eq!(answer.spiffe_id(), Some(spiffe.as_str()));
    assert_eq!(authz.principal(&answer), Some("web"));
    assert_eq!(
        answer.principal(PrincipalForm::SpiffeId),
        Some(spiffe.as_str())
    );
    assert!(
        answer.reason().contains("Matched L4 intention"),
        "{}",
        answer.reason()
    );
    assert_eq!(
        answer.peer().unwrap().serial,
        x509::leaf_info(&web[0]).unwrap().serial
    );

    let denied = authz.authorize(&evil);
    assert_eq!(code(&denied), "denied");
    let consul_reason = denied.consul_reason().unwrap();
    assert!(
        consul_reason.contains("evil") && consul_reason.contains("DENY"),
        "{consul_reason}"
    );
    assert!(denied.reason().contains(consul_reason));

    assert_eq!(authz.authorize(&web).origin(), Origin::Cache);
    assert_eq!(calls.calls.load(Ordering::SeqCst), 2);

    // Flip web to deny: the next answers are denies within a second or two.
    let before = calls.calls.load(Ordering::SeqCst);
    deny(&consul, "web");
    let took = eventually(Duration::from_secs(2), "web denied after the flip", || {
        !authz.authorize(&web).is_allowed()
    });
    let answer = authz.authorize(&web);
    assert_eq!(code(&answer), "denied", "{}", answer.reason());
    assert!(
        calls.calls.load(Ordering::SeqCst) > before,
        "a new decision was asked for"
    );
    eprintln!("web denied {took:?} after the intention flip");

    // And back.
    allow(&consul, "web");
    eventually(Duration::from_secs(2), "web allowed again", || {
        authz.authorize(&web).is_allowed()
    });

    // An intention with HTTP permissions is an L7 intention: Consul's layer-4 check
    // denies it, and we say so.
    let (status, text) = consul.request(
        "PUT",
        "/v1/config",
        Some(r#"{"Kind":"service-defaults","Name":"trino","Protocol":"http"}"#),
    );
    assert_eq!(status, 200, "{text}");
    set_intention(
        &consul,
        "dashboard",
        r#"{"Permissions":[{"Action":"allow","HTTP":{"PathPrefix":"/v1/"}}]}"#,
    );
    let dashboard = consul_leaf(&consul, "dashboard");
    let answer = authz.authorize(&dashboard);
    assert_eq!(
        code(&answer),
        "intention-has-http-permissions",
        "{}",
        answer.reason()
    );
    assert!(
        answer.consul_reason().unwrap().contains("L7"),
        "{}",
        answer.reason()
    );
    assert_eq!(answer.service_id().unwrap().service, "dashboard");
}

/// Makes `ca` Consul's active root (the previous one stays trusted), so that the test can
/// sign leaves Consul would not.
fn install(ca: &Ca, consul: &Consul) {
    let body = serde_json::json!({
        "Provider": "consul",
        "Config": {
            "PrivateKey": ca.key_pem(),
            "RootCert": ca.pem,
            "LeafCertTTL": "72h",
        }
    })
    .to_string();
    let (status, text) = consul.request("PUT", "/v1/connect/ca/configuration", Some(&body));
    assert_eq!(status, 200, "installing the test CA: {text}");
    eventually(Duration::from_secs(10), "the test CA is active", || {
        let (_, body) = consul.request("GET", "/v1/agent/connect/ca/roots", None);
        let roots: serde_json::Value = serde_json::from_str(&body).expect("roots");
        roots["Roots"].as_array().expect("Roots").iter().any(|r| {
            r["Active"] == true
                && x509::certs_from_pem(r["RootCert"].as_str().unwrap_or("").as_bytes(), "root")
                    .is_ok_and(|c| c[0].as_ref() == ca.der.as_slice())
        })
    });
}

#[test]
fn forged_broken_and_foreign_certificates_are_denied_with_specific_reasons() {
    let consul = Consul::start();
    let ca = Ca::new("Test Consul CA");
    install(&ca, &consul);
    allow(&consul, "web");
    let identity = open_identity(&consul, &[]);
    eventually(
        Duration::from_secs(20),
        "identity follows the new root",
        || {
            identity.snapshot().is_some_and(|s| {
                s.roots
                    .active()
                    .is_some_and(|r| r.cert.as_ref() == ca.der.as_slice())
            })
        },
    );
    let (authz, calls) = authorizer(&identity);
    let td = identity.snapshot().unwrap().roots.trust_domain.clone();
    let web_uri = format!("spiffe://{td}/ns/default/dc/dc1/svc/web");
    let now = SystemTime::now();
    let hour = Duration::from_secs(3600);

    // Control: a leaf we sign with the installed root is accepted, as is Consul's own.
    let ours = ca.issue(LeafSpec::uris(&[&web_uri]));
    let answer = authz.authorize(&[&ours]);
    assert!(answer.is_allowed(), "{}", answer.reason());
    let consul_web = consul_leaf(&consul, "web");
    assert!(authz.authorize(&consul_web).is_allowed());

    let foreign = Ca::new("Foreign CA");
    let impostor = Ca::new("Test Consul CA"); // the real root's name, another key
    let mut reversed = consul_web.clone();
    reversed.reverse();
    if reversed.len() == 1 {
        reversed.insert(0, ca.der.clone());
    }
    let cases: Vec<(&str, &str, Vec<Vec<u8>>)> = vec![
        (
            "foreign CA, copied SPIFFE id",
            "unknown-issuer",
            vec![foreign.issue(LeafSpec::uris(&[&web_uri]))],
        ),
        (
            "impostor CA with the root's name",
            "bad-signature",
            vec![impostor.issue(LeafSpec::uris(&[&web_uri]))],
        ),
        (
            "expired",
            "expired",
            vec![ca.issue(LeafSpec::uris(&[&web_uri]).valid(now - 2 * hour, now - hour))],
        ),
        (
            "not yet valid",
            "not-yet-valid",
            vec![ca.issue(LeafSpec::uris(&[&web_uri]).valid(now + hour, now + 2 * hour))],
        ),
        (
            "another trust domain",
            "foreign-trust-domain",
            vec![ca.issue(LeafSpec::uris(&[
                "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web",
            ]))],
        ),
        (
            "two URIs",
            "multiple-uris",
            vec![ca.issue(LeafSpec::uris(&[
                &web_uri,
                &format!("spiffe://{td}/ns/default/dc/dc1/svc/admin"),
            ]))],
        ),
        (
            "no URI",
            "no-spiffe-id",
            vec![ca.issue(LeafSpec::uris(&[]))],
        ),
        (
            "agent id",
            "not-a-service",
            vec![ca.issue(LeafSpec::uris(&[&format!(
                "spiffe://{td}/agent/client/dc/dc1/id/node-1"
            )]))],
        ),
        ("chain in the wrong order", "wrong-order", reversed),
        (
            "garbage bytes",
            "malformed",
            vec![b"\x30\x82\x01\x00 definitely not a certificate".to_vec()],
        ),
        ("empty chain", "empty-chain", vec![]),
    ];
    for (what, want, chain) in &cases {
        let answer = authz.authorize(chain);
        assert_eq!(code(&answer), *want, "{what}: {}", answer.reason());
        assert!(answer.peer().is_none(), "{what}: no identity reported");
        assert!(!answer.reason().is_empty());
        eprintln!("{what}: {}", answer.reason());
    }
    // None of them reached Consul.
    assert_eq!(calls.calls.load(Ordering::SeqCst), 2);
}

#[test]
fn agent_outage_fails_closed_with_bounded_staleness() {
    let mut consul = Consul::start();
    allow(&consul, "web");
    allow(&consul, "api");
    let identity = open_identity(
        &consul,
        &[
            ("consul.request-timeout", "1s"),
            ("consul.authz.cache-ttl", "4s"),
            ("consul.authz.max-stale", "4s"),
        ],
    );
    let (authz, _) = authorizer(&identity);
    let web = consul_leaf(&consul, "web");
    let api = consul_leaf(&consul, "api");

    // A hung agent (accepts, never answers): a decision fails within the timeout.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let hole_addr = format!("http://{}", hole.local_addr().unwrap());
    let hung_settings = settings(&[
        ("consul.address", &hole_addr),
        ("consul.service", "trino"),
        ("consul.request-timeout", "500ms"),
    ]);
    let hung = Authorizer::builder(identity.store().clone(), "trino")
        .settings(&hung_settings.authz)
        .decision_timeout(Duration::from_millis(500))
        .source(Arc::new(
            AgentDecisionSource::new(
                AgentClient::new(&hung_settings.agent).unwrap(),
                Duration::from_millis(500),
            )
            .unwrap(),
        ))
        .build()
        .unwrap();
    let start = Instant::now();
    let answer = hung.authorize(&web);
    let took = start.elapsed();
    assert_eq!(code(&answer), "agent-unavailable", "{}", answer.reason());
    assert!(answer.reason().contains("timed out"), "{}", answer.reason());
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    drop(hole);

    let allowed_at = Instant::now();
    assert!(authz.authorize(&web).is_allowed());
    consul.stop();
    let stopped_after = allowed_at.elapsed();
    assert!(
        stopped_after < Duration::from_secs(3),
        "stopping took {stopped_after:?}"
    );

    // Within the TTL: the cached allow.
    assert_eq!(authz.authorize(&web).origin(), Origin::Cache);
    // A fresh identity gets no decision: denied, quickly.
    let start = Instant::now();
    let answer = authz.authorize(&api);
    assert_eq!(code(&answer), "agent-unavailable", "{}", answer.reason());
    assert!(
        answer.reason().contains("cannot connect"),
        "{}",
        answer.reason()
    );
    assert!(start.elapsed() < Duration::from_millis(1500));
    assert_eq!(answer.service_id().unwrap().service, "api");

    // Past the TTL, within max-stale: the allow is served stale.
    sleep_until(allowed_at + Duration::from_millis(4500));
    let stale = authz.authorize(&web);
    assert!(stale.is_allowed(), "{}", stale.reason());
    assert_eq!(stale.origin(), Origin::StaleCache);
    assert!(authz.status().stale_served >= 1);

    // Past TTL + max-stale: denied with the reason.
    sleep_until(allowed_at + Duration::from_millis(8500));
    let start = Instant::now();
    let late = authz.authorize(&web);
    assert_eq!(code(&late), "agent-unavailable", "{}", late.reason());
    assert!(start.elapsed() < Duration::from_millis(1500));
    let watch_error = authz.status().intentions_error;
    assert!(
        watch_error.as_deref().is_some_and(
            |e| e.contains("Consul agent") && e.contains("/v1/connect/intentions/match")
        ),
        "the watch reports the outage: {watch_error:?}"
    );
}

fn sleep_until(t: Instant) {
    if let Some(d) = t.checked_duration_since(Instant::now()) {
        std::thread::sleep(d);
    }
}

#[test]
fn many_threads_get_correct_answers_with_one_call_per_identity() {
    let consul = Consul::start();
    allow(&consul, "web");
    allow(&consul, "api");
    deny(&consul, "evil");
    deny(&consul, "mallory");
    let identity = open_identity(&consul, &[]);
    let (authz, calls) = authorizer(&identity);
    let authz = Arc::new(authz);
    let identities: Vec<(&str, bool, Vec<Vec<u8>>)> = [
        ("web", true),
        ("api", true),
        ("evil", false),
        ("mallory", false),
    ]
    .into_iter()
    .map(|(s, allowed)| (s, allowed, consul_leaf(&consul, s)))
    .collect();
    let identities = Arc::new(identities);
    let threads = 16;
    let rounds = 50;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (authz, barrier, identities) = (authz.clone(), barrier.clone(), identities.clone());
            std::thread::spawn(move || {
                barrier.wait();
                for round in 0..rounds {
                    let (service, allowed, chain) = &identities[(t + round) % identities.len()];
                    let answer = authz.authorize(chain);
                    assert_eq!(
                        answer.is_allowed(),
                        *allowed,
                        "{service}: {}",
                        answer.reason()
                    );
                    assert_eq!(answer.principal(PrincipalForm::Service), Some(*service));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    assert_eq!(
        calls.calls.load(Ordering::SeqCst),
        identities.len(),
        "one agent call per identity"
    );
}

/// `consul.authz.decisions=local` through `Authorizer::from_identity`: decisions with
/// Consul's reasons and no authorize call per client, dropped when an intention changes,
/// and, once the agent is gone, new clients still decided from the last list until
/// `consul.authz.intentions-max-age` has passed since the watch failed.
#[test]
fn local_decisions_follow_intentions_and_outlive_an_outage_for_the_bound() {
    let mut consul = Consul::start();
    allow(&consul, "web");
    deny(&consul, "evil");
    let identity = open_identity(
        &consul,
        &[
            ("consul.authz.decisions", "local"),
            ("consul.authz.cache-ttl", "10m"),
            ("consul.authz.max-stale", "1s"),
            ("consul.authz.intentions-max-age", "3s"),
        ],
    );
    let authz = Authorizer::from_identity(&identity).expect("authorizer");
    assert_eq!(authz.status().decision_source, "local");
    let (web, evil, api, db) = (
        consul_leaf(&consul, "web"),
        consul_leaf(&consul, "evil"),
        consul_leaf(&consul, "api"),
        consul_leaf(&consul, "db"),
    );
    // Until the watch has answered and the default is known, nothing is decided.
    eventually(Duration::from_secs(10), "local decisions are ready", || {
        authz.invalidate();
        authz.authorize(&api).is_allowed()
    });
    let answer = authz.authorize(&web);
    assert!(answer.is_allowed(), "{}", answer.reason());
    assert!(
        answer
            .reason()
            .starts_with("Matched L4 intention: default/web => default/trino (")
            && answer.reason().ends_with("Precedence: 9, Action: ALLOW)"),
        "{}",
        answer.reason()
    );
    let answer = authz.authorize(&evil);
    assert_eq!(code(&answer), "denied", "{}", answer.reason());
    assert_eq!(
        authz.authorize(&api).consul_reason(),
        Some("Default behavior configured by ACLs")
    );
    // A change reaches cached decisions through the epoch (the TTL is 10 minutes).
    allow(&consul, "evil");
    eventually(
        Duration::from_secs(10),
        "evil allowed after the change",
        || authz.authorize(&evil).is_allowed(),
    );

    consul.stop();
    eventually(
        Duration::from_secs(5),
        "the watch reports the outage",
        || authz.status().intentions_error.is_some(),
    );
    // The watch's first failure came before this.
    let failed = Instant::now();
    // The agent is gone, yet a client never seen before is decided from the last list.
    let answer = authz.authorize(&db);
    assert!(answer.is_allowed(), "{}", answer.reason());
    assert_eq!(answer.origin(), Origin::Fresh);
    // Past the bound (3 s from the watch's first failure), new decisions fail closed,
    // saying why.
    sleep_until(failed + Duration::from_millis(3200));
    authz.invalidate();
    let late = authz.authorize(&evil);
    assert_eq!(code(&late), "agent-unavailable", "{}", late.reason());
    assert!(
        late.reason().contains("consul.authz.intentions-max-age"),
        "{}",
        late.reason()
    );
}
