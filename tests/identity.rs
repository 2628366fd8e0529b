//! The identity core against a real Consul agent: first fetch, CA rotation, agent
//! restart, atomic PEM files, and the files source.

mod common;

use common::consul::{Consul, Mode};
use common::settings::{agent_settings, settings};
use common::wait::eventually;
use consul_connect::x509;
use consul_connect::Identity;
use consul_connect::{KEY_CHAIN_FILE, ROOTS_FILE};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

fn agent_identity(consul: &Consul, service: &str, pem_dir: Option<&Path>) -> Identity {
    let extra: Vec<(&str, &str)> = pem_dir
        .map(|dir| ("consul.pem.directory", dir.to_str().unwrap()))
        .into_iter()
        .collect();
    Identity::open(agent_settings(&consul.http_addr(), service, &extra)).expect("open")
}

/// Parses a key+chain PEM file and checks the key belongs to the first certificate.
fn check_key_chain_file(path: &Path) -> Result<String, String> {
    let text = std::fs::read(path).map_err(|e| e.to_string())?;
    let chain = x509::certs_from_pem(&text, "chain").map_err(|e| e.to_string())?;
    let key = x509::key_from_pem(&text, "key").map_err(|e| e.to_string())?;
    let pkcs8 = x509::to_pkcs8(&key).map_err(|e| e.to_string())?;
    x509::check_key_matches(&chain[0], &pkcs8).map_err(|e| e.to_string())?;
    Ok(x509::leaf_info(&chain[0])
        .map_err(|e| e.to_string())?
        .serial)
}

