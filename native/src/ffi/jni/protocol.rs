//! The Java types the exports return, and how each is built from the core's values.
//!
//! Every result that has more than one field is a Java object built here, never an
//! `Object[]` read by position: a record's canonical constructor where its components
//! are plain (`ServiceIdentity`, `ConnectPeer`, `ConnectDecision`), a static
//! `fromNative` factory with primitive parameters where the record holds `List`,
//! `Instant` or `Optional` (`ConnectAnswer`, `IdentitySnapshot`, `IdentityStatus`,
//! `IdentityMetrics`, `AuthorizationMetrics`). The JNI signature is
//! checked when the call is made: a Java type that does not match fails loudly with
//! `NoSuchMethodError`, it is never misread.
//!
//! Classes are looked up by name from inside the native method, so they resolve through
//! the class loader of the bridge class that declared it (each Trino plugin copy gets its
//! own types; see `share`).

use super::marshal::Failure;
use crate::authz::{Authorization, Authorizer, AuthzStatus, Decision, DenyReason, Origin, Peer};
use crate::consul::ENDPOINTS;
use crate::error::Error;
use crate::identity::{Metrics, Snapshot, Status};
use crate::spiffe::ServiceId;
use jni::objects::{JObject, JValue};
use jni::JNIEnv;
use std::time::{SystemTime, UNIX_EPOCH};

/// `io.consulconnect.ServiceIdentity`.
pub(crate) const SERVICE_IDENTITY: &str = "io/consulconnect/ServiceIdentity";
/// `io.consulconnect.ConnectAnswer`.
pub(crate) const CONNECT_ANSWER: &str = "io/consulconnect/ConnectAnswer";
/// `io.consulconnect.ConnectDecision`.
pub(crate) const CONNECT_DECISION: &str = "io/consulconnect/ConnectDecision";
/// `io.consulconnect.jca.ConnectPeer`.
pub(crate) const CONNECT_PEER: &str = "io/consulconnect/jca/ConnectPeer";
/// `io.consulconnect.identity.IdentitySnapshot`.
pub(crate) const IDENTITY_SNAPSHOT: &str = "io/consulconnect/identity/IdentitySnapshot";
/// `io.consulconnect.identity.IdentityStatus`.
pub(crate) const IDENTITY_STATUS: &str = "io/consulconnect/identity/IdentityStatus";
/// `io.consulconnect.metrics.IdentityMetrics`.
pub(crate) const IDENTITY_METRICS: &str = "io/consulconnect/metrics/IdentityMetrics";
/// `io.consulconnect.metrics.AuthorizationMetrics`.
pub(crate) const AUTHORIZATION_METRICS: &str = "io/consulconnect/metrics/AuthorizationMetrics";

const STRING: &str = "Ljava/lang/String;";

/// `ServiceIdentity(trustDomain, partition, namespace, datacenter, service)`.
pub(crate) fn service_identity<'l>(
    env: &mut JNIEnv<'l>,
    id: &ServiceId,
) -> Result<JObject<'l>, Failure> {
    let fields = [
        id.trust_domain.as_str(),
        &id.partition,
        &id.namespace,
        &id.datacenter,
        &id.service,
    ];
    construct_from_strings(env, SERVICE_IDENTITY, &fields)
}

/// `ConnectPeer(spiffeId, trustDomain, partition, namespace, datacenter, service, serial)`.
pub(crate) fn connect_peer<'l>(env: &mut JNIEnv<'l>, peer: &Peer) -> Result<JObject<'l>, Failure> {
    let id = &peer.id;
    let fields = [
        peer.spiffe_id.as_str(),
        &id.trust_domain,
        &id.partition,
        &id.namespace,
        &id.datacenter,
        &id.service,
        &peer.serial,
    ];
    construct_from_strings(env, CONNECT_PEER, &fields)
}

/// `ConnectDecision(boolean allowed, String code, String reason, String consulReason,
/// String spiffeId, ServiceIdentity service, String principal, String origin)`; absent
/// values are null.
pub(crate) fn connect_decision<'l>(
    env: &mut JNIEnv<'l>,
    answer: &Authorization,
    principal: Option<&str>,
) -> Result<JObject<'l>, Failure> {
    let code = answer.deny_reason().map_or("allowed", |r| r.code());
    let code = env.new_string(code)?;
    let reason = env.new_string(answer.reason())?;
    let consul_reason = optional_string(env, answer.consul_reason())?;
    let spiffe_id = optional_string(env, answer.spiffe_id())?;
    let service = match answer.service_id() {
        Some(id) => service_identity(env, id)?,
        None => JObject::null(),
    };
    let principal = optional_string(env, principal)?;
    let origin = env.new_string(origin_code(answer.origin()))?;
    let sig = format!("(Z{STRING}{STRING}{STRING}{STRING}L{SERVICE_IDENTITY};{STRING}{STRING})V");
    Ok(env.new_object(
        CONNECT_DECISION,
        sig,
        &[
            JValue::Bool(answer.is_allowed().into()),
            JValue::Object(&code),
            JValue::Object(&reason),
            JValue::Object(&consul_reason),
            JValue::Object(&spiffe_id),
            JValue::Object(&service),
            JValue::Object(&principal),
            JValue::Object(&origin),
        ],
    )?)
}

