//! Unit tests of verification, the cache rules and single flight, with certificates made
//! by rcgen and an in-process decision source. The same paths against a real Consul
//! agent are in `tests/authz.rs`.

use super::*;
use crate::identity::{Root, Roots};
use crate::testing::{service_uri, Ca, LeafSpec, TRUST_DOMAIN};
use crate::x509::MAX_CERT_LEN;
use rcgen::{
    CertificateParams, DistinguishedName, ExtendedKeyUsagePurpose, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::sync::Barrier;

/// A store holding the CA's roots and a `trino` leaf.
fn store_for(ca: &Ca) -> Arc<Store> {
    let store = Arc::new(Store::new());
    ca.publish(&store, "trino");
    store
}

/// What most tests start from: a CA, a store holding its roots and a `trino` leaf, and an
/// authorizer for `trino` over that store and `source`.
struct Fixture {
    ca: Ca,
    store: Arc<Store>,
    source: Arc<Fake>,
    authz: Authorizer,
}

fn fixture(source: Arc<Fake>, settings: AuthzSettings) -> Fixture {
    let ca = Ca::new("Test CA");
    let store = store_for(&ca);
    let authz = authorizer(&store, &source, settings);
    Fixture {
        ca,
        store,
        source,
        authz,
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Allow,
    Deny,
    L7,
    Fail,
    Panic,
}

/// Counts calls; answers per `mode`, after `delay`.
struct Fake {
    calls: AtomicUsize,
    mode: Mutex<Mode>,
    delay: Duration,
}

impl Fake {
    fn new(mode: Mode) -> Arc<Fake> {
        Self::slow(mode, Duration::ZERO)
    }

    fn slow(mode: Mode, delay: Duration) -> Arc<Fake> {
        Arc::new(Fake {
            calls: AtomicUsize::new(0),
            mode: Mutex::new(mode),
            delay,
        })
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl DecisionSource for Fake {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn decide(&self, request: &DecisionRequest<'_>) -> Result<Verdict> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        let reason = format!("fake: {} => {}", request.peer.id.service, request.target);
        let mode = *self.mode.lock().unwrap();
        match mode {
            Mode::Allow => Ok(Verdict::Allow { reason }),
            Mode::Deny => Ok(Verdict::Deny { reason }),
            Mode::L7 => Ok(Verdict::DenyHttpPermissions { reason }),
            Mode::Fail => Err(Error::agent("/fake", "cannot connect")),
            Mode::Panic => panic!("fake source panics"),
        }
    }
}

fn settings(ttl: u64, max_stale: u64) -> AuthzSettings {
    AuthzSettings {
        cache_ttl: Duration::from_secs(ttl),
        max_stale: Duration::from_secs(max_stale),
        ..AuthzSettings::default()
    }
}

fn authorizer(store: &Arc<Store>, source: &Arc<Fake>, s: AuthzSettings) -> Authorizer {
    Authorizer::builder(store.clone(), "trino")
        .settings(&s)
        .decision_timeout(Duration::from_secs(2))
        .source(source.clone())
        .build()
        .unwrap()
}

fn code(a: &Authorization) -> &'static str {
    a.deny_reason().map_or("allowed", DenyReason::code)
}

#[test]
fn allow_is_cached_with_identity_and_principal() {
    let Fixture {
        ca, source, authz, ..
    } = fixture(Fake::new(Mode::Allow), settings(60, 30));
    let chain = [ca.leaf("web")];

    let first = authz.authorize(&chain);
    assert!(first.is_allowed(), "{}", first.reason());
    assert_eq!(first.origin(), Origin::Fresh);
    assert_eq!(first.reason(), "fake: web => trino");
    assert_eq!(first.consul_reason(), Some("fake: web => trino"));
    let id = first.service_id().unwrap();
    assert_eq!(
        (
            &*id.service,
            &*id.namespace,
            &*id.datacenter,
            &*id.partition,
            &*id.trust_domain
        ),
        ("web", "default", "dc1", "default", TRUST_DOMAIN)
    );
    assert_eq!(first.spiffe_id(), Some(service_uri("web").as_str()));
    assert_eq!(authz.principal(&first), Some("web"));
    assert_eq!(
        first.principal(PrincipalForm::SpiffeId),
        Some(service_uri("web").as_str())
    );

    let second = authz.authorize(&chain);
    assert!(second.is_allowed() && second.from_cache());
    assert_eq!(second.origin(), Origin::Cache);
    assert_eq!(source.calls(), 1);
    let status = authz.status();
    assert_eq!(
        (status.entries, status.source_calls, status.watching),
        (1, 1, false)
    );
    let c = &status.counters;
    assert_eq!(
        (c.allowed, c.denied(), c.cache_hits, c.cache_misses),
        (2, 0, 1, 1)
    );
    assert_eq!((c.source_calls, c.source_errors), (1, 0));
    assert!(c.latency_max_micros >= 1, "{c:?}");
}

/// The default Trino user is unique across tenants: `admin` of namespace `team-b` and of
/// partition `part-1` are not the `admin` of the default namespace; the bare `service`
/// form (opt-in) merges them; groups come from the verified identity unless turned off.
#[test]
fn users_are_qualified_by_namespace_and_partition_and_groups_follow() {
    let Fixture { ca, authz, .. } = fixture(Fake::new(Mode::Allow), settings(60, 30));
    let leaf = |path: &str| ca.issue(LeafSpec::uris(&[&format!("spiffe://{TRUST_DOMAIN}{path}")]));
    let cases = [
        ("/ns/default/dc/dc1/svc/admin", "admin"),
        ("/ns/team-b/dc/dc1/svc/admin", "team-b/admin"),
        (
            "/ap/part-1/ns/team-b/dc/dc1/svc/admin",
            "part-1/team-b/admin",
        ),
    ];
    for (path, user) in cases {
        let answer = authz.authorize(&[leaf(path)]);
        assert!(answer.is_allowed(), "{path}: {}", answer.reason());
        assert_eq!(authz.principal(&answer), Some(user), "{path}");
        assert_eq!(answer.principal(PrincipalForm::Service), Some("admin"));
        let groups = authz.groups(&answer);
        assert_eq!(groups[0], format!("consul:service:{user}"), "{groups:?}");
        assert!(
            groups.contains(&"consul:datacenter:dc1".to_string()),
            "{groups:?}"
        );
    }
    let no_groups = authorizer(
        &store_for(&ca),
        &Fake::new(Mode::Allow),
        AuthzSettings {
            identity_groups: false,
            ..settings(60, 30)
        },
    );
    let answer = no_groups.authorize(&[leaf("/ns/default/dc/dc1/svc/admin")]);
    assert!(answer.is_allowed() && no_groups.groups(&answer).is_empty());
    // A refused chain has neither user nor groups.
    let refused = authz.authorize(&[Ca::new("other").leaf("admin")]);
    assert_eq!(
        (authz.principal(&refused), authz.groups(&refused).len()),
        (None, 0)
    );
}

/// Every answer is counted once, by outcome, code and cache use, refusals before the
/// cache included; the decision source's failures too.
#[test]
fn counters_follow_every_answer() {
    let Fixture {
        ca, source, authz, ..
    } = fixture(Fake::new(Mode::Deny), settings(60, 30));
    let evil = [ca.leaf("evil")];
    for _ in 0..3 {
        assert_eq!(code(&authz.authorize(&evil)), "denied");
    }
    let empty: [&[u8]; 0] = [];
    assert_eq!(code(&authz.authorize(&empty)), "empty-chain");
    assert_eq!(code(&authz.authorize(&[b"junk".as_slice()])), "malformed");
    let foreign = Ca::new("other");
    assert_eq!(
        code(&authz.authorize(&[foreign.leaf("web")])),
        "unknown-issuer"
    );
    assert_eq!(
        code(&authz.refuse(DenyReason::ChainTooLong { count: 99, max: 4 })),
        "chain-too-long"
    );
    source.set(Mode::Fail);
    let web = [ca.leaf("web")];
    assert_eq!(code(&authz.authorize(&web)), "agent-unavailable");

    let c = authz.status().counters;
    let by_code: std::collections::BTreeMap<&str, u64> = DenyReason::CODES
        .iter()
        .copied()
        .zip(c.denied_by_code)
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(
        by_code,
        [
            ("agent-unavailable", 1),
            ("chain-too-long", 1),
            ("denied", 3),
            ("empty-chain", 1),
            ("malformed", 1),
            ("unknown-issuer", 1)
        ]
        .into()
    );
    assert_eq!((c.allowed, c.denied()), (0, 8));
    // Two of the three denials of evil came from the cache.
    assert_eq!((c.cache_hits, c.cache_misses), (2, 6));
    assert_eq!((c.source_calls, c.source_errors), (2, 1));
    assert_eq!(c.denied_with("denied"), 3);
    assert_eq!(c.denied_with("no-such-code"), 0);
}

#[test]
fn intention_denies_keep_consul_reason_and_l7_has_its_own() {
    let Fixture {
        ca, source, authz, ..
    } = fixture(Fake::new(Mode::Deny), settings(60, 30));
    let denied = authz.authorize(&[ca.leaf("evil")]);
    assert_eq!(code(&denied), "denied");
    assert!(
        denied.reason().contains("fake: evil => trino"),
        "{}",
        denied.reason()
    );
    assert_eq!(denied.consul_reason(), Some("fake: evil => trino"));
    assert_eq!(
        denied.service_id().unwrap().service,
        "evil",
        "verified identity is reported"
    );

    source.set(Mode::L7);
    let l7 = authz.authorize(&[ca.leaf("l7")]);
    assert_eq!(code(&l7), "intention-has-http-permissions");
    assert!(l7.reason().contains("HTTP permissions"), "{}", l7.reason());
}

#[test]
fn ttl_epoch_and_roots_changes_force_a_new_decision() {
    let Fixture {
        ca,
        store,
        source,
        authz,
    } = fixture(Fake::new(Mode::Allow), settings(10, 30));
    let chain = [ca.leaf("web")];
    let (t0, wall) = (Instant::now(), SystemTime::now());

    assert_eq!(authz.authorize_at(&chain, t0, wall).origin(), Origin::Fresh);
    let almost = t0 + Duration::from_millis(9_999);
    assert_eq!(
        authz.authorize_at(&chain, almost, wall).origin(),
        Origin::Cache
    );
    let after = t0 + Duration::from_secs(10);
    assert_eq!(
        authz.authorize_at(&chain, after, wall).origin(),
        Origin::Fresh,
        "TTL over"
    );
    assert_eq!(source.calls(), 2);

    authz.invalidate();
    assert_eq!(
        authz.authorize_at(&chain, after, wall).origin(),
        Origin::Fresh,
        "epoch bumped"
    );
    assert_eq!(source.calls(), 3);

    ca.publish(&store, "trino");
    assert_eq!(
        authz.authorize_at(&chain, after, wall).origin(),
        Origin::Fresh,
        "roots republished"
    );
    assert_eq!(
        authz.authorize_at(&chain, after, wall).origin(),
        Origin::Cache
    );
    assert_eq!(source.calls(), 4);

    // Roots that no longer include the issuer: the cached allow is gone and the chain fails.
    let other = Ca::new("Other CA");
    other.publish(&store, "trino");
    let answer = authz.authorize_at(&chain, after, wall);
    assert_eq!(code(&answer), "unknown-issuer");
    assert_eq!(source.calls(), 4);
}

#[test]
fn stale_allow_is_served_only_within_max_stale_and_epoch() {
    let Fixture {
        ca, source, authz, ..
    } = fixture(Fake::new(Mode::Allow), settings(10, 30));
    let chain = [ca.leaf("web")];
    let (t0, wall) = (Instant::now(), SystemTime::now());
    let at = |s: f64| t0 + Duration::from_secs_f64(s);

    assert!(authz.authorize_at(&chain, t0, wall).is_allowed());
    source.set(Mode::Fail);
    // Past the TTL, the source fails: the allow is served stale.
    let stale = authz.authorize_at(&chain, at(11.0), wall);
    assert!(stale.is_allowed());
    assert_eq!(stale.origin(), Origin::StaleCache);
    assert!(stale.from_cache());
    assert_eq!(source.calls(), 2);
    // Re-armed for STALE_RETRY: no new call within that second.
    assert_eq!(
        authz.authorize_at(&chain, at(11.5), wall).origin(),
        Origin::StaleCache
    );
    assert_eq!(source.calls(), 2);
    // Tried again after it, still served.
    assert!(authz.authorize_at(&chain, at(25.0), wall).is_allowed());
    assert_eq!(source.calls(), 3);
    // Past TTL + max-stale: denied, with the failure as the reason.
    let late = authz.authorize_at(&chain, at(40.5), wall);
    assert_eq!(code(&late), "agent-unavailable");
    assert!(
        late.reason().contains("cannot connect"),
        "{}",
        late.reason()
    );
    assert_eq!(authz.status().stale_served, 2);

    // An intentions change forbids serving anything decided before it.
    source.set(Mode::Allow);
    let t1 = at(100.0);
    assert!(authz.authorize_at(&chain, t1, wall).is_allowed());
    source.set(Mode::Fail);
    authz.inner.invalidation.bump();
    let answer = authz.authorize_at(&chain, t1 + Duration::from_secs(1), wall);
    assert_eq!(code(&answer), "agent-unavailable");
}

#[test]
fn denies_and_failures_are_cached_briefly() {
    let Fixture {
        ca, source, authz, ..
    } = fixture(Fake::new(Mode::Deny), settings(60, 30));
    let chain = [ca.leaf("evil")];
    let (t0, wall) = (Instant::now(), SystemTime::now());

    assert_eq!(code(&authz.authorize_at(&chain, t0, wall)), "denied");
    assert_eq!(
        authz
            .authorize_at(&chain, t0 + Duration::from_secs(4), wall)
            .origin(),
        Origin::Cache
    );
    assert_eq!(source.calls(), 1);
    assert_eq!(
        authz.authorize_at(&chain, t0 + DENY_TTL, wall).origin(),
        Origin::Fresh
    );
    assert_eq!(source.calls(), 2);

    // A failure (no allow to fall back on) is a deny cached for ERROR_TTL only.
    source.set(Mode::Fail);
    let t1 = t0 + Duration::from_secs(100);
    assert_eq!(
        code(&authz.authorize_at(&chain, t1, wall)),
        "agent-unavailable"
    );
    assert_eq!(
        authz
            .authorize_at(&chain, t1 + Duration::from_millis(900), wall)
            .origin(),
        Origin::Cache
    );
    source.set(Mode::Allow);
    let recovered = authz.authorize_at(&chain, t1 + ERROR_TTL, wall);
    assert!(recovered.is_allowed() && recovered.origin() == Origin::Fresh);
}

#[test]
fn cached_allow_ends_with_the_certificate() {
    let Fixture {
        ca, source, authz, ..
    } = fixture(Fake::new(Mode::Allow), settings(600, 600));
    let (t0, wall) = (Instant::now(), SystemTime::now());
    let leaf = ca.issue(LeafSpec::service("web").valid(
        wall - Duration::from_secs(60),
        wall + Duration::from_secs(5),
    ));
    let chain = [leaf];
    assert!(authz.authorize_at(&chain, t0, wall).is_allowed());
    assert_eq!(
        authz
            .authorize_at(&chain, t0 + Duration::from_secs(4), wall)
            .origin(),
        Origin::Cache
    );
    let later = Duration::from_secs(7);
    let answer = authz.authorize_at(&chain, t0 + later, wall + later);
    assert_eq!(code(&answer), "expired");
    // Not even as a stale allow when the source fails.
    source.set(Mode::Fail);
    assert_eq!(
        code(&authz.authorize_at(&chain, t0 + later, wall + later)),
        "expired"
    );
}

#[test]
fn verification_failures_are_specific_and_not_cached() {
    let Fixture {
        ca, source, authz, ..
    } = fixture(Fake::new(Mode::Allow), settings(60, 30));
    let now = SystemTime::now();
    let good = ca.leaf("web");
    let foreign = Ca::new("Foreign CA");
    let impostor = Ca::new("Test CA"); // same name as the real root, other key
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("empty-chain", vec![]),
        ("malformed", vec![vec![]]),
        ("malformed", vec![b"garbage bytes, not DER".to_vec()]),
        ("malformed", vec![vec![0x30; MAX_CERT_LEN + 1]]),
        ("malformed", vec![good.clone(), b"garbage".to_vec()]),
        ("chain-too-long", vec![good.clone(); MAX_CHAIN_LEN + 1]),
        ("wrong-order", vec![ca.der.clone(), good.clone()]),
        ("no-spiffe-id", vec![ca.issue(LeafSpec::uris(&[]))]),
        (
            "multiple-uris",
            vec![ca.issue(LeafSpec::uris(&[
                &service_uri("web"),
                &service_uri("admin"),
            ]))],
        ),
        (
            "not-a-service",
            vec![ca.issue(LeafSpec::uris(&[&format!(
                "spiffe://{TRUST_DOMAIN}/agent/client/dc/dc1/id/node1"
            )]))],
        ),
        (
            "not-a-service",
            vec![ca.issue(LeafSpec::uris(&["https://example.com/web"]))],
        ),
        (
            "foreign-trust-domain",
            vec![ca.issue(LeafSpec::uris(&[
                "spiffe://other.consul/ns/default/dc/dc1/svc/web",
            ]))],
        ),
        (
            "expired",
            vec![ca.issue(LeafSpec::service("web").valid(
                now - Duration::from_secs(7200),
                now - Duration::from_secs(3600),
            ))],
        ),
        (
            "not-yet-valid",
            vec![ca.issue(LeafSpec::service("web").valid(
                now + Duration::from_secs(3600),
                now + Duration::from_secs(7200),
            ))],
        ),
        ("unknown-issuer", vec![foreign.leaf("web")]),
        ("bad-signature", vec![impostor.leaf("web")]),
    ];
    for (want, chain) in &cases {
        let answer = authz.authorize(chain);
        assert_eq!(code(&answer), *want, "{}", answer.reason());
        assert!(
            answer.peer().is_none(),
            "no identity for an unverified chain"
        );
        assert_eq!(answer.principal(PrincipalForm::Service), None);
    }
    assert_eq!(source.calls(), 0);
    assert_eq!(authz.status().entries, 0);

    // The pure function gives the same answers and accepts the good chain.
    let roots = ca.roots();
    for (want, chain) in &cases {
        assert_eq!(
            verify_peer(chain, &roots, now, Usage::Client)
                .unwrap_err()
                .code(),
            *want
        );
    }
    let peer = verify_peer(&[&good], &roots, now, Usage::Client).unwrap();
    assert_eq!(peer.spiffe_id, service_uri("web"));
    assert!(peer.not_after >= peer.chain_not_after);
}

#[test]
fn no_roots_and_bad_targets_are_denied() {
    let ca = Ca::new("Test CA");
    let source = Fake::new(Mode::Allow);
    let empty = Arc::new(Store::new());
    let authz = authorizer(&empty, &source, settings(60, 30));
    assert_eq!(code(&authz.authorize(&[ca.leaf("web")])), "no-roots");

    let authz = authorizer(&store_for(&ca), &source, settings(60, 30));
    assert_eq!(
        code(&authz.authorize_for(&[ca.leaf("web")], "bad target")),
        "invalid-target"
    );
    // Another valid target: decided, never cached (its intentions are not watched).
    let chain = [ca.leaf("web")];
    assert!(authz.authorize_for(&chain, "other").is_allowed());
    assert_eq!(authz.authorize_for(&chain, "other").origin(), Origin::Fresh);
    assert_eq!(source.calls(), 2);
    let Err(err) = Authorizer::builder(empty, "bad target")
        .source(source)
        .build()
    else {
        panic!("an authorizer for an invalid target was built");
    };
    assert!(
        matches!(&err, Error::Config { key, reason }
            if key == AUTHZ_TARGET && reason == "`bad target` is not a valid Consul service name"),
        "{err:?}"
    );
}

#[test]
fn concurrent_identical_misses_make_one_call_per_identity() {
    let Fixture {
        ca, source, authz, ..
    } = fixture(
        Fake::slow(Mode::Allow, Duration::from_millis(200)),
        settings(60, 30),
    );
    let authz = Arc::new(authz);
    let chains: Vec<Vec<Vec<u8>>> = ["web", "api", "etl", "bi"]
        .iter()
        .map(|s| vec![ca.leaf(s)])
        .collect();
    let threads = 24;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (authz, barrier) = (authz.clone(), barrier.clone());
            let chain = chains[i % chains.len()].clone();
            std::thread::spawn(move || {
                barrier.wait();
                let answer = authz.authorize(&chain);
                (
                    answer.principal(PrincipalForm::Service).map(str::to_string),
                    answer.is_allowed(),
                    answer.origin(),
                )
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        source.calls(),
        chains.len(),
        "one call per distinct identity"
    );
    let services = ["web", "api", "etl", "bi"];
    for (i, (principal, allowed, _)) in results.iter().enumerate() {
        assert!(*allowed);
        assert_eq!(principal.as_deref(), Some(services[i % services.len()]));
    }
    let fresh = results.iter().filter(|r| r.2 == Origin::Fresh).count();
    assert_eq!(fresh, chains.len());
    assert_eq!(authz.inner.flights.len(), 0);
}

#[test]
fn a_panicking_source_denies_everyone_waiting() {
    let Fixture {
        ca, source, authz, ..
    } = fixture(
        Fake::slow(Mode::Panic, Duration::from_millis(200)),
        settings(60, 30),
    );
    let authz = Arc::new(authz);
    let chain = vec![ca.leaf("web")];
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (authz, barrier, chain) = (authz.clone(), barrier.clone(), chain.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let answer = authz.authorize(&chain);
                (answer.is_allowed(), code(&answer))
            })
        })
        .collect();
    for h in handles {
        assert_eq!(
            h.join().expect("no panic reaches the caller"),
            (false, "agent-unavailable")
        );
    }
    assert_eq!(source.calls(), 1);
}

