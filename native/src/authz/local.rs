//! Local decisions: the intentions for our service, watched from the agent and evaluated in
//! process the way the agent's `POST /v1/agent/connect/authorize` evaluates them (Consul
//! 1.22, `agent/agent_endpoint.go` `AgentConnectAuthorize` and `agent/connect/authz.go`
//! `IntentionMatch`), without a round trip per new client.
//!
//! What the agent does, and so what [`evaluate`] does:
//! - The list is `/v1/connect/intentions/match?by=destination&name=<target>`: every
//!   intention whose destination is the target or `*` (in the target's namespace and
//!   partition, or `*/*`), sorted by precedence, highest first, then by the tuple
//!   (sameness group, peer, partition, namespace, name of the source; partition,
//!   namespace, name of the destination). We sort the same way on receipt.
//! - The first intention whose source covers the client decides: its peer must be empty
//!   (the client is of this cluster: its chain verified against our roots), its
//!   partition (empty meaning `default`) must be the client's, its namespace `*` or the
//!   client's, its name `*` or the client's. The sameness group is not looked at (the
//!   agent does not either).
//! - Precedence is unique per shape of (source, destination) for one source identity, so
//!   two intentions of the same precedence cannot both cover one client; Consul has no
//!   "deny wins" tie rule and needs none. The list order is kept anyway.
//! - An intention with HTTP permissions denies (a layer-4 check cannot honour them):
//!   "Matched L7 intention: …"; a plain one allows when its action is `allow`:
//!   "Matched L4 intention: …", worded like Consul's `Intention.String()`.
//! - Nothing matches: the agent's `default_intention_policy` when set ("Default intention
//!   policy"), else the ACL default policy through the caller's token ("Default behavior
//!   configured by ACLs"; allow with ACLs off). The agent tells nobody without
//!   `agent:read`, so the watch *asks it*: one authorize call per answer of the watch for
//!   a made-up client that no intention in the list covers; its answer is the default.
//!
//! Unknown state is a failure to decide (never an allow): no list yet, the default needed
//! but not learned yet, or a list older than the bound while the watch fails.

use super::decision::{DecisionRequest, DecisionSource, Verdict};
use crate::consul::client::Intention;
use crate::consul::{AgentClient, AuthorizeRequest};
use crate::error::{clip, Error, Result};
use crate::spiffe::{ServiceId, DEFAULT_NAMESPACE, DEFAULT_PARTITION};
use std::cmp::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Endpoint named in the errors of local decisions.
const ENDPOINT: &str = "/v1/connect/intentions/match";

/// What a matching intention does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
    /// It carries HTTP permissions: denied by a layer-4 check.
    Http,
}

/// One intention, ready to be matched.
#[derive(Clone, Debug)]
struct Rule {
    source_name: String,
    source_ns: String,
    /// The source partition as listed (empty for `default`).
    source_partition: String,
    source_peer: String,
    source_sameness_group: String,
    destination_name: String,
    destination_ns: String,
    destination_partition: String,
    precedence: i64,
    effect: Effect,
    /// Consul's reason when this intention decides ("Matched L4 intention: …").
    reason: String,
}

impl Rule {
    fn from_intention(i: &Intention) -> Rule {
        let http = i.permissions.as_ref().is_some_and(|p| !p.is_empty());
        let effect = match (http, i.action.as_str()) {
            (true, _) => Effect::Http,
            (false, "allow") => Effect::Allow,
            // Consul allows on exactly "allow"; anything else denies.
            (false, _) => Effect::Deny,
        };
        Rule {
            reason: clip(&consul_reason(i, http)),
            source_name: i.source_name.clone(),
            source_ns: i.source_ns.clone(),
            source_partition: i.source_partition.clone(),
            source_peer: i.source_peer.clone(),
            source_sameness_group: i.source_sameness_group.clone(),
            destination_name: i.destination_name.clone(),
            destination_ns: i.destination_ns.clone(),
            destination_partition: i.destination_partition.clone(),
            precedence: i.precedence,
            effect,
        }
    }

    /// Whether this intention's source covers a client of this cluster (Consul's
    /// `IntentionMatch` with match type source and an empty peer). No allocation.
    #[inline]
    fn covers(&self, id: &ServiceId) -> bool {
        self.source_peer.is_empty()
            && partition_or_default(&self.source_partition) == id.partition
            && (self.source_ns == "*" || self.source_ns == id.namespace)
            && (self.source_name == "*" || self.source_name == id.service)
    }

