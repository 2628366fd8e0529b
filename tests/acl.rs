//! The minimal ACL policy of a Trino node's token, against a real Consul agent with ACLs
//! on and `default_policy = "deny"`: with only [`POLICY`], a node gets its leaf and the
//! roots, authorizes callers and follows intention changes through the intentions watch;
//! with either half of the rule taken away, the step that needs it fails with Consul's
//! "Permission denied" in the identity's status, the deny reason or the watch's status
//! (for local decisions too: the default answer, asked of the authorize endpoint, needs
//! `service:write`).
//! The README section "Consul ACL policy for a Trino node's token" quotes this policy.

mod common;

use common::consul::{Consul, Mode};
use common::settings::agent_settings;
use common::wait::eventually;
use consul_connect::config::Settings;
use consul_connect::x509;
use consul_connect::{
    AgentClient, AgentDecisionSource, Authorization, Authorizer, DecisionRequest, DecisionSource,
    Identity, LocalDecisionSource, Peer, ServiceId, Verdict,
};
use std::sync::Arc;
use std::time::Duration;

/// The minimal policy: everything the library calls, for service `trino`.
const POLICY: &str = r#"service "trino" {
  policy     = "write"
  intentions = "read"
}"#;

/// [`POLICY`] without `service:write` (intention read kept).
const WITHOUT_WRITE: &str = r#"service "trino" {
  policy     = "read"
  intentions = "read"
}"#;

/// [`POLICY`] without intention read (`service:write` kept; write alone would imply read).
const WITHOUT_INTENTION_READ: &str = r#"service "trino" {
  policy     = "write"
  intentions = "deny"
}"#;

/// Settings of `trino`'s identity with `token`; a long decision TTL, so that a change of
/// answer can only come from the intentions watch.
fn node_settings(consul: &Consul, token: &str) -> Settings {
    agent_settings(
        &consul.http_addr(),
        "trino",
        &[("consul.token", token), ("consul.authz.cache-ttl", "10m")],
    )
}

/// An authorizer for target `trino` on `identity`'s store that asks the agent and watches
/// intentions with `token` (which may differ from the identity's).
fn authorizer(consul: &Consul, identity: &Identity, token: &str) -> Authorizer {
    authorizer_for(&node_settings(consul, token), identity)
}

/// An authorizer for target `trino` on `identity`'s store with the agent settings of `s`.
fn authorizer_for(s: &Settings, identity: &Identity) -> Authorizer {
    let agent = AgentClient::new(&s.agent).expect("client");
    Authorizer::builder(identity.store().clone(), "trino")
        .settings(&s.authz)
        .decision_timeout(s.agent.request_timeout)
        .source(Arc::new(
            AgentDecisionSource::new(agent.clone(), s.agent.request_timeout).expect("source"),
        ))
        .watch_intentions(agent)
        .build()
        .expect("authorizer")
}

/// The DER chain Consul issues for `service` (asked with the management token).
fn consul_leaf(consul: &Consul, service: &str) -> Vec<Vec<u8>> {
    let (status, body) =
        consul.request("GET", &format!("/v1/agent/connect/ca/leaf/{service}"), None);
    assert_eq!(status, 200, "{body}");
    let leaf: serde_json::Value = serde_json::from_str(&body).expect("leaf JSON");
    x509::certs_from_pem(
        leaf["CertPEM"].as_str().expect("CertPEM").as_bytes(),
        "leaf",
    )
    .expect("PEM")
    .into_iter()
    .map(|c| c.to_vec())
    .collect()
}

fn set_intention(consul: &Consul, source: &str, action: &str) {
    let path = format!("/v1/connect/intentions/exact?source={source}&destination=trino");
    let body = format!(r#"{{"Action":"{action}"}}"#);
    let (status, text) = consul.request("PUT", &path, Some(&body));
    assert_eq!(status, 200, "intention {source}: {text}");
}

fn code(answer: &Authorization) -> &'static str {
    answer.deny_reason().map_or("allowed", |r| r.code())
}

/// Asserts `text` is Consul's refusal for lack of `permission` on `trino`.
fn assert_denied_for(text: &str, permission: &str) {
    assert!(
        text.contains("403")
            && text.contains("Permission denied")
            && text.contains(&format!("lacks permission '{permission}' on \"trino\"")),
        "expected a 403 for {permission}: {text}"
    );
}

