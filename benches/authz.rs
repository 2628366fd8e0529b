//! Cost of authorizing a client chain, without an agent: a Consul-like chain (ECDSA P-256
//! leaf with a SPIFFE URI, signed by an intermediate that chains to a root; ~1 KB of DER)
//! made with rcgen, and an in-process decision source that always allows.
//!
//! `cargo bench --bench authz`; medians are in `target/criterion/authz_*/new/estimates.json`.

use consul_connect::authz::{verify_peer, Authorizer, DecisionRequest, DecisionSource, Verdict};
use consul_connect::config::AuthzSettings;
use consul_connect::snapshot::{Leaf, Root, Roots, Store};
use consul_connect::x509::{self, Usage};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const TD: &str = "9d412ea3-ba4c-7f2e-08a8-63ae4892d0ed.consul";

struct AllowAll;

impl DecisionSource for AllowAll {
    fn name(&self) -> &'static str {
        "allow-all"
    }

    fn decide(&self, request: &DecisionRequest<'_>) -> consul_connect::Result<Verdict> {
        Ok(Verdict::Allow {
            reason: format!(
                "Matched L4 intention: default/{} => default/{} (Precedence: 9, Action: ALLOW)",
                request.peer.id.service, request.target
            ),
        })
    }
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn leaf_params(service: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    let uri = format!("spiffe://{TD}/ns/default/dc/dc1/svc/{service}");
    params.subject_alt_names = vec![SanType::URI(uri.try_into().expect("URI"))];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsagePurpose::ServerAuth,
    ];
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyAgreement,
    ];
    let now = SystemTime::now();
    params.not_before = (now - Duration::from_secs(60)).into();
    params.not_after = (now + Duration::from_secs(72 * 3600)).into();
    params
}

/// (peer chain [leaf, intermediate], store with roots and our own leaf)
fn fixture() -> (Vec<Vec<u8>>, Arc<Store>) {
    let root_key = KeyPair::generate().expect("key");
    let root_params = ca_params("pri-1abcdefg.consul.ca.9d412ea3.consul");
    let root = root_params.self_signed(&root_key).expect("root");
    let root_issuer = Issuer::from_params(&root_params, &root_key);
    let int_key = KeyPair::generate().expect("key");
    let int_params = ca_params("pri-2hijklmn.consul.ca.9d412ea3.consul");
    let intermediate = int_params
        .signed_by(&int_key, &root_issuer)
        .expect("intermediate");
    let int_issuer = Issuer::from_params(&int_params, &int_key);
    let issue = |service: &str| {
        let key = KeyPair::generate().expect("key");
        let cert = leaf_params(service)
            .signed_by(&key, &int_issuer)
            .expect("leaf");
        (cert.der().to_vec(), key)
    };
    let (web, _) = issue("web");
    let (trino, trino_key) = issue("trino");
    let chain = vec![web, intermediate.der().to_vec()];

    let store = Arc::new(Store::new());
    let own = Leaf {
        info: x509::leaf_info(&trino).expect("leaf info"),
        chain: vec![trino.into(), intermediate.der().clone()],
        key_pkcs8: trino_key.serialize_der().into(),
    };
    let roots = Roots {
        trust_domain: TD.into(),
        roots: vec![Root {
            id: "root".into(),
            cert: root.der().clone(),
            intermediates: vec![],
            active: true,
        }],
    };
    store.publish(Arc::new(own), Arc::new(roots));
    (chain, store)
}

fn authorizer(store: &Arc<Store>) -> Authorizer {
    Authorizer::builder(store.clone(), "trino")
        .settings(&AuthzSettings {
            cache_ttl: Duration::from_secs(3600),
            ..AuthzSettings::default()
        })
        .source(Arc::new(AllowAll))
        .build()
        .expect("authorizer")
}

fn bench(c: &mut Criterion) {
    let (chain, store) = fixture();
    let bytes: usize = chain.iter().map(Vec::len).sum();
    eprintln!("chain: {} certificates, {bytes} bytes of DER", chain.len());
    let authz = authorizer(&store);
    assert!(authz.authorize(&chain).is_allowed());

    c.bench_function("authz_hit", |b| {
        b.iter(|| {
            let answer = authz.authorize(black_box(&chain));
            debug_assert!(answer.from_cache());
            answer
        })
    });

    // The same key hammered by a second thread meanwhile (a Trino worker receiving every
    // request of the coordinator, on more than one thread).
    c.bench_function("authz_hit_contended_2_threads", |b| {
        b.iter_custom(|iters| {
            let stop = AtomicBool::new(false);
            std::thread::scope(|s| {
                s.spawn(|| {
                    while !stop.load(Ordering::Relaxed) {
                        black_box(authz.authorize(black_box(&chain)));
                    }
                });
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(authz.authorize(black_box(&chain)));
                }
                let took = start.elapsed();
                stop.store(true, Ordering::Relaxed);
                took
            })
        })
    });

    let roots = store.load().expect("snapshot").roots.clone();
    c.bench_function("authz_verify_peer", |b| {
        b.iter(|| verify_peer(black_box(&chain), &roots, SystemTime::now(), Usage::Client))
    });

    // A first sight: verification, the (fake) decision, the cache insert.
    c.bench_function("authz_miss_cold", |b| {
        b.iter_batched(
            || authorizer(&store),
            |fresh| {
                let answer = fresh.authorize(black_box(&chain));
                assert!(answer.is_allowed());
                fresh
            },
            BatchSize::SmallInput,
        )
    });

    // A decision refresh after an intentions change (verification reused).
    c.bench_function("authz_miss_after_invalidation", |b| {
        b.iter_batched(
            || authz.invalidate(),
            |()| authz.authorize(black_box(&chain)),
            BatchSize::PerIteration,
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
