//! Cost of authorizing a client chain, without an agent: a Consul-like chain (ECDSA P-256
//! leaf with a SPIFFE URI, signed by an intermediate that chains to a root; ~1 KB of DER)
//! made with rcgen, and an in-process decision source that always allows.
//!
//! `cargo bench --bench authz`; medians are in `target/criterion/authz_*/new/estimates.json`.

use consul_connect::config::AuthzSettings;
use consul_connect::testing::{Ca, LeafSpec};
use consul_connect::x509::Usage;
use consul_connect::Store;
use consul_connect::{verify_peer, Authorizer, DecisionRequest, DecisionSource, Verdict};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

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

/// (peer chain [leaf, intermediate], store with roots and our own leaf)
fn fixture() -> (Vec<Vec<u8>>, Arc<Store>) {
    let root = Ca::new("pri-1abcdefg.consul.ca.11111111.consul");
    let ca = root.intermediate("pri-2hijklmn.consul.ca.11111111.consul");
    let web = ca.issue(LeafSpec::service("web").lifetime(Duration::from_secs(72 * 3600)));
    let store = Arc::new(Store::new());
    ca.publish(&store, "trino");
    (ca.chain(web), store)
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

/// Times `call` on this thread while a second thread runs it in a loop.
fn two_threads(b: &mut criterion::Bencher<'_>, call: impl Fn() + Sync) {
    b.iter_custom(|iters| {
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    call();
                }
            });
            let start = Instant::now();
            for _ in 0..iters {
                call();
            }
            let took = start.elapsed();
            stop.store(true, Ordering::Relaxed);
            took
        })
    })
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

    // The foreign callers' path: the decision lent, not cloned (no reference counting).
    c.bench_function("authz_cached_hit", |b| {
        b.iter(|| authz.cached(black_box(&chain), |d| d.is_allowed()))
    });
    c.bench_function("authz_cached_hit_contended_2_threads", |b| {
        two_threads(b, || {
            black_box(authz.cached(black_box(&chain), |d| d.is_allowed()));
        })
    });

    // The same key hammered by a second thread meanwhile (a Trino worker receiving every
    // request of the coordinator, on more than one thread).
    c.bench_function("authz_hit_contended_2_threads", |b| {
        two_threads(b, || {
            black_box(authz.authorize(black_box(&chain)));
        })
    });

    // Sixteen clients in turn on one thread: every hit but one client's misses the
    // thread's remembered entry and goes through the tables.
    let ca = Ca::new("pri-3opqrstu.consul.ca.11111111.consul");
    let own_store = Arc::new(Store::new());
    ca.publish(&own_store, "trino");
    let clients: Vec<Vec<Vec<u8>>> = (0..16)
        .map(|i| vec![ca.leaf(&format!("client-{i}"))])
        .collect();
    let rotating = authorizer(&own_store);
    assert!(clients.iter().all(|c| rotating.authorize(c).is_allowed()));
    let mut next = 0;
    c.bench_function("authz_cached_hit_16_clients_in_turn", |b| {
        b.iter(|| {
            next = (next + 1) % clients.len();
            rotating.cached(black_box(&clients[next]), |d| d.is_allowed())
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