#[test]
fn distinct_chains_with_the_same_leaf_do_not_share_decisions() {
    let Fixture {
        ca, source, authz, ..
    } = fixture(Fake::new(Mode::Allow), settings(60, 30));
    let leaf = ca.leaf("web");
    assert!(authz.authorize(std::slice::from_ref(&leaf)).is_allowed());
    // Same leaf, plus an extra (valid) certificate: a different key, verified on its own.
    let with_root = authz.authorize(&[leaf.clone(), ca.der.clone()]);
    assert_eq!(with_root.origin(), Origin::Fresh);
    // Same leaf, plus garbage: refused, not served from the leaf's entry.
    assert_eq!(
        code(&authz.authorize(&[leaf.clone(), b"junk".to_vec()])),
        "malformed"
    );
    assert_eq!(source.calls(), 2);
}

#[test]
fn padded_chains_are_refused_without_a_decision_or_a_cache_entry() {
    let Fixture {
        ca, source, authz, ..
    } = fixture(Fake::new(Mode::Allow), settings(60, 30));
    let (web, evil) = (ca.leaf("web"), ca.leaf("evil"));
    assert!(authz.authorize(&[&web]).is_allowed());
    source.set(Mode::Deny);
    assert_eq!(code(&authz.authorize(&[&evil])), "denied");
    assert_eq!((source.calls(), authz.status().entries), (2, 2));

    // Padding that parses: self-signed CAs, leaves of unrelated CAs, a second copy of the
    // leaf. None of it is on the verified path.
    let mut pads: Vec<Vec<Vec<u8>>> = (0..6)
        .map(|i| {
            let other = Ca::new(&format!("Pad CA {i}"));
            if i % 2 == 0 {
                vec![other.der.clone()]
            } else {
                vec![other.leaf("pad"), other.der.clone()]
            }
        })
        .collect();
    pads.push(vec![ca.leaf("other")]);
    let roots = ca.roots();
    for leaf in [&web, &evil] {
        pads.push(vec![leaf.clone()]);
        for pad in &pads {
            let mut chain = vec![leaf.clone()];
            chain.extend(pad.iter().cloned());
            let answer = authz.authorize(&chain);
            assert_eq!(code(&answer), "unused-certificate", "{}", answer.reason());
            assert!(answer.peer().is_none());
            assert_eq!(
                verify_peer(&chain, &roots, SystemTime::now(), Usage::Client)
                    .unwrap_err()
                    .code(),
                "unused-certificate"
            );
        }
    }
    assert_eq!(
        (source.calls(), authz.status().entries),
        (2, 2),
        "padding costs no decision and no cache entry"
    );
    // The legitimate allow was not evicted nor re-asked.
    assert_eq!(authz.authorize(&[&web]).origin(), Origin::Cache);
    assert_eq!(source.calls(), 2);
}

