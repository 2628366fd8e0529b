//! Cost of reading the current identity: the lock-free snapshot load, the generation
//! check the JCA key manager makes per handshake, and the handle lookup the JNI layer does.

use consul_connect::x509;
use consul_connect::{Leaf, Root, Roots, Store};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::sync::Arc;

fn store() -> Store {
    let ca = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = params.self_signed(&ca).expect("ca");
    let key = rcgen::KeyPair::generate().expect("key");
    let mut leaf = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    leaf.subject_alt_names = vec![rcgen::SanType::URI(
        "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/trino"
            .try_into()
            .expect("uri"),
    )];
    let issuer = rcgen::Issuer::from_params(&params, &ca);
    let leaf_cert = leaf.signed_by(&key, &issuer).expect("leaf");
    let chain = vec![leaf_cert.der().clone()];
    let store = Store::new();
    store.publish(
        Arc::new(Leaf {
            info: x509::leaf_info(&chain[0]).expect("info"),
            chain,
            key_pkcs8: key.serialize_der().into(),
        }),
        Arc::new(Roots {
            trust_domain: "11111111-2222-3333-4444-555555555555.consul".into(),
            roots: vec![Root {
                id: "root".into(),
                cert: ca_cert.der().clone(),
                intermediates: vec![],
                active: true,
            }],
        }),
    );
    store
}

fn bench(c: &mut Criterion) {
    let store = store();
    c.bench_function("snapshot load (Arc clone, lock-free)", |b| {
        b.iter(|| black_box(store.load()))
    });
    c.bench_function("generation read", |b| {
        b.iter(|| black_box(store.generation()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