#[test]
fn minimal_policy_is_enough_and_each_part_is_needed() {
    let consul = Consul::start_mode(Mode::Acl);
    set_intention(&consul, "web", "allow");
    set_intention(&consul, "evil", "deny");
    let token = consul.create_token("trino-node", POLICY);
    let without_write = consul.create_token("trino-node-without-write", WITHOUT_WRITE);
    let without_intention_read =
        consul.create_token("trino-node-without-intention-read", WITHOUT_INTENTION_READ);

    // Control 1 (first: once the agent has a leaf for `trino` in its cache, it hands it
    // out without checking the caller's token again; see the end of the test): without
    // service:write there is no leaf, and the identity says why.
    let refused = Identity::open(node_settings(&consul, &without_write)).expect("open");
    assert!(refused.wait_ready(Duration::from_secs(3)).is_err());
    let error = refused.status().last_error.expect("an error is reported").1;
    assert!(error.contains("/v1/agent/connect/ca/leaf/trino"), "{error}");
    assert_denied_for(&error, "service:write");
    assert!(refused.snapshot().is_none());
    refused.close();
    eprintln!("without service:write, identity: {error}");

    // The roots need no permission at all.
    let (status, body) = consul.request_as(None, "GET", "/v1/agent/connect/ca/roots", None);
    assert_eq!(status, 200, "roots without a token: {body}");

    // With the minimal policy: leaf and roots.
    let identity = Identity::open(node_settings(&consul, &token)).expect("open");
    let snap = identity.wait_ready(Duration::from_secs(30)).expect("ready");
    assert_eq!(snap.leaf.info.id.service, "trino");
    assert!(!snap.roots.certs().is_empty());
    let status = identity.status();
    assert!(status.last_error.is_none(), "{status:?}");

    // Authorize: web allowed, evil denied by its intention.
    let authz = authorizer(&consul, &identity, &token);
    eventually(
        Duration::from_secs(10),
        "the intentions watch answers",
        || authz.status().intentions_index.is_some(),
    );
    let web = consul_leaf(&consul, "web");
    let evil = consul_leaf(&consul, "evil");
    let answer = authz.authorize(&web);
    assert!(answer.is_allowed(), "{}", answer.reason());
    let answer = authz.authorize(&evil);
    assert_eq!(code(&answer), "denied", "{}", answer.reason());
    assert!(
        answer.consul_reason().is_some_and(|r| r.contains("DENY")),
        "{}",
        answer.reason()
    );

    // The intentions watch works under the token: flipping web to deny drops the cached
    // allow (TTL 10 minutes) within seconds.
    set_intention(&consul, "web", "deny");
    let took = eventually(Duration::from_secs(5), "web denied after the flip", || {
        !authz.authorize(&web).is_allowed()
    });
    assert_eq!(code(&authz.authorize(&web)), "denied");
    let watch = authz.status();
    assert!(watch.intentions_error.is_none(), "{watch:?}");
    eprintln!("minimal policy: web denied {took:?} after the intention flip");
    set_intention(&consul, "web", "allow");
    eventually(Duration::from_secs(5), "web allowed again", || {
        authz.authorize(&web).is_allowed()
    });

    // Control 2: without service:write, authorize is refused (fail closed, with Consul's
    // reason); the intentions watch still works (intention read is enough for it).
    let no_write = authorizer(&consul, &identity, &without_write);
    eventually(
        Duration::from_secs(10),
        "the watch answers without service:write",
        || no_write.status().intentions_index.is_some(),
    );
    let answer = no_write.authorize(&web);
    assert_eq!(code(&answer), "agent-unavailable", "{}", answer.reason());
    assert!(
        answer.reason().contains("/v1/agent/connect/authorize"),
        "{}",
        answer.reason()
    );
    assert_denied_for(answer.reason(), "service:write");
    assert!(no_write.status().intentions_error.is_none());
    eprintln!("without service:write, authorize: {}", answer.reason());
    no_write.close();

    // Control 3: without intention read, the watch fails loudly (its status carries
    // Consul's 403 and it never gets an index), and so does authorize, whose agent-side
    // intention lookup runs with the caller's token.
    let no_read = authorizer(&consul, &identity, &without_intention_read);
    eventually(
        Duration::from_secs(10),
        "the watch reports its failure",
        || no_read.status().intentions_error.is_some(),
    );
    let watch = no_read.status();
    let watch_error = watch.intentions_error.clone().unwrap();
    assert!(watch.intentions_index.is_none(), "{watch:?}");
    assert!(
        watch_error.contains("/v1/connect/intentions/match"),
        "{watch_error}"
    );
    assert_denied_for(&watch_error, "intention:read");
    eprintln!("without intention read, watch: {watch_error}");
    let answer = no_read.authorize(&web);
    assert_eq!(code(&answer), "agent-unavailable", "{}", answer.reason());
    assert_denied_for(answer.reason(), "intention:read");
    eprintln!("without intention read, authorize: {}", answer.reason());
    no_read.close();
    // `policy = "write"` alone implies intention read (Consul's default for a service
    // rule with policy read or write); the policy spells it out.
    let write_only = consul.create_token(
        "trino-write-only",
        r#"service "trino" { policy = "write" }"#,
    );
    let (status, body) = consul.request_as(
        Some(&write_only),
        "GET",
        "/v1/connect/intentions/match?by=destination&name=trino",
        None,
    );
    assert_eq!(
        status, 200,
        "intention match with policy write only: {body}"
    );

    // The leaf itself needs no intention read (first fetch of another service's leaf
    // with the same shape of policy).
    let other = consul.create_token(
        "other-without-intention-read",
        r#"service "other" {
  policy     = "write"
  intentions = "deny"
}"#,
    );
    let (status, body) =
        consul.request_as(Some(&other), "GET", "/v1/agent/connect/ca/leaf/other", None);
    assert_eq!(status, 200, "leaf without intention read: {body}");

    // Consul 1.22 caveat (observed, not required of Consul): the agent serves a leaf it
    // has cached to any caller, so once a node has fetched its leaf, service:write
    // guards only the first issue and renewals.
    let (status, _) = consul.request_as(
        Some(&without_write),
        "GET",
        "/v1/agent/connect/ca/leaf/trino",
        None,
    );
    eprintln!("cached leaf of trino asked for without service:write: HTTP {status}");

    authz.close();
    identity.close();
}