/// `ConnectAnswer.fromNative(String user, String[] groups, String code, String reason)`:
/// for an allowed client its Trino user and groups (`code` null), for a refused one the
/// refusal's code and reason (`user` and `groups` null).
pub(crate) fn connect_answer<'l>(
    env: &mut JNIEnv<'l>,
    authorizer: &Authorizer,
    decision: &Decision,
) -> Result<JObject<'l>, Failure> {
    let (user, groups, code) = match (decision.is_allowed(), authorizer.principal(decision)) {
        (true, Some(user)) => {
            let groups: Vec<&str> = authorizer
                .groups(decision)
                .iter()
                .map(String::as_str)
                .collect();
            (
                JObject::from(env.new_string(user)?),
                string_array(env, &groups)?,
                JObject::null(),
            )
        }
        _ => {
            let code = decision.deny_reason().map_or("denied", DenyReason::code);
            (
                JObject::null(),
                JObject::null(),
                JObject::from(env.new_string(code)?),
            )
        }
    };
    let reason = env.new_string(decision.reason())?;
    let sig = format!("({STRING}[{STRING}{STRING}{STRING})L{CONNECT_ANSWER};");
    let value = env.call_static_method(
        CONNECT_ANSWER,
        "fromNative",
        sig,
        &[
            JValue::Object(&user),
            JValue::Object(&groups),
            JValue::Object(&code),
            JValue::Object(&reason),
        ],
    )?;
    Ok(value.l()?)
}

/// `IdentitySnapshot.fromNative(long generation, byte[][] chain, byte[] keyPkcs8,
/// byte[][] roots, String[] rootIds, String activeRootId, String trustDomain,
/// String spiffeId, String serial, long notBeforeMillis, long notAfterMillis)`. The
/// caller of `snapshot()` zeroes the key bytes once it has made its key.
pub(crate) fn identity_snapshot<'l>(
    env: &mut JNIEnv<'l>,
    snap: &Snapshot,
) -> Result<JObject<'l>, Failure> {
    let chain: Vec<&[u8]> = snap.leaf.chain.iter().map(|c| c.as_ref()).collect();
    let roots: Vec<&[u8]> = snap.roots.roots.iter().map(|r| r.cert.as_ref()).collect();
    let ids: Vec<&str> = snap.roots.roots.iter().map(|r| r.id.as_str()).collect();
    let active = snap
        .roots
        .roots
        .iter()
        .find(|r| r.active)
        .map(|r| r.id.as_str());
    let info = &snap.leaf.info;

    let chain = byte_arrays(env, &chain)?;
    let key = JObject::from(env.byte_array_from_slice(&snap.leaf.key_pkcs8)?);
    let roots = byte_arrays(env, &roots)?;
    let ids = string_array(env, &ids)?;
    let active = optional_string(env, active)?;
    let trust_domain = env.new_string(&snap.roots.trust_domain)?;
    let spiffe_id = env.new_string(info.id.to_string())?;
    let serial = env.new_string(&info.serial)?;
    let sig =
        format!("(J[[B[B[[B[{STRING}{STRING}{STRING}{STRING}{STRING}JJ)L{IDENTITY_SNAPSHOT};");
    let value = env.call_static_method(
        IDENTITY_SNAPSHOT,
        "fromNative",
        sig,
        &[
            JValue::Long(long(snap.generation)),
            JValue::Object(&chain),
            JValue::Object(&key),
            JValue::Object(&roots),
            JValue::Object(&ids),
            JValue::Object(&active),
            JValue::Object(&trust_domain),
            JValue::Object(&spiffe_id),
            JValue::Object(&serial),
            JValue::Long(info.not_before.saturating_mul(1000)),
            JValue::Long(info.not_after.saturating_mul(1000)),
        ],
    )?;
    Ok(value.l()?)
}