    /// Consul's `IntentionPrecedenceSorter`: precedence first (highest first), then the
    /// source and destination tuple, lexicographically.
    fn order(&self, other: &Rule) -> Ordering {
        other.precedence.cmp(&self.precedence).then_with(|| {
            (
                &self.source_sameness_group,
                &self.source_peer,
                &self.source_partition,
                &self.source_ns,
                &self.source_name,
                &self.destination_partition,
                &self.destination_ns,
                &self.destination_name,
            )
                .cmp(&(
                    &other.source_sameness_group,
                    &other.source_peer,
                    &other.source_partition,
                    &other.source_ns,
                    &other.source_name,
                    &other.destination_partition,
                    &other.destination_ns,
                    &other.destination_name,
                ))
        })
    }
}

fn partition_or_default(p: &str) -> &str {
    if p.is_empty() {
        DEFAULT_PARTITION
    } else {
        p
    }
}

/// Consul's reason for a matched intention: "Matched L4 intention: " or "Matched L7
/// intention: " and `Intention.String()`.
fn consul_reason(i: &Intention, http: bool) -> String {
    let id = if i.id.is_empty() {
        String::new()
    } else {
        format!("ID: {}, ", i.id)
    };
    let cluster = if !i.source_sameness_group.is_empty() {
        format!("sameness-group({})/", i.source_sameness_group)
    } else if !i.source_peer.is_empty() {
        format!("peer({})/", i.source_peer)
    } else if !i.source_partition.is_empty() {
        format!("{}/", i.source_partition)
    } else {
        String::new()
    };
    let destination_partition = if i.destination_partition.is_empty() {
        String::new()
    } else {
        format!("{}/", i.destination_partition)
    };
    let detail = if http {
        format!(
            "Permissions: {}",
            i.permissions.as_ref().map_or(0, Vec::len)
        )
    } else {
        format!("Action: {}", i.action.to_uppercase())
    };
    format!(
        "Matched {} intention: {cluster}{}/{} => {destination_partition}{}/{} ({id}Precedence: {}, {detail})",
        if http { "L7" } else { "L4" },
        i.source_ns,
        i.source_name,
        i.destination_ns,
        i.destination_name,
        i.precedence,
    )
}

/// The intentions for one target, in Consul's order.
#[derive(Clone, Debug)]
pub struct IntentionList {
    rules: Vec<Rule>,
    index: u64,
}

impl IntentionList {
    /// The list of a `/v1/connect/intentions/match` answer at Consul index `index`.
    pub(crate) fn new(intentions: &[Intention], index: u64) -> IntentionList {
        let mut rules: Vec<Rule> = intentions.iter().map(Rule::from_intention).collect();
        // Stable: equal tuples (which Consul does not produce) keep the agent's order.
        rules.sort_by(Rule::order);
        IntentionList { rules, index }
    }

    /// How many intentions the list holds.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Consul's index of the list.
    pub fn index(&self) -> u64 {
        self.index
    }
}

/// The agent's answer when no intention matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultPolicy {
    /// Whether such a client is allowed.
    pub allow: bool,
    /// The agent's reason ("Default intention policy", "Default behavior configured by
    /// ACLs", or, from agents before 1.20, "ACLs disabled, access is allowed by default").
    pub reason: String,
}

/// Evaluates `id` against `list` as the agent does. `None` when no intention covers the
/// client and the default is not known.
pub(crate) fn evaluate(
    list: &IntentionList,
    default: Option<&DefaultPolicy>,
    id: &ServiceId,
) -> Option<Verdict> {
    match list.rules.iter().find(|r| r.covers(id)) {
        Some(rule) => Some(match rule.effect {
            Effect::Allow => Verdict::Allow {
                reason: rule.reason.clone(),
            },
            Effect::Deny => Verdict::Deny {
                reason: rule.reason.clone(),
            },
            Effect::Http => Verdict::DenyHttpPermissions {
                reason: rule.reason.clone(),
            },
        }),
        None => default.map(|d| {
            if d.allow {
                Verdict::Allow {
                    reason: d.reason.clone(),
                }
            } else {
                Verdict::Deny {
                    reason: d.reason.clone(),
                }
            }
        }),
    }
}