#[test]
fn certificates_of_the_verified_path_may_be_presented() {
    let root = Ca::new("Root CA");
    let inter = root.intermediate("Intermediate CA");
    let source = Fake::new(Mode::Allow);
    let store = Arc::new(Store::new());
    inter.publish(&store, "trino");
    let authz = authorizer(&store, &source, settings(60, 30));
    let leaf = inter.leaf("web");
    let i = inter.der.clone();
    for chain in [
        vec![leaf.clone(), i.clone()],
        vec![leaf.clone(), i.clone(), root.der.clone()],
        vec![leaf.clone(), root.der.clone(), i.clone()],
    ] {
        let answer = authz.authorize(&chain);
        assert!(answer.is_allowed(), "{}", answer.reason());
    }
    for chain in [
        vec![leaf.clone(), i.clone(), i.clone()],
        vec![leaf.clone(), i.clone(), root.der.clone(), root.der.clone()],
    ] {
        assert_eq!(code(&authz.authorize(&chain)), "unused-certificate");
    }
    assert_eq!(source.calls(), 3);
}

#[test]
fn cached_allow_is_refused_once_the_wall_clock_passes_not_after() {
    let Fixture {
        ca, source, authz, ..
    } = fixture(Fake::new(Mode::Allow), settings(600, 600));
    let (t0, wall) = (Instant::now(), SystemTime::now());
    let leaf = ca.issue(LeafSpec::service("web").valid(
        wall - Duration::from_secs(60),
        wall + Duration::from_secs(5),
    ));
    let chain = [leaf];
    assert!(authz.authorize_at(&chain, t0, wall).is_allowed());
    // The wall clock stepped (or the VM resumed) past not_after; the monotonic clock
    // barely moved, so the entry's TTL still runs.
    let stepped = wall + Duration::from_secs(7);
    let answer = authz.authorize_at(&chain, t0 + Duration::from_secs(1), stepped);
    assert_eq!(code(&answer), "expired", "{}", answer.reason());
    assert_eq!(source.calls(), 1, "noticed without asking the source");
    source.set(Mode::Fail);
    assert_eq!(
        code(&authz.authorize_at(&chain, t0 + Duration::from_secs(2), stepped)),
        "expired",
        "not served stale either"
    );
    assert_eq!(source.calls(), 1);
}