/// Local decisions with a token that lacks `service:write`: the watch (intention read)
/// works, so clients an intention covers are decided; the default answer cannot be asked
/// of the authorize endpoint, so clients no intention covers are refused, saying why.
#[test]
fn local_decisions_without_service_write_name_the_missing_permission() {
    let consul = Consul::start_mode(Mode::Acl);
    set_intention(&consul, "web", "allow");
    let without_write = consul.create_token("trino-node-without-write", WITHOUT_WRITE);
    let s = node_settings(&consul, &without_write);
    let local = LocalDecisionSource::watch(
        AgentClient::new(&s.agent).expect("client"),
        "trino",
        Duration::from_secs(600),
    )
    .expect("local");
    let ask = |service: &str| {
        let id = ServiceId::parse(&format!(
            "spiffe://td.consul/ns/default/dc/dc1/svc/{service}"
        ))
        .expect("id");
        let peer = Peer::new(id, "01".into(), (0, i64::MAX), i64::MAX);
        local
            .decide(&DecisionRequest {
                target: "trino",
                peer: &peer,
            })
            .map_err(|e| e.to_string())
    };
    eventually(Duration::from_secs(10), "the watch answers", || {
        ask("web").is_ok()
    });
    assert!(matches!(ask("web"), Ok(Verdict::Allow { .. })));
    // The default is asked for a few times over about 3 s before the reason is kept.
    eventually(Duration::from_secs(10), "the probe gives up", || {
        ask("api").is_err_and(|e| e.contains("asking for it"))
    });
    let error = ask("api").unwrap_err();
    assert!(error.contains("default answer is not known"), "{error}");
    assert_denied_for(&error, "service:write");
    eprintln!("local decisions without service:write, no intention: {error}");
}

/// Writes `token` into `path` the way a token rotation tool does: a temporary file in the
/// same directory, renamed over the old one.
fn replace_token_file(path: &std::path::Path, token: &str) {
    let temp = path.with_extension("new");
    std::fs::write(&temp, format!("{token}\n")).expect("write token");
    std::fs::rename(&temp, path).expect("rename token");
}

