//! Talks to a real Consul agent that the test starts: fetches a leaf and the roots through
//! the library's HTTP client (reqwest + rustls) and checks what Consul issued.

mod common;

use common::consul::Consul;
use consul_connect::config::{AgentAddress, AgentSettings};
use consul_connect::x509;
use consul_connect::AgentClient;
use std::time::SystemTime;

fn client(consul: &Consul) -> AgentClient {
    let settings = AgentSettings {
        address: AgentAddress::parse("consul.address", &consul.http_addr(), false).unwrap(),
        ..AgentSettings::default()
    };
    AgentClient::new(&settings).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetches_leaf_and_roots_from_real_agent() {
    let consul = Consul::start();
    let agent = client(&consul);

    let roots = agent.roots(None).await.expect("roots");
    assert!(roots.index > 0);
    assert!(
        roots.value.trust_domain.ends_with(".consul"),
        "{}",
        roots.value.trust_domain
    );
    let active = roots
        .value
        .roots
        .iter()
        .find(|r| r.active)
        .expect("active root");
    assert_eq!(active.id, roots.value.active_root_id);

    let leaf = agent.leaf("web", None).await.expect("leaf");
    assert!(leaf.index > 0);
    let chain = x509::certs_from_pem(leaf.value.cert_pem.as_bytes(), "leaf").unwrap();
    let info = x509::leaf_info(&chain[0]).unwrap();
    assert_eq!(info.id.service, "web");
    assert_eq!(info.id.trust_domain, roots.value.trust_domain);
    assert_eq!(info.id.namespace, "default");
    assert_eq!(info.id.datacenter, "dc1");
    assert_eq!(info.id.to_uri(), leaf.value.service_uri);
    assert_eq!(info.serial, leaf.value.serial_number);
    assert!(info.is_valid_at(SystemTime::now()));

    // The chain verifies against the roots, for both client and server use.
    let root_certs: Vec<_> = roots
        .value
        .roots
        .iter()
        .flat_map(|r| x509::certs_from_pem(r.root_cert.as_bytes(), "root").unwrap())
        .collect();
    x509::verify_chain(
        &chain,
        &root_certs,
        &[],
        SystemTime::now(),
        x509::Usage::Client,
    )
    .unwrap();
    x509::verify_chain(
        &chain,
        &root_certs,
        &[],
        SystemTime::now(),
        x509::Usage::Server,
    )
    .unwrap();

    // The key Consul handed out is the leaf's, and converts to PKCS#8 for Java.
    let key = x509::key_from_pem(leaf.value.private_key_pem.as_bytes(), "leaf key").unwrap();
    let pkcs8 = x509::to_pkcs8(&key).unwrap();
    x509::check_key_matches(&chain[0], &pkcs8).unwrap();

    // A key from another leaf does not match.
    let other = agent.leaf("evil", None).await.expect("second leaf");
    let other_key = x509::key_from_pem(other.value.private_key_pem.as_bytes(), "k").unwrap();
    let err = x509::check_key_matches(&chain[0], &x509::to_pkcs8(&other_key).unwrap()).unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_agent_is_a_clear_error() {
    let consul = Consul::start();
    let addr = consul.http_addr();
    drop(consul);
    let settings = AgentSettings {
        address: AgentAddress::parse("consul.address", &addr, false).unwrap(),
        request_timeout: std::time::Duration::from_secs(2),
        ..AgentSettings::default()
    };
    let err = AgentClient::new(&settings)
        .unwrap()
        .roots(None)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("/v1/agent/connect/ca/roots") && text.contains("cannot connect"),
        "{text}"
    );
}