/// DER of a root, of an intermediate it signed that is valid until `intermediate_until`,
/// and of a `web` leaf the intermediate signed, valid for an hour.
fn chain_with_short_intermediate(intermediate_until: SystemTime) -> [Vec<u8>; 3] {
    use crate::testing::ca_params;
    let now = SystemTime::now();
    let root_key = KeyPair::generate().unwrap();
    let root_params = ca_params("Root CA");
    let root = root_params.self_signed(&root_key).unwrap();
    let inter_key = KeyPair::generate().unwrap();
    let mut inter_params = ca_params("Short-lived Intermediate CA");
    inter_params.not_before = (now - Duration::from_secs(60)).into();
    inter_params.not_after = intermediate_until.into();
    let inter = inter_params
        .signed_by(&inter_key, &Issuer::from_params(&root_params, &root_key))
        .unwrap();
    let mut leaf_params = CertificateParams::default();
    leaf_params.distinguished_name = DistinguishedName::new();
    leaf_params.subject_alt_names = vec![SanType::URI(service_uri("web").try_into().unwrap())];
    leaf_params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsagePurpose::ServerAuth,
    ];
    leaf_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyAgreement,
    ];
    leaf_params.use_authority_key_identifier_extension = true;
    leaf_params.not_before = (now - Duration::from_secs(60)).into();
    leaf_params.not_after = (now + Duration::from_secs(3600)).into();
    let leaf = leaf_params
        .signed_by(
            &KeyPair::generate().unwrap(),
            &Issuer::from_params(&inter_params, &inter_key),
        )
        .unwrap();
    [
        root.der().to_vec(),
        inter.der().to_vec(),
        leaf.der().to_vec(),
    ]
}