/// A made-up client of `partition`/`namespace` that no intention of `list` covers, for
/// asking the agent its default; `None` when the list covers every client there (a
/// `*/*` intention), so that the default cannot matter for them.
pub(crate) fn probe_identity(
    list: &IntentionList,
    namespace: &str,
    partition: &str,
) -> Option<ServiceId> {
    const NAME: &str = "consul-connect-default-probe";
    [namespace, NAME].into_iter().find_map(|ns| {
        let id = ServiceId {
            trust_domain: "consul-connect-probe.consul".into(),
            partition: partition.to_string(),
            namespace: ns.to_string(),
            datacenter: "probe".into(),
            service: NAME.into(),
            explicit_partition: partition != DEFAULT_PARTITION,
        };
        (!list.rules.iter().any(|r| r.covers(&id))).then_some(id)
    })
}

/// The state local decisions read, written by the intentions watch.
#[derive(Debug)]
pub(crate) struct LocalState {
    target: String,
    /// The client's namespace and partition settings: the list and the probes are scoped
    /// by them.
    namespace: String,
    partition: String,
    inner: Mutex<Known>,
}

#[derive(Debug, Default)]
struct Known {
    list: Option<Arc<IntentionList>>,
    default: Option<Arc<DefaultPolicy>>,
    /// When the watch last had an answer.
    answered: Option<Instant>,
    /// When the watch started failing (its first failure since its last answer): the list
    /// was current until then, since a pending blocking query returns on any change.
    failing_since: Option<Instant>,
    /// The watch's last failure, cleared by its next answer.
    error: Option<String>,
    /// Why the last attempt to learn the default failed, cleared when one succeeds.
    probe_error: Option<String>,
}