/// A node whose token is revoked keeps what it has (leaf, roots), refuses new callers with
/// Consul's ACL error (never the token), and recovers without a restart once a new token is
/// written into its `consul.token-file`.
#[test]
fn a_revoked_token_is_replaced_through_the_token_file() {
    let consul = Consul::start_mode(Mode::Acl);
    set_intention(&consul, "web", "allow");
    let first = consul.create_token("trino-node", POLICY);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("consul-token");
    replace_token_file(&file, &first);
    let file_setting = file.display().to_string();
    // Short TTL and watch wait: decisions and blocking queries go back to the agent (with
    // the token of the moment) within seconds; stale allows for 1 ms only, so a refusal shows at once.
    let s = agent_settings(
        &consul.http_addr(),
        "trino",
        &[
            ("consul.token-file", &file_setting),
            ("consul.authz.cache-ttl", "1s"),
            ("consul.authz.max-stale", "1ms"),
            ("consul.watch.wait", "2s"),
        ],
    );
    let identity = Identity::open(s.clone()).expect("open");
    let before = identity.wait_ready(Duration::from_secs(30)).expect("ready");
    let authz = authorizer_for(&s, &identity);
    let web = consul_leaf(&consul, "web");
    assert!(authz.authorize(&web).is_allowed());

    // Revoked: once the decision's TTL is over, web is refused with Consul's ACL error.
    consul.revoke_token(&first);
    let took = eventually(Duration::from_secs(10), "refused after the revoke", || {
        !authz.authorize(&web).is_allowed()
    });
    let answer = authz.authorize(&web);
    assert_eq!(code(&answer), "agent-unavailable", "{}", answer.reason());
    let reason = answer.reason().to_string();
    assert!(
        reason.contains("403")
            && reason.contains("ACL not found")
            && reason.contains("does not know the ACL token"),
        "the refusal names the ACL problem: {reason}"
    );
    assert!(!reason.contains(&first), "{reason}");
    eprintln!("revoked token detected after {took:?}: {reason}");
    // The intentions watch reports it too (its next blocking query, within the 2 s wait).
    eventually(
        Duration::from_secs(10),
        "the watch reports the revoke",
        || authz.status().intentions_error.is_some(),
    );
    let watch_error = authz.status().intentions_error.unwrap_or_default();
    assert!(watch_error.contains("403"), "{watch_error}");
    assert!(!watch_error.contains(&first), "{watch_error}");
    // Nothing good is thrown away: the same leaf and roots are still served.
    let during = identity.snapshot().expect("snapshot kept");
    assert_eq!(during.leaf.info.serial, before.leaf.info.serial);
    if let Some((_, error)) = identity.status().last_error {
        assert!(!error.contains(&first), "{error}");
    }

    // A new token in the file: picked up by the next request, no restart.
    let second = consul.create_token("trino-node-2", POLICY);
    replace_token_file(&file, &second);
    let took = eventually(
        Duration::from_secs(10),
        "allowed with the new token",
        || authz.authorize(&web).is_allowed(),
    );
    eventually(Duration::from_secs(10), "the watch recovers", || {
        authz.status().intentions_error.is_none()
    });
    eprintln!("new token picked up after {took:?}");
    assert!(identity.snapshot().is_some());

    // A token file emptied by mistake: the last good token stays in use (web still allowed
    // after its decision expired), and the identity's status says why, without the token.
    std::fs::write(&file, "").expect("empty the token file");
    eventually(
        Duration::from_secs(10),
        "the status reports the file",
        || {
            identity
                .status()
                .last_error
                .is_some_and(|(_, e)| e.contains("is empty"))
        },
    );
    let error = identity
        .status()
        .last_error
        .map(|(_, e)| e)
        .unwrap_or_default();
    assert!(error.contains("still using the last token"), "{error}");
    assert!(!error.contains(&second), "{error}");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(authz.authorize(&web).is_allowed());
    replace_token_file(&file, &second);
    eventually(Duration::from_secs(10), "the status clears", || {
        identity.status().last_error.is_none()
    });
    authz.close();
    identity.close();
}