#[test]
fn chain_validity_includes_intermediates_taken_from_the_roots() {
    let (t0, wall) = (Instant::now(), SystemTime::now());
    let until = wall + Duration::from_secs(5);
    let [root, inter, leaf] = chain_with_short_intermediate(until);
    let roots = Roots {
        trust_domain: TRUST_DOMAIN.to_string(),
        roots: vec![Root {
            id: "root".into(),
            cert: root.into(),
            intermediates: vec![inter.into()],
            active: true,
        }],
    };
    let chain = [leaf];
    let peer = verify_peer(&chain, &roots, wall, Usage::Client).unwrap();
    assert_eq!(peer.chain_not_after, unix_seconds(until));
    assert!(peer.not_after > peer.chain_not_after);

    let source = Fake::new(Mode::Allow);
    let store = Arc::new(Store::new());
    store.publish(
        Arc::new(Ca::new("Own CA").own_leaf("trino")),
        Arc::new(roots),
    );
    let authz = authorizer(&store, &source, settings(600, 600));
    assert!(authz.authorize_at(&chain, t0, wall).is_allowed());
    let stepped = wall + Duration::from_secs(7);
    let answer = authz.authorize_at(&chain, t0 + Duration::from_secs(1), stepped);
    assert_eq!(code(&answer), "expired", "{}", answer.reason());
    assert_eq!(source.calls(), 1);
}