/// `IdentityStatus.fromNative(long generation, long lastSuccessMillis, String lastError,
/// long lastErrorMillis, long nextExpiryMillis, long leafRotations, long rootsRotations,
/// boolean leafExpired)`; absent times are -1, an absent error is null.
pub(crate) fn identity_status<'l>(
    env: &mut JNIEnv<'l>,
    status: &Status,
) -> Result<JObject<'l>, Failure> {
    let (error_time, error) = match &status.last_error {
        Some((t, e)) => (Some(*t), Some(e.as_str())),
        None => (None, None),
    };
    let error = optional_string(env, error)?;
    let sig = format!("(JJ{STRING}JJJJZ)L{IDENTITY_STATUS};");
    let value = env.call_static_method(
        IDENTITY_STATUS,
        "fromNative",
        sig,
        &[
            JValue::Long(long(status.generation)),
            JValue::Long(millis(status.last_success)),
            JValue::Object(&error),
            JValue::Long(millis(error_time)),
            JValue::Long(millis(status.next_expiry)),
            JValue::Long(long(status.leaf_rotations)),
            JValue::Long(long(status.roots_rotations)),
            JValue::Bool(status.leaf_expired.into()),
        ],
    )?;
    Ok(value.l()?)
}

/// `IdentityMetrics.fromNative(String service, String spiffeId, String serial,
/// long notBeforeMillis, long notAfterMillis, long secondsToExpiry, boolean inExpiryAlarm,
/// boolean leafExpired, long generation, long leafRotations, long rootsRotations,
/// int rootsCount, String activeRootId, long lastSuccessMillis, String lastError,
/// long lastErrorMillis, String[] agentEndpoints, long[] agentErrors)`; absent strings are
/// null, absent times -1.
pub(crate) fn identity_metrics<'l>(
    env: &mut JNIEnv<'l>,
    metrics: &Metrics,
) -> Result<JObject<'l>, Failure> {
    let leaf = metrics.leaf.as_ref();
    let status = &metrics.status;
    let service = optional_string(env, metrics.service.as_deref())?;
    let spiffe_id = optional_string(env, leaf.map(|l| l.id.to_string()).as_deref())?;
    let serial = optional_string(env, leaf.map(|l| l.serial.as_str()))?;
    let active = optional_string(env, metrics.active_root_id.as_deref())?;
    let (error_time, error) = match &status.last_error {
        Some((t, e)) => (Some(*t), Some(e.as_str())),
        None => (None, None),
    };
    let error = optional_string(env, error)?;
    let endpoints = string_array(env, &ENDPOINTS)?;
    let errors = long_array(env, &metrics.agent_errors)?;
    let sig = format!(
        "({STRING}{STRING}{STRING}JJJZZJJJI{STRING}J{STRING}J[{STRING}[J)L{IDENTITY_METRICS};"
    );
    let value = env.call_static_method(
        IDENTITY_METRICS,
        "fromNative",
        sig,
        &[
            JValue::Object(&service),
            JValue::Object(&spiffe_id),
            JValue::Object(&serial),
            JValue::Long(leaf.map_or(-1, |l| l.not_before.saturating_mul(1000))),
            JValue::Long(leaf.map_or(-1, |l| l.not_after.saturating_mul(1000))),
            JValue::Long(metrics.seconds_to_expiry),
            JValue::Bool(metrics.in_expiry_alarm.into()),
            JValue::Bool(status.leaf_expired.into()),
            JValue::Long(long(status.generation)),
            JValue::Long(long(status.leaf_rotations)),
            JValue::Long(long(status.roots_rotations)),
            JValue::Int(i32::try_from(metrics.roots_count).unwrap_or(i32::MAX)),
            JValue::Object(&active),
            JValue::Long(millis(status.last_success)),
            JValue::Object(&error),
            JValue::Long(millis(error_time)),
            JValue::Object(&endpoints),
            JValue::Object(&errors),
        ],
    )?;
    Ok(value.l()?)
}