#[test]
fn first_fetch_publishes_verified_leaf_roots_and_files() {
    let consul = Consul::start();
    let dir = tempfile::tempdir().unwrap();
    let identity = agent_identity(&consul, "trino", Some(dir.path()));
    let snap = identity.wait_ready(Duration::from_secs(30)).expect("ready");

    assert_eq!(snap.generation, 1);
    let id = &snap.leaf.info.id;
    assert_eq!(id.service, "trino");
    assert_eq!(id.trust_domain, snap.roots.trust_domain);
    assert!(snap.roots.trust_domain.ends_with(".consul"));
    assert_eq!(snap.roots.active().unwrap().id, consul.active_root_id());
    x509::verify_chain(
        &snap.leaf.chain,
        &snap.roots.certs(),
        &[],
        SystemTime::now(),
        x509::Usage::Server,
    )
    .unwrap();
    x509::check_key_matches(&snap.leaf.chain[0], &snap.leaf.key_pkcs8).unwrap();

    let status = identity.status();
    assert_eq!(status.generation, 1);
    assert!(
        status.last_success.is_some() && status.last_error.is_none(),
        "{status:?}"
    );
    assert!(status.next_expiry.unwrap() > SystemTime::now() + Duration::from_secs(3600));

    // What the JMX bean shows: the leaf and roots in service, time left, no alarm.
    let now = SystemTime::now();
    let m = identity.metrics(now);
    assert_eq!(m.service.as_deref(), Some("trino"));
    let leaf = m.leaf.as_ref().expect("leaf");
    assert_eq!(leaf.serial, snap.leaf.info.serial);
    assert_eq!(leaf.id.to_string(), snap.leaf.info.id.to_string());
    let left = snap.leaf.info.not_after - x509::unix_seconds(now);
    assert!((left - 1..=left).contains(&m.seconds_to_expiry), "{m:?}");
    assert!(m.seconds_to_expiry > 3600 && !m.in_expiry_alarm, "{m:?}");
    assert_eq!(m.roots_count, snap.roots.roots.len());
    assert_eq!(m.active_root_id, Some(consul.active_root_id()));
    assert_eq!(m.agent_errors, [0; 4]);
    assert_eq!(
        consul_connect::AGENT_ENDPOINTS,
        ["leaf", "roots", "authorize", "intentions"]
    );
    // Within the last tenth of the leaf's lifetime the alarm is on; after it, too.
    let lifetime = (snap.leaf.info.not_after - snap.leaf.info.not_before) as u64;
    let expiry = SystemTime::UNIX_EPOCH + Duration::from_secs(snap.leaf.info.not_after as u64);
    let late = identity.metrics(expiry - Duration::from_secs(lifetime / 20));
    assert!(
        late.in_expiry_alarm && late.seconds_to_expiry > 0,
        "{late:?}"
    );
    let gone = identity.metrics(expiry + Duration::from_secs(5));
    assert!(
        gone.in_expiry_alarm && gone.seconds_to_expiry == -5,
        "{gone:?}"
    );

    for name in [KEY_CHAIN_FILE, ROOTS_FILE] {
        let mode = std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
    assert_eq!(
        check_key_chain_file(&dir.path().join(KEY_CHAIN_FILE)).unwrap(),
        snap.leaf.info.serial
    );
    let roots = x509::certs_from_pem(
        &std::fs::read(dir.path().join(ROOTS_FILE)).unwrap(),
        "roots",
    )
    .unwrap();
    assert_eq!(roots, snap.roots.certs());
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn ca_rotation_reaches_snapshot_and_files_while_readers_loop() {
    let consul = Consul::start();
    let dir = tempfile::tempdir().unwrap();
    let identity = agent_identity(&consul, "trino", Some(dir.path()));
    let first = identity.wait_ready(Duration::from_secs(30)).unwrap();
    let old_root = first.roots.active().unwrap().id.clone();

    // A reader loops over the key+chain file the whole time: it must never see a
    // partial or mismatched file.
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (stop, reads) = (stop.clone(), reads.clone());
        let path = dir.path().join(KEY_CHAIN_FILE);
        std::thread::spawn(move || {
            let mut serials = std::collections::BTreeSet::new();
            while !stop.load(Ordering::Relaxed) {
                let serial = check_key_chain_file(&path)
                    .unwrap_or_else(|e| panic!("reader saw a bad file: {e}"));
                serials.insert(serial);
                reads.fetch_add(1, Ordering::Relaxed);
            }
            serials
        })
    };

    consul.rotate_ca("ec", 384);
    // Consul re-issues leaves after a CA rotation with up to 30 s of jitter, plus load.
    eventually(
        Duration::from_secs(60),
        "new root and re-issued leaf",
        || {
            identity.snapshot().is_some_and(|s| {
                s.roots.active().is_some_and(|r| r.id != old_root)
                    && s.leaf.info.serial != first.leaf.info.serial
            })
        },
    );
    let snap = identity.snapshot().unwrap();
    let new_root = snap.roots.active().unwrap();
    assert_eq!(new_root.id, consul.active_root_id());
    // The old root stays trusted while Consul still lists it.
    assert!(
        snap.roots
            .roots
            .iter()
            .any(|r| r.id == old_root && !r.active),
        "old root kept during rotation"
    );
    // The new leaf chains to the new root alone.
    x509::verify_chain(
        &snap.leaf.chain,
        std::slice::from_ref(&new_root.cert),
        &new_root.intermediates,
        SystemTime::now(),
        x509::Usage::Client,
    )
    .unwrap();
    // The files follow.
    eventually(Duration::from_secs(10), "files follow", || {
        check_key_chain_file(&dir.path().join(KEY_CHAIN_FILE))
            .ok()
            .as_deref()
            == Some(snap.leaf.info.serial.as_str())
    });
    let status = identity.status();
    assert!(
        status.leaf_rotations >= 1 && status.roots_rotations >= 1,
        "{status:?}"
    );

    // Two more reads by the reader, so that it has read the file since it changed (it may
    // be slow on a loaded machine).
    let seen = reads.load(Ordering::Relaxed);
    eventually(Duration::from_secs(10), "the reader reads on", || {
        reads.load(Ordering::Relaxed) >= seen + 2
    });
    stop.store(true, Ordering::Relaxed);
    let serials = reader.join().expect("reader thread");
    assert!(reads.load(Ordering::Relaxed) > 10);
    assert!(
        serials.contains(&snap.leaf.info.serial),
        "reader saw the new leaf: {serials:?}"
    );
}

#[test]
fn agent_restart_keeps_last_good_material_and_recovers() {
    let mut consul = Consul::start_mode(Mode::Persistent);
    let identity = agent_identity(&consul, "trino", None);
    let before = identity.wait_ready(Duration::from_secs(60)).unwrap();

    consul.stop();
    eventually(Duration::from_secs(15), "the outage is reported", || {
        identity.status().last_error.is_some()
    });
    std::thread::sleep(Duration::from_secs(2));
    // Material stays readable, unchanged, during the outage.
    let during = identity.snapshot().expect("snapshot kept");
    assert_eq!(during.generation, before.generation);
    assert_eq!(during.leaf.chain, before.leaf.chain);
    let error = identity.status().last_error.unwrap().1;
    assert!(
        error.contains("Consul agent") && error.contains("cannot connect"),
        "{error}"
    );
    // The bean's view of the outage: failed requests on both watched endpoints, the
    // leaf still in service.
    let m = identity.metrics(SystemTime::now());
    let [leaf_errors, roots_errors, authorize_errors, _] = m.agent_errors;
    assert!(leaf_errors >= 1 && roots_errors >= 1, "{m:?}");
    assert_eq!(authorize_errors, 0);
    assert_eq!(
        m.leaf.as_ref().map(|l| l.serial.as_str()),
        Some(before.leaf.info.serial.as_str())
    );
    assert!(m.status.last_error.is_some());

    let restarted = SystemTime::now();
    consul.restart();
    eventually(
        Duration::from_secs(30),
        "watchers recover by themselves",
        || {
            let s = identity.status();
            s.last_error.is_none() && s.last_success.is_some_and(|t| t > restarted)
        },
    );
    let after = identity.snapshot().unwrap();
    assert_eq!(after.roots.trust_domain, before.roots.trust_domain);
}

/// Writes the three files of the files source from a leaf fetched from the agent.
fn write_files_from_agent(consul: &Consul, service: &str, dir: &Path) {
    let (_, leaf) = consul.request("GET", &format!("/v1/agent/connect/ca/leaf/{service}"), None);
    let (_, roots) = consul.request("GET", "/v1/agent/connect/ca/roots", None);
    let leaf: serde_json::Value = serde_json::from_str(&leaf).unwrap();
    let roots: serde_json::Value = serde_json::from_str(&roots).unwrap();
    let root_pem: String = roots["Roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["RootCert"].as_str().unwrap().to_string())
        .collect();
    write_atomically(&dir.join("roots.pem"), root_pem.as_bytes());
    write_atomically(
        &dir.join("chain.pem"),
        leaf["CertPEM"].as_str().unwrap().as_bytes(),
    );
    write_atomically(
        &dir.join("key.pem"),
        leaf["PrivateKeyPEM"].as_str().unwrap().as_bytes(),
    );
}

fn write_atomically(path: &Path, content: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn files_source_follows_rewrites_and_never_publishes_a_broken_pair() {
    let consul = Consul::start();
    let dir = tempfile::tempdir().unwrap();
    write_files_from_agent(&consul, "trino", dir.path());
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let (key, chain, roots) = (p("key.pem"), p("chain.pem"), p("roots.pem"));
    let identity = Identity::open(settings(&[
        ("consul.identity.source", "files"),
        ("consul.identity.files.key", &key),
        ("consul.identity.files.chain", &chain),
        ("consul.identity.files.roots", &roots),
        ("consul.identity.files.poll-interval", "100ms"),
    ]))
    .unwrap();
    let first = identity.wait_ready(Duration::from_secs(10)).unwrap();
    assert_eq!(first.leaf.info.id.service, "trino");

    // Renamed into place: picked up.
    write_files_from_agent(&consul, "trino-2", dir.path());
    eventually(Duration::from_secs(5), "rename picked up", || {
        identity.snapshot().unwrap().leaf.info.id.service == "trino-2"
    });
    let generation = identity.snapshot().unwrap().generation;

    // Half-written chain: not published, error reported.
    let good_chain = std::fs::read(&chain).unwrap();
    std::fs::write(&chain, &good_chain[..good_chain.len() / 2]).unwrap();
    eventually(
        Duration::from_secs(5),
        "half-written chain reported as malformed PEM",
        || {
            identity
                .status()
                .last_error
                .is_some_and(|(_, e)| e.contains("leaf certificate: malformed PEM"))
        },
    );
    assert_eq!(identity.snapshot().unwrap().generation, generation);

    // Key of another leaf next to this chain: not published.
    std::fs::write(&chain, &good_chain).unwrap();
    let (_, other) = consul.request("GET", "/v1/agent/connect/ca/leaf/other", None);
    let other: serde_json::Value = serde_json::from_str(&other).unwrap();
    let good_key = std::fs::read(&key).unwrap();
    std::fs::write(&key, other["PrivateKeyPEM"].as_str().unwrap()).unwrap();
    eventually(Duration::from_secs(5), "mismatch reported", || {
        identity
            .status()
            .last_error
            .is_some_and(|(_, e)| e.contains("does not match"))
    });
    assert_eq!(identity.snapshot().unwrap().generation, generation);
    assert_eq!(identity.snapshot().unwrap().leaf.info.id.service, "trino-2");

    // Rewritten in place with a good pair again: recovers (same material → same generation).
    std::fs::write(&key, &good_key).unwrap();
    eventually(Duration::from_secs(5), "recovered", || {
        identity.status().last_error.is_none()
    });
    write_files_from_agent(&consul, "trino-3", dir.path());
    eventually(Duration::from_secs(5), "in-place rewrite picked up", || {
        identity.snapshot().unwrap().leaf.info.id.service == "trino-3"
    });
    assert!(identity.snapshot().unwrap().generation > generation);
}

/// A files-source leaf dated a few seconds ahead of this node's clock (issued by a CA
/// whose clock is ahead) is not published while it is not valid yet, and is published once
/// it is, without the files changing.
#[test]
fn files_source_publishes_a_leaf_once_its_not_before_has_passed() {
    use consul_connect::testing::{Ca, LeafSpec};
    let ca = Ca::new("files CA");
    let starts = SystemTime::now() + Duration::from_secs(6);
    let (chain_pem, key_pem) =
        ca.leaf_pem(LeafSpec::service("trino").valid(starts, starts + Duration::from_secs(3600)));
    let dir = tempfile::tempdir().unwrap();
    write_atomically(&dir.path().join("key.pem"), key_pem.as_bytes());
    write_atomically(&dir.path().join("chain.pem"), chain_pem.as_bytes());
    write_atomically(&dir.path().join("roots.pem"), ca.pem.as_bytes());
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let identity = Identity::open(settings(&[
        ("consul.identity.source", "files"),
        ("consul.identity.files.key", &p("key.pem")),
        ("consul.identity.files.chain", &p("chain.pem")),
        ("consul.identity.files.roots", &p("roots.pem")),
        ("consul.identity.files.poll-interval", "100ms"),
    ]))
    .unwrap();
    eventually(
        Duration::from_secs(4),
        "not-yet-valid leaf reported",
        || {
            identity
                .status()
                .last_error
                .is_some_and(|(_, e)| e.contains("not valid before"))
        },
    );
    assert!(
        identity.snapshot().is_none(),
        "published before its notBefore"
    );
    let snap = identity
        .wait_ready(Duration::from_secs(20))
        .expect("published once its notBefore passed");
    assert!(SystemTime::now() + Duration::from_secs(1) >= starts);
    assert_eq!(snap.leaf.info.id.service, "trino");
    assert!(
        identity.status().last_error.is_none(),
        "{:?}",
        identity.status()
    );
}