#[test]
fn shareable_across_threads() {
    fn check<T: Send + Sync>() {}
    check::<Authorizer>();
    check::<Authorization>();
    check::<AgentDecisionSource>();
}

#[test]
fn the_longest_accepted_ttl_and_stale_bound_do_not_overflow_the_clock_arithmetic() {
    // 365 days is the longest duration setting accepted (config::MAX_DURATION).
    let year = crate::config::MAX_DURATION.as_secs();
    let Fixture {
        ca, source, authz, ..
    } = fixture(Fake::new(Mode::Allow), settings(year, year));
    let chain = [ca.issue(LeafSpec::service("web"))];
    let (t0, wall) = (Instant::now(), SystemTime::now());
    assert!(authz.authorize_at(&chain, t0, wall).is_allowed());
    assert_eq!(authz.authorize_at(&chain, t0, wall).origin(), Origin::Cache);
    // A year and a second later (monotonic) with the agent down: no panic, and no allow
    // either — the entry's deadlines are capped by the certificate's validity.
    source.set(Mode::Fail);
    let later = t0 + Duration::from_secs(year + 1);
    assert_eq!(
        code(&authz.authorize_at(&chain, later, wall)),
        "agent-unavailable"
    );
}

/// The foreign callers' hot path lends exactly the decisions `authorize` would serve from
/// the cache, counted the same, and nothing else: a first request, a changed epoch or
/// roots, a spent TTL and a stale-only entry all fall through to `authorize`.
#[test]
fn cached_lends_only_what_authorize_would_serve_from_the_cache() {
    let Fixture {
        ca,
        store,
        source,
        authz,
    } = fixture(Fake::new(Mode::Allow), settings(1, 30));
    let web = [ca.leaf("web")];
    assert!(authz.cached(&web, |_| ()).is_none(), "nothing decided yet");
    let first = authz.authorize(&web);
    assert!(first.is_allowed());
    let lent = authz
        .cached(&web, |d| {
            (d.is_allowed(), authz.principal(d).map(str::to_owned))
        })
        .expect("a cached allow");
    assert_eq!(lent, (true, Some("web".to_owned())));
    // The very decision `authorize` made, not a copy.
    let same = authz.cached(&web, |d| std::ptr::eq(d, &*first)).unwrap();
    assert!(same);

    let c = authz.status().counters;
    assert_eq!((c.allowed, c.cache_hits, c.cache_misses), (3, 2, 1));

    authz.invalidate();
    assert!(authz.cached(&web, |_| ()).is_none(), "epoch bumped");
    assert!(authz.authorize(&web).is_allowed());
    assert!(authz.cached(&web, |_| ()).is_some());
    ca.publish(&store, "trino");
    assert!(authz.cached(&web, |_| ()).is_none(), "roots republished");
    assert!(authz.authorize(&web).is_allowed());

    // Another chain, a padded one, another target's decisions: never lent.
    assert!(authz.cached(&[ca.leaf("api")], |_| ()).is_none());
    let padded = [web[0].clone(), web[0].clone()];
    assert!(authz.cached(&padded, |_| ()).is_none());
    let empty: [Vec<u8>; 0] = [];
    assert!(authz.cached(&empty, |_| ()).is_none());

    // A cached deny is lent too, with its reason.
    source.set(Mode::Deny);
    let evil = [ca.leaf("evil")];
    assert_eq!(code(&authz.authorize(&evil)), "denied");
    let denied = authz
        .cached(&evil, |d| d.deny_reason().map(DenyReason::code))
        .unwrap();
    assert_eq!(denied, Some("denied"));

    // The TTL (1 s, read from the coarse clock) ends the loan; an entry that is only
    // servable as a stale allow is not lent either.
    std::thread::sleep(Duration::from_millis(1_100));
    assert!(authz.cached(&web, |_| ()).is_none(), "TTL over");
    assert_eq!(source.calls(), 4);
}

