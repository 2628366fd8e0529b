//! Faults a real agent will not make on demand — 5xx, hangs, truncated or malformed JSON,
//! a certificate that does not match its key, a leaf for another service, empty roots, an
//! index going backwards — served by a fake agent that replays real Consul answers.
//! Nothing bad is published, every fault is reported, nothing panics, and the watchers
//! recover by themselves.

mod common;

use common::consul::Consul;
use common::fake_agent::{FakeAgent, Fault};
use common::settings::agent_settings;
use common::wait::{holds_within, poll};
use consul_connect::Identity;
use std::time::Duration;

fn field_swap(json: &str, field: &str, from: &str) -> String {
    let mut a: serde_json::Value = serde_json::from_str(json).unwrap();
    let b: serde_json::Value = serde_json::from_str(from).unwrap();
    a[field] = b[field].clone();
    a.to_string()
}

fn open(address: &str) -> Identity {
    let quick = [
        ("consul.request-timeout", "1s"),
        ("consul.watch.wait", "1s"),
    ];
    Identity::open(agent_settings(address, "trino", &quick)).unwrap()
}

/// Waits until the status error satisfies `check`, then asserts that nothing was published.
fn expect_reported(
    identity: &Identity,
    generation: u64,
    serial: &str,
    what: &str,
    check: impl Fn(&str) -> bool,
) -> String {
    let error = poll(Duration::from_secs(20), || {
        let (_, e) = identity.status().last_error?;
        check(&e).then_some(e)
    })
    .unwrap_or_else(|| panic!("{what}: not reported; status {:?}", identity.status()));
    let snap = identity.snapshot().expect("last good snapshot stays");
    assert_eq!(
        snap.generation, generation,
        "{what}: nothing new may be published"
    );
    assert_eq!(snap.leaf.info.serial, serial, "{what}: the good leaf stays");
    error
}

fn expect_recovered(identity: &Identity, what: &str) {
    assert!(
        holds_within(Duration::from_secs(20), || identity
            .status()
            .last_error
            .is_none()),
        "{what}: no recovery; status {:?}",
        identity.status()
    );
}

#[test]
fn faults_are_reported_and_never_published() {
    let consul = Consul::start();
    let roots = consul.request("GET", "/v1/agent/connect/ca/roots", None).1;
    let leaf = consul
        .request("GET", "/v1/agent/connect/ca/leaf/trino", None)
        .1;
    let other = consul
        .request("GET", "/v1/agent/connect/ca/leaf/other", None)
        .1;
    let evil = consul
        .request("GET", "/v1/agent/connect/ca/leaf/evil", None)
        .1;

    let fake = FakeAgent::start(roots.clone(), leaf.clone());
    let identity = open(&fake.address());
    let first = identity
        .wait_ready(Duration::from_secs(20))
        .expect("ready through the fake");
    let (generation, serial) = (first.generation, first.leaf.info.serial.clone());

    type Check = Box<dyn Fn(&str) -> bool>;
    let cases: Vec<(&str, Fault, bool, Check)> = vec![
        (
            "HTTP 500",
            Fault::ServerError,
            false,
            Box::new(|e: &str| e.contains("500") && e.contains("No cluster leader")),
        ),
        (
            "truncated body",
            Fault::Truncated,
            false,
            Box::new(|e: &str| e.contains("Consul agent http://127.0.0.1")),
        ),
        (
            "not JSON",
            Fault::Body("<html>proxy error</html>".into()),
            false,
            Box::new(|e: &str| e.contains("Consul agent") && e.contains("/v1/agent/connect/ca/")),
        ),
        (
            "JSON of the wrong shape",
            Fault::Body(r#"{"CertPEM": 42}"#.into()),
            true,
            Box::new(|e: &str| e.contains("/v1/agent/connect/ca/leaf/trino")),
        ),
        (
            "garbage PEM",
            Fault::Body(field_swap(
                &leaf,
                "CertPEM",
                r#"{"CertPEM":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}"#,
            )),
            true,
            Box::new(|e: &str| e.contains("certificate")),
        ),
        (
            "certificate with another leaf's key",
            Fault::Body(field_swap(&leaf, "PrivateKeyPEM", &other)),
            true,
            Box::new(|e: &str| e.contains("key")),
        ),
        (
            "leaf of another service",
            Fault::Body(evil.clone()),
            true,
            Box::new(|e: &str| e.contains("`evil`") && e.contains("`trino`")),
        ),
        (
            "empty roots",
            Fault::Body(field_swap(&roots, "Roots", r#"{"Roots": []}"#)),
            false,
            Box::new(|e: &str| e.contains("http://127.0.0.1") && e.contains("empty roots")),
        ),
        (
            "hang",
            Fault::Hang,
            false,
            Box::new(|e: &str| e.contains("time")),
        ),
    ];
    for (what, fault, leaf_only, check) in cases {
        fake.set(fault, leaf_only);
        let error = expect_reported(&identity, generation, &serial, what, check);
        println!("{what}: {error}");
        assert!(
            !error.contains("PRIVATE KEY") && !error.contains("BEGIN"),
            "{what}: error leaks material: {error}"
        );
        fake.set(Fault::None, false);
        expect_recovered(&identity, what);
        assert_eq!(
            identity.snapshot().unwrap().generation,
            generation,
            "{what}: recovery republished nothing"
        );
    }

    // An index that goes backwards (agent state reset) is followed, not stuck on.
    let before = fake.requests();
    fake.set_index(2);
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        fake.requests() > before + 2,
        "watchers keep polling after the index went backwards"
    );
    assert!(
        identity.status().last_error.is_none(),
        "{:?}",
        identity.status()
    );

    // Real new material after all that is still picked up: nothing died.
    consul.rotate_ca("ec", 384);
    // Consul re-issues leaves after a CA rotation with up to 30 s of jitter; a loaded
    // machine adds to that.
    // Compared by the SerialNumber field: a short serial such as `0a` also occurs by
    // chance inside the PEM text, so a substring test could wait forever.
    let serial_of = |json: &str| {
        serde_json::from_str::<serde_json::Value>(json).unwrap()["SerialNumber"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let old_serial = serial_of(&leaf);
    let (new_roots, new_leaf) = poll(Duration::from_secs(60), || {
        let new_leaf = consul
            .request("GET", "/v1/agent/connect/ca/leaf/trino", None)
            .1;
        (serial_of(&new_leaf) != old_serial).then(|| {
            let new_roots = consul.request("GET", "/v1/agent/connect/ca/roots", None).1;
            (new_roots, new_leaf)
        })
    })
    .expect("Consul did not re-issue the leaf");
    fake.set_bodies(Some(new_roots), Some(new_leaf));
    assert!(
        holds_within(Duration::from_secs(20), || identity
            .snapshot()
            .unwrap()
            .leaf
            .info
            .serial
            != serial),
        "new material not published: {:?}",
        identity.status()
    );
    assert!(identity.snapshot().unwrap().generation > generation);
}