impl LocalState {
    /// State for `target`, scoped like `agent`'s requests.
    pub(crate) fn new(target: &str, agent: &AgentClient) -> LocalState {
        let (namespace, partition) = agent.scope();
        LocalState {
            target: target.to_string(),
            namespace: namespace.unwrap_or(DEFAULT_NAMESPACE).to_string(),
            partition: partition.unwrap_or(DEFAULT_PARTITION).to_string(),
            inner: Mutex::new(Known::default()),
        }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The watch answered with `list` at `now`.
    pub(crate) fn answered(&self, list: IntentionList, now: Instant) {
        let mut k = self.known();
        k.list = Some(Arc::new(list));
        k.answered = Some(now);
        k.failing_since = None;
        k.error = None;
    }

    /// The watch failed at `now`.
    pub(crate) fn failed(&self, error: &Error, now: Instant) {
        let mut k = self.known();
        k.failing_since.get_or_insert(now);
        k.error = Some(error.to_string());
    }

    /// The default learned from the agent; true when it differs from the one known.
    pub(crate) fn learned_default(&self, default: DefaultPolicy) -> bool {
        let mut k = self.known();
        let changed = k.default.as_deref() != Some(&default);
        k.default = Some(Arc::new(default));
        k.probe_error = None;
        changed
    }

    /// The current list, if any.
    pub(crate) fn list(&self) -> Option<Arc<IntentionList>> {
        self.known().list.clone()
    }

    /// Asks the agent what it answers for a client no intention of `list` covers, until
    /// it gives its default (an answer from an intention means its cache trails ours:
    /// asked again shortly). Returns the default, or `None` when the list covers every
    /// client or the agent did not answer.
    pub(crate) async fn probe_default(
        &self,
        agent: &AgentClient,
        list: &IntentionList,
    ) -> Option<DefaultPolicy> {
        let id = probe_identity(list, &self.namespace, &self.partition)?;
        let request = AuthorizeRequest {
            target: self.target.clone(),
            client_cert_uri: id.to_uri(),
            client_cert_serial: "00".into(),
        };
        let mut delay = Duration::from_millis(50);
        let mut last = String::new();
        for _ in 0..6 {
            match agent.authorize(&request).await {
                Ok(answer) if !answer.reason.starts_with("Matched ") => {
                    return Some(DefaultPolicy {
                        allow: answer.authorized,
                        reason: clip(&answer.reason),
                    })
                }
                Ok(answer) => {
                    last = format!(
                    "the agent answered from an intention (`{}`): its intentions trail the watch",
                    clip(&answer.reason)
                )
                }
                Err(e) => last = e.to_string(),
            }
            log::debug!(
                "consul-connect: asking the agent its default intention answer again: {last}"
            );
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        let mut k = self.known();
        if k.default.is_none() && k.probe_error.is_none() {
            log::warn!(
                "consul-connect: cannot learn the agent's answer when no intention for `{}` matches ({last}); such clients are refused until it is known",
                self.target
            );
        }
        k.probe_error = Some(last);
        None
    }
}

/// What a [`LocalDecisionSource`] knows.
#[derive(Clone, Debug)]
pub struct LocalStatus {
    /// The current intentions list, once the watch answered.
    pub list: Option<Arc<IntentionList>>,
    /// The agent's answer when no intention matches, once learned.
    pub default: Option<DefaultPolicy>,
    /// Time since the watch last answered.
    pub age: Option<Duration>,
    /// The watch's last failure, cleared by its next answer.
    pub error: Option<String>,
}

/// Decisions from the intentions for the target, evaluated in process (see the module
/// docs). Built by [`super::AuthorizerBuilder::local_decisions`] (the authorizer's
/// intentions watch feeds it) or, standalone, by [`LocalDecisionSource::watch`].
pub struct LocalDecisionSource {
    state: Arc<LocalState>,
    max_age: Duration,
    /// The standalone source's own watch (stopped on drop) and the epoch it bumps.
    _watch: Option<(super::Watch, Arc<super::intentions::Invalidation>)>,
}

impl std::fmt::Debug for LocalDecisionSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalDecisionSource")
            .field("target", &self.state.target)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl LocalDecisionSource {
    pub(crate) fn fed(state: Arc<LocalState>, max_age: Duration) -> Self {
        LocalDecisionSource {
            state,
            max_age,
            _watch: None,
        }
    }

    /// A standalone source: watches the intentions for `target` through `agent` (a
    /// blocking query of its own, stopped when the source is dropped) and keeps the last
    /// list in force for `max_age` once the watch fails.
    pub fn watch(agent: AgentClient, target: &str, max_age: Duration) -> Result<Self> {
        let state = Arc::new(LocalState::new(target, &agent));
        let invalidation = Arc::new(super::intentions::Invalidation::default());
        let watch = super::Watch::start(
            agent,
            target.to_string(),
            Arc::downgrade(&invalidation),
            Some(state.clone()),
        )?;
        Ok(LocalDecisionSource {
            state,
            max_age,
            _watch: Some((watch, invalidation)),
        })
    }

    /// What the source knows now.
    pub fn status(&self) -> LocalStatus {
        let k = self.state.known();
        LocalStatus {
            list: k.list.clone(),
            default: k.default.as_deref().cloned(),
            age: k.answered.map(|a| a.elapsed()),
            error: k.error.clone(),
        }
    }

    /// [`DecisionSource::decide`] at `now`.
    pub(crate) fn decide_at(&self, request: &DecisionRequest<'_>, now: Instant) -> Result<Verdict> {
        let unknown = |why: String| Err(Error::agent(ENDPOINT, why));
        if request.target != self.state.target {
            return unknown(format!(
                "local decisions know the intentions for `{}` only, not for `{}`",
                self.state.target,
                clip(request.target)
            ));
        }
        let (list, default, probe_error) = {
            let k = self.state.known();
            let Some(list) = k.list.clone() else {
                return unknown(format!(
                    "no intentions list for `{}` yet{}",
                    self.state.target,
                    k.error
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ));
            };
            if let (Some(error), Some(since)) = (&k.error, k.failing_since) {
                let age = now.saturating_duration_since(since);
                if age > self.max_age {
                    return unknown(format!(
                        "the intentions watch for `{}` has failed for {}s, longer than consul.authz.intentions-max-age ({}s), so its last list is no longer used: {error}",
                        self.state.target,
                        age.as_secs(),
                        self.max_age.as_secs()
                    ));
                }
            }
            (list, k.default.clone(), k.probe_error.clone())
        };
        match evaluate(&list, default.as_deref(), &request.peer.id) {
            Some(verdict) => Ok(verdict),
            None => unknown(format!(
                "no intention for `{}` covers {} and the agent's default answer is not known yet{}",
                self.state.target,
                request.peer.spiffe_id,
                probe_error
                    .map(|e| format!(" (asking for it: {e})"))
                    .unwrap_or_default()
            )),
        }
    }
}

impl DecisionSource for LocalDecisionSource {
    fn name(&self) -> &'static str {
        "local"
    }

    fn decide(&self, request: &DecisionRequest<'_>) -> Result<Verdict> {
        self.decide_at(request, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::verify::Peer;

    /// An intention as Consul CE lists it: `source` and `destination` are `ns/name` or
    /// `name` (namespace `default`), `action` is `allow`, `deny` or `l7`.
    fn ixn(source: &str, destination: &str, action: &str) -> Intention {
        let split = |s: &str| match s.split_once('/') {
            Some((ns, n)) => (ns.to_string(), n.to_string()),
            None => ("default".to_string(), s.to_string()),
        };
        let ((sns, sn), (dns, dn)) = (split(source), split(destination));
        let mut i = Intention {
            source_ns: sns,
            source_name: sn,
            destination_ns: dns,
            destination_name: dn,
            ..Intention::default()
        };
        if action == "l7" {
            i.permissions = Some(vec![serde_json::json!({"Action": "allow"})]);
        } else {
            i.action = action.to_string();
        }
        i.precedence = precedence(&i);
        i
    }

    /// Consul's `UpdatePrecedence`, for building test lists.
    fn precedence(i: &Intention) -> i64 {
        let exact = |ns: &str, n: &str| match (ns, n) {
            ("*", _) => 0i64,
            (_, "*") => 1,
            _ => 2,
        };
        let max = 3 * (exact(&i.destination_ns, &i.destination_name) + 1);
        max - (2 - exact(&i.source_ns, &i.source_name))
    }

    fn id(path: &str) -> ServiceId {
        ServiceId::parse(&format!("spiffe://td.consul{path}")).unwrap()
    }

    fn web() -> ServiceId {
        id("/ns/default/dc/dc1/svc/web")
    }

    fn verdict(list: &[Intention], default: Option<bool>, client: &ServiceId) -> Option<Verdict> {
        let default = default.map(|allow| DefaultPolicy {
            allow,
            reason: "Default behavior configured by ACLs".into(),
        });
        evaluate(&IntentionList::new(list, 1), default.as_ref(), client)
    }

    fn short(v: Option<Verdict>) -> String {
        match v {
            Some(Verdict::Allow { reason }) => format!("allow: {reason}"),
            Some(Verdict::Deny { reason }) => format!("deny: {reason}"),
            Some(Verdict::DenyHttpPermissions { reason }) => format!("l7: {reason}"),
            None => "unknown".into(),
        }
    }

    #[test]
    fn precedence_levels_decide_in_order_and_reasons_read_like_consuls() {
        // Every level from 9 (exact => exact) down to 1 (*/* => */*), alternating
        // actions, so each removal of the top one flips the answer.
        let mut all = vec![
            ixn("web", "trino", "allow"),    // 9
            ixn("*", "trino", "deny"),       // 8
            ixn("*/*", "trino", "allow"),    // 7
            ixn("web", "*", "deny"),         // 6
            ixn("*", "*", "allow"),          // 5
            ixn("*/*", "*", "deny"),         // 4
            ixn("web", "*/*", "allow"),      // 3
            ixn("default/*", "*/*", "deny"), // 2
            ixn("*/*", "*/*", "allow"),      // 1
        ];
        let precedences: Vec<i64> = all.iter().map(|i| i.precedence).collect();
        assert_eq!(precedences, [9, 8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(
            short(verdict(&all, Some(false), &web())),
            "allow: Matched L4 intention: default/web => default/trino (Precedence: 9, Action: ALLOW)"
        );
        // The list arrives in any order: sorting puts precedence first.
        all.reverse();
        let mut expect_allow = true;
        while !all.is_empty() {
            let got = verdict(&all, None, &web());
            let top = all.iter().map(|i| i.precedence).max().unwrap();
            assert!(
                short(got.clone()).contains(&format!("Precedence: {top},")),
                "{got:?}"
            );
            assert_eq!(
                matches!(got, Some(Verdict::Allow { .. })),
                expect_allow,
                "{top}"
            );
            all.retain(|i| i.precedence != top);
            expect_allow = !expect_allow;
        }
    }

    #[test]
    fn whole_value_wildcards_namespaces_and_the_default() {
        let list = [
            ixn("api", "trino", "allow"),
            ixn("team-b/*", "trino", "deny"),
            ixn("team-c/db", "trino", "allow"),
        ];
        let c = |p: &str| short(verdict(&list, Some(false), &id(p)));
        assert!(c("/ns/default/dc/dc1/svc/api").starts_with("allow: Matched L4"));
        // A wildcard is a whole value: `api` covers neither `api2` nor `ap`.
        assert_eq!(
            c("/ns/default/dc/dc1/svc/api2"),
            "deny: Default behavior configured by ACLs"
        );
        assert_eq!(
            c("/ns/default/dc/dc1/svc/ap"),
            "deny: Default behavior configured by ACLs"
        );
        // Namespaces are compared, the datacenter is not.
        assert!(
            c("/ns/team-b/dc/dc2/svc/anything").starts_with("deny: Matched L4 intention: team-b/*")
        );
        assert!(c("/ns/team-c/dc/dc9/svc/db").starts_with("allow: Matched L4 intention: team-c/db"));
        assert!(c("/ns/default/dc/dc1/svc/db").starts_with("deny: Default"));
        assert!(c("/ns/team-b2/dc/dc1/svc/api").starts_with("deny: Default"));
        // The default decides only when nothing matches, and is needed then.
        assert_eq!(
            short(verdict(&list, Some(true), &web())),
            "allow: Default behavior configured by ACLs"
        );
        assert_eq!(short(verdict(&list, None, &web())), "unknown");
        assert!(
            short(verdict(&list, None, &id("/ns/default/dc/dc1/svc/api"))).starts_with("allow")
        );
        assert_eq!(
            short(verdict(&[], Some(true), &web())),
            "allow: Default behavior configured by ACLs"
        );
    }

    #[test]
    fn partitions_must_be_equal_and_empty_means_default() {
        let mut other = ixn("web", "trino", "allow");
        other.source_partition = "part-1".into();
        other.destination_partition = "part-1".into();
        let mut plain = ixn("*", "trino", "deny");
        plain.source_partition = String::new();
        let list = [other, plain];
        let c = |p: &str| short(verdict(&list, Some(false), &id(p)));
        assert_eq!(
            c("/ap/part-1/ns/default/dc/dc1/svc/web"),
            "allow: Matched L4 intention: part-1/default/web => part-1/default/trino (Precedence: 9, Action: ALLOW)"
        );
        // The same name in the default partition (with or without `/ap/default`) is
        // covered by the partition-less `*` only.
        assert!(
            c("/ns/default/dc/dc1/svc/web").starts_with("deny: Matched L4 intention: default/*")
        );
        assert!(c("/ap/default/ns/default/dc/dc1/svc/web")
            .starts_with("deny: Matched L4 intention: default/*"));
        assert!(c("/ap/part-2/ns/default/dc/dc1/svc/web").starts_with("deny: Default"));
    }

    #[test]
    fn peer_intentions_never_cover_a_client_of_this_cluster() {
        let mut peered = ixn("web", "trino", "allow");
        peered.source_peer = "other-cluster".into();
        let mut group = ixn("*", "trino", "allow");
        group.source_sameness_group = "sg".into();
        let list = [peered, group, ixn("*", "trino", "deny")];
        // The peer's `web` (precedence 9) does not cover our `web`; the sameness-group
        // intention is matched on its other fields, as the agent does, and sorts after
        // the plain one of equal precedence (its group name is not empty).
        let got = short(verdict(&list, Some(true), &web()));
        assert_eq!(
            got,
            "deny: Matched L4 intention: default/* => default/trino (Precedence: 8, Action: DENY)"
        );
        let list = IntentionList::new(&list, 3);
        assert!(list.rules[0]
            .reason
            .contains("peer(other-cluster)/default/web"));
        assert!(list.rules[2]
            .reason
            .contains("sameness-group(sg)/default/*"));
    }

    #[test]
    fn http_permissions_deny_with_consuls_l7_reason_and_ids_show() {
        let mut l7 = ixn("web", "trino", "l7");
        l7.id = "8f2b".into();
        let list = [l7, ixn("*", "trino", "allow")];
        assert_eq!(
            short(verdict(&list, Some(true), &web())),
            "l7: Matched L7 intention: default/web => default/trino (ID: 8f2b, Precedence: 9, Permissions: 1)"
        );
        assert!(short(verdict(
            &list,
            Some(false),
            &id("/ns/default/dc/dc1/svc/api")
        ))
        .starts_with("allow"));
        // Anything but exactly `allow` denies, as in Consul.
        assert!(
            short(verdict(&[ixn("web", "trino", "Allow")], Some(true), &web()))
                .starts_with("deny: Matched")
        );
    }

    #[test]
    fn equal_precedence_keeps_consuls_tuple_order() {
        // Two intentions of one precedence covering one client cannot come out of Consul
        // (one per source/destination pair), but a list must still decide the same way
        // every time: Consul's tuple order, here by source name.
        let mut a = ixn("web", "trino", "deny");
        a.source_name = "*".into();
        let b = ixn("*", "trino", "allow");
        let one = short(verdict(&[a.clone(), b.clone()], None, &web()));
        let two = short(verdict(&[b, a], None, &web()));
        assert_eq!(one, two);
    }

    #[test]
    fn the_probe_client_is_covered_by_nothing_or_not_asked_for() {
        let list = IntentionList::new(&[ixn("*", "trino", "deny"), ixn("web", "*", "allow")], 1);
        let probe = probe_identity(&list, "default", "default").unwrap();
        // `*` covers every name of the namespace: the probe moves to another namespace.
        assert_ne!(probe.namespace, "default");
        assert!(evaluate(&list, None, &probe).is_none());
        let empty = IntentionList::new(&[], 1);
        let probe = probe_identity(&empty, "default", "part-1").unwrap();
        assert_eq!(probe.namespace, "default");
        assert!(probe.to_uri().contains("/ap/part-1/"));
        let all = IntentionList::new(&[ixn("*/*", "trino", "allow")], 1);
        assert!(probe_identity(&all, "default", "default").is_none());
    }

    fn peer(id: ServiceId) -> Peer {
        Peer::new(id, "01".into(), (0, i64::MAX), i64::MAX)
    }

    fn state() -> Arc<LocalState> {
        Arc::new(LocalState {
            target: "trino".into(),
            namespace: "default".into(),
            partition: "default".into(),
            inner: Mutex::new(Known::default()),
        })
    }

    #[test]
    fn unknown_state_fails_and_an_outage_keeps_the_list_for_the_bound() {
        let state = state();
        let source = LocalDecisionSource::fed(state.clone(), Duration::from_secs(600));
        let client = peer(web());
        let ask = |target: &str, at: Instant| {
            source
                .decide_at(
                    &DecisionRequest {
                        target,
                        peer: &client,
                    },
                    at,
                )
                .map_err(|e| e.to_string())
        };
        let t0 = Instant::now();
        let e = ask("trino", t0).unwrap_err();
        assert!(e.contains("no intentions list for `trino` yet"), "{e}");
        state.failed(&Error::agent("/x", "connection refused"), t0);
        let e = ask("trino", t0).unwrap_err();
        assert!(e.contains("connection refused"), "{e}");

        state.answered(IntentionList::new(&[ixn("api", "trino", "allow")], 5), t0);
        // No intention covers `web` and no default is known yet.
        let e = ask("trino", t0).unwrap_err();
        assert!(e.contains("default answer is not known"), "{e}");
        assert!(state.learned_default(DefaultPolicy {
            allow: false,
            reason: "Default behavior configured by ACLs".into()
        }));
        assert!(matches!(ask("trino", t0), Ok(Verdict::Deny { .. })));
        state.answered(IntentionList::new(&[ixn("web", "trino", "allow")], 6), t0);
        assert!(matches!(ask("trino", t0), Ok(Verdict::Allow { .. })));
        // A healthy watch holds its query for minutes: age alone never expires the list.
        assert!(matches!(
            ask("trino", t0 + Duration::from_secs(3600)),
            Ok(Verdict::Allow { .. })
        ));
        // Outage from t0 + 1 h: the list stays in force up to the bound counted from the
        // first failure (later failures do not move it), then nothing is decided.
        let down = t0 + Duration::from_secs(3600);
        let refused = Error::agent("/x", "connection refused");
        state.failed(&refused, down);
        state.failed(&refused, down + Duration::from_secs(300));
        assert!(matches!(
            ask("trino", down + Duration::from_secs(600)),
            Ok(Verdict::Allow { .. })
        ));
        let e = ask("trino", down + Duration::from_secs(601)).unwrap_err();
        assert!(
            e.contains("intentions-max-age") && e.contains("connection refused"),
            "{e}"
        );
        // The watch answers again: in force again.
        state.answered(
            IntentionList::new(&[ixn("web", "trino", "allow")], 6),
            down + Duration::from_secs(700),
        );
        assert!(matches!(
            ask("trino", down + Duration::from_secs(701)),
            Ok(Verdict::Allow { .. })
        ));
        // Only the watched target is known.
        assert!(ask("other", t0).unwrap_err().contains("not for `other`"));
    }
}