/// What a foreign layer attaches to a decision is made once and shared by every answer
/// that reuses the decision; a value of another type is not handed out as this one.
#[test]
fn attachments_are_made_once_per_decision() {
    let Fixture { ca, authz, .. } = fixture(Fake::new(Mode::Allow), settings(60, 30));
    let web = [ca.leaf("web")];
    let first = authz.authorize(&web);
    let made = AtomicUsize::new(0);
    let make = || {
        made.fetch_add(1, Ordering::SeqCst);
        Ok::<_, ()>(String::from("rendered"))
    };
    assert_eq!(
        first.attachment(make).unwrap().map(String::as_str),
        Some("rendered")
    );
    let again = authz.authorize(&web);
    assert_eq!(
        again.attachment(make).unwrap().map(String::as_str),
        Some("rendered")
    );
    let lent = authz
        .cached(&web, |d| d.attachment(make).unwrap().cloned())
        .unwrap();
    assert_eq!(lent.as_deref(), Some("rendered"));
    assert_eq!(made.load(Ordering::SeqCst), 1);
    // Another type: no value (the slot holds the first one), and the maker's error is passed on.
    assert_eq!(first.attachment(|| Ok::<_, ()>(7u32)).unwrap(), None);
    let fresh = Authorization::refused(DenyReason::EmptyChain);
    assert_eq!(fresh.attachment(|| Err::<u32, _>("no")), Err("no"));
}