/// `AuthorizationMetrics.fromNative(boolean started, String target, long allowed,
/// long denied, String[] denyCodes, long[] deniedByCode, long cacheHits, long cacheMisses,
/// long cacheSize, long cacheCapacity, long cacheEvictions, long staleAllowsServed,
/// long intentionsEpoch, String intentionsWatchError, long agentCalls,
/// long agentCallErrors, long latencyP50Micros, long latencyP90Micros,
/// long latencyP99Micros, long latencyMaxMicros)`. `authorizer` is the target and status
/// of the running authorizer; without one, zeros and `started = false`.
pub(crate) fn authorization_metrics<'l>(
    env: &mut JNIEnv<'l>,
    authorizer: Option<&(String, AuthzStatus)>,
) -> Result<JObject<'l>, Failure> {
    let target = optional_string(env, authorizer.map(|(t, _)| t.as_str()))?;
    let status = authorizer.map(|(_, s)| s);
    let c = status.map(|s| s.counters.clone()).unwrap_or_default();
    let codes = string_array(env, &DenyReason::CODES)?;
    let denied = long_array(env, &c.denied_by_code)?;
    let watch_error = optional_string(env, status.and_then(|s| s.intentions_error.as_deref()))?;
    let source = optional_string(env, status.map(|s| s.decision_source))?;
    let size = |f: fn(&AuthzStatus) -> u64| JValue::Long(long(status.map_or(0, f)));
    let sig =
        format!("(Z{STRING}{STRING}JJ[{STRING}[JJJJJJJJ{STRING}JJJJJJ)L{AUTHORIZATION_METRICS};");
    let value = env.call_static_method(
        AUTHORIZATION_METRICS,
        "fromNative",
        sig,
        &[
            JValue::Bool(authorizer.is_some().into()),
            JValue::Object(&target),
            JValue::Object(&source),
            JValue::Long(long(c.allowed)),
            JValue::Long(long(c.denied())),
            JValue::Object(&codes),
            JValue::Object(&denied),
            JValue::Long(long(c.cache_hits)),
            JValue::Long(long(c.cache_misses)),
            size(|s| s.entries as u64),
            size(|s| s.capacity as u64),
            size(|s| s.evictions),
            JValue::Long(long(c.stale_served)),
            size(|s| s.epoch),
            JValue::Object(&watch_error),
            JValue::Long(long(c.source_calls)),
            JValue::Long(long(c.source_errors)),
            JValue::Long(long(c.latency_p50_micros)),
            JValue::Long(long(c.latency_p90_micros)),
            JValue::Long(long(c.latency_p99_micros)),
            JValue::Long(long(c.latency_max_micros)),
        ],
    )?;
    Ok(value.l()?)
}

/// The stable name of an answer's origin, as `ConnectDecision.origin` documents it.
fn origin_code(origin: Origin) -> &'static str {
    match origin {
        Origin::Fresh => "fresh",
        Origin::Shared => "shared",
        Origin::Cache => "cache",
        Origin::StaleCache => "stale-cache",
    }
}

/// A class whose constructor takes exactly these strings.
fn construct_from_strings<'l>(
    env: &mut JNIEnv<'l>,
    class: &str,
    fields: &[&str],
) -> Result<JObject<'l>, Failure> {
    let mut strings = Vec::with_capacity(fields.len());
    for field in fields {
        strings.push(env.new_string(field)?);
    }
    let args: Vec<JValue> = strings.iter().map(|s| JValue::Object(s)).collect();
    let sig = format!("({})V", STRING.repeat(fields.len()));
    Ok(env.new_object(class, sig, &args)?)
}

fn optional_string<'l>(env: &mut JNIEnv<'l>, value: Option<&str>) -> Result<JObject<'l>, Failure> {
    Ok(match value {
        Some(v) => env.new_string(v)?.into(),
        None => JObject::null(),
    })
}

fn string_array<'l>(env: &mut JNIEnv<'l>, items: &[&str]) -> Result<JObject<'l>, Failure> {
    let array =
        env.new_object_array(array_len(items.len())?, "java/lang/String", JObject::null())?;
    for (i, item) in items.iter().enumerate() {
        let s = env.new_string(item)?;
        env.set_object_array_element(&array, i as i32, &s)?;
        env.delete_local_ref(s)?;
    }
    Ok(array.into())
}

fn long_array<'l>(env: &mut JNIEnv<'l>, items: &[u64]) -> Result<JObject<'l>, Failure> {
    let array = env.new_long_array(array_len(items.len())?)?;
    let values: Vec<i64> = items.iter().map(|v| long(*v)).collect();
    env.set_long_array_region(&array, 0, &values)?;
    Ok(array.into())
}

fn byte_arrays<'l>(env: &mut JNIEnv<'l>, items: &[&[u8]]) -> Result<JObject<'l>, Failure> {
    let array = env.new_object_array(array_len(items.len())?, "[B", JObject::null())?;
    for (i, item) in items.iter().enumerate() {
        let bytes = env.byte_array_from_slice(item)?;
        env.set_object_array_element(&array, i as i32, &bytes)?;
        env.delete_local_ref(bytes)?;
    }
    Ok(array.into())
}

fn array_len(len: usize) -> Result<i32, Failure> {
    i32::try_from(len).map_err(|_| Error::InvalidArgument("array too large".into()).into())
}

/// A counter as a Java `long` (saturating; counters never get near 2^63).
fn long(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Milliseconds since the epoch, -1 when absent (or before the epoch).
fn millis(time: Option<SystemTime>) -> i64 {
    time.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(-1, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
