//! JNI exports for `io.consulconnect.jni.NativeBridge`: each marshals its arguments
//! (`marshal`), calls the core, and marshals the result, inside `guard`.

use super::marshal::{
    boxed_long, byte_arrays, chain_arg, check_input, guard, handle_arg, millis,
    nullable_string_array, object_array, properties_arg, string_arg, string_array, throw_denied,
};
use crate::error::Error;
use crate::handles;
use crate::spiffe::ServiceId;
use jni::objects::{JClass, JObject, JObjectArray, JString, JValue};
use jni::sys::{jlong, jobjectArray, jstring};
use jni::JNIEnv;
use std::time::Duration;

/// `String NativeBridge.version()`.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_version<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
) -> jstring {
    guard(&mut env, |env| {
        Ok(env.new_string(crate::version())?.into_raw())
    })
}

/// `String[] NativeBridge.parseServiceSpiffeId(String)` →
/// `{trustDomain, partition, namespace, datacenter, service}`.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_parseServiceSpiffeId<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    uri: JString<'local>,
) -> jobjectArray {
    guard(&mut env, |env| {
        let uri = string_arg(env, &uri, "uri")?;
        let id = ServiceId::parse(&uri)?;
        string_array(
            env,
            &[
                &id.trust_domain,
                &id.partition,
                &id.namespace,
                &id.datacenter,
                &id.service,
            ],
        )
    })
}

/// `long NativeBridge.parseDuration(String key, String value, boolean allowZero)`: a
/// duration setting in milliseconds, parsed by [`crate::config::parse_duration`] (the one
/// grammar of every duration setting); `IllegalArgumentException` naming `key` otherwise.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_parseDuration<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    key: JString<'local>,
    value: JString<'local>,
    allow_zero: jni::sys::jboolean,
) -> jlong {
    guard(&mut env, |env| {
        let key = string_arg(env, &key, "key")?;
        let value = string_arg(env, &value, "value")?;
        let d = if allow_zero == jni::sys::JNI_FALSE {
            crate::config::parse_duration(&key, &value)?
        } else {
            crate::config::parse_duration_allowing_zero(&key, &value)?
        };
        // At most config::MAX_DURATION (a year): always fits.
        Ok(d.as_millis() as jlong)
    })
}

/// `boolean NativeBridge.parseFlag(String key, String value)`: a boolean setting, parsed by
/// [`crate::config::parse_flag`]; `IllegalArgumentException` naming `key` otherwise.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_parseFlag<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    key: JString<'local>,
    value: JString<'local>,
) -> jni::sys::jboolean {
    guard(&mut env, |env| {
        let key = string_arg(env, &key, "key")?;
        let value = string_arg(env, &value, "value")?;
        Ok(jni::sys::jboolean::from(crate::config::parse_flag(
            &key, &value,
        )?))
    })
}

/// `void NativeBridge.panicForTest(String)`: panics on purpose, to prove that a panic
/// becomes a Java exception and the JVM lives on. Harmless in production.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_panicForTest<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    message: JString<'local>,
) {
    guard(&mut env, |env| {
        let message = string_arg(env, &message, "message")?;
        panic!("{message}");
    })
}

/// `long NativeBridge.open(String[] keys, String[] values)`: opens (or shares) the
/// identity these properties configure and returns its handle.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_open<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    keys: JObjectArray<'local>,
    values: JObjectArray<'local>,
) -> jlong {
    guard(&mut env, |env| {
        let properties = properties_arg(env, &keys, &values)?;
        let id = handles::open(properties)?;
        Ok(i64::try_from(id).map_err(|_| Error::InvalidArgument("handle overflow".into()))?)
    })
}

/// `void NativeBridge.close(long handle)`: releases one reference to the handle.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_close<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    guard(&mut env, |_| Ok(handles::close(handle_arg(handle)?)?))
}

/// `long NativeBridge.generation(long handle)`: generation of the current snapshot (0
/// before the first); one atomic read.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_generation<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    guard(&mut env, |_| {
        let id = handle_arg(handle)?;
        Ok(handles::with(id, |h| {
            Ok(h.identity.store().generation() as i64)
        })?)
    })
}

/// `long NativeBridge.waitReady(long handle, long timeoutMillis)`: waits for the first
/// snapshot and returns its generation; throws with the last error on timeout.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_waitReady<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    timeout_millis: jlong,
) -> jlong {
    guard(&mut env, |_| {
        let timeout = u64::try_from(timeout_millis)
            .map_err(|_| Error::InvalidArgument(format!("negative timeout {timeout_millis}")))?;
        let h = handles::get(handle_arg(handle)?)?;
        let snapshot = h.identity.wait_ready(Duration::from_millis(timeout))?;
        Ok(snapshot.generation as i64)
    })
}

/// `Object[] NativeBridge.snapshot(long handle)`: the current snapshot, or null before
/// the first one. Layout: `{Long generation, byte[][] chain, byte[] keyPkcs8,
/// byte[][] roots, String activeRootIds (one id per root, "*" prefix on the active one,
/// joined by ','), String trustDomain, String spiffeId, String serial,
/// Long notBeforeMillis, Long notAfterMillis}`. The caller zeroes the key bytes.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_snapshot<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobjectArray {
    guard(&mut env, |env| {
        let h = handles::get(handle_arg(handle)?)?;
        let Some(snap) = h.identity.snapshot() else {
            return Ok(std::ptr::null_mut());
        };
        let chain: Vec<&[u8]> = snap.leaf.chain.iter().map(|c| c.as_ref()).collect();
        let roots: Vec<&[u8]> = snap.roots.roots.iter().map(|r| r.cert.as_ref()).collect();
        let root_ids = snap
            .roots
            .roots
            .iter()
            .map(|r| {
                if r.active {
                    format!("*{}", r.id)
                } else {
                    r.id.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(",");
        let info = &snap.leaf.info;
        let items = vec![
            boxed_long(env, snap.generation as i64)?,
            byte_arrays(env, &chain)?,
            env.byte_array_from_slice(&snap.leaf.key_pkcs8)?.into(),
            byte_arrays(env, &roots)?,
            env.new_string(root_ids)?.into(),
            env.new_string(&snap.roots.trust_domain)?.into(),
            env.new_string(info.id.to_string())?.into(),
            env.new_string(&info.serial)?.into(),
            boxed_long(env, info.not_before.saturating_mul(1000))?,
            boxed_long(env, info.not_after.saturating_mul(1000))?,
        ];
        object_array(env, items)
    })
}

/// `Object[] NativeBridge.status(long handle)`. Layout: `{Long generation,
/// Long lastSuccessMillis, String lastError, Long lastErrorMillis, Long nextExpiryMillis,
/// Long leafRotations, Long rootsRotations, Boolean leafExpired}`; absent times are -1,
/// an absent error is null.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_status<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobjectArray {
    guard(&mut env, |env| {
        let status = handles::with(handle_arg(handle)?, |h| Ok(h.identity.status()))?;
        let (error_time, error) = match status.last_error {
            Some((t, e)) => (Some(t), Some(e)),
            None => (None, None),
        };
        let error: JObject = match error {
            Some(e) => env.new_string(e)?.into(),
            None => JObject::null(),
        };
        let expired = env.new_object(
            "java/lang/Boolean",
            "(Z)V",
            &[JValue::Bool(status.leaf_expired.into())],
        )?;
        let items = vec![
            boxed_long(env, status.generation as i64)?,
            boxed_long(env, millis(status.last_success))?,
            error,
            boxed_long(env, millis(error_time))?,
            boxed_long(env, millis(status.next_expiry))?,
            boxed_long(env, status.leaf_rotations as i64)?,
            boxed_long(env, status.roots_rotations as i64)?,
            expired,
        ];
        object_array(env, items)
    })
}

/// Java exception for a denied client: `(String code, String message)`.
/// `String NativeBridge.authorize(long handle, byte[][] chain)`: the hot path of the
/// authenticator. Verifies the client chain (DER, leaf first) against the Consul roots
/// and authorizes it for the configured target (cached); returns the principal, or
/// throws `ConnectAccessDeniedException` with the reason (`IllegalArgumentException`
/// for null, empty, oversized or garbage input).
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_authorize<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    chain: JObjectArray<'local>,
) -> jstring {
    guard(&mut env, |env| {
        let chain = chain_arg(env, &chain)?;
        let handle = handles::get(handle_arg(handle)?)?;
        let authorizer = handle.authorizer()?;
        let answer = authorizer.authorize(&chain);
        check_input(&answer)?;
        match (answer.is_allowed(), authorizer.principal(&answer)) {
            (true, Some(principal)) => Ok(env.new_string(principal)?.into_raw()),
            _ => {
                let code = answer.deny_reason().map_or("denied", |r| r.code());
                throw_denied(env, code, answer.reason())?;
                Ok(std::ptr::null_mut())
            }
        }
    })
}

/// `String[] NativeBridge.authorizeDetailed(long handle, byte[][] chain, String target)`:
/// the full answer, for callers that want the identity. `target` null means the
/// configured target (cached); an explicit target is always asked fresh. Layout:
/// `{allowed ("true"/"false"), code, reason, consulReason, spiffeId, trustDomain,
/// partition, namespace, datacenter, service, principal, origin}`; absent values are null.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_authorizeDetailed<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    chain: JObjectArray<'local>,
    target: JString<'local>,
) -> jobjectArray {
    guard(&mut env, |env| {
        let chain = chain_arg(env, &chain)?;
        let target = if target.is_null() {
            None
        } else {
            Some(string_arg(env, &target, "target")?)
        };
        let handle = handles::get(handle_arg(handle)?)?;
        let authorizer = handle.authorizer()?;
        let answer = match &target {
            None => authorizer.authorize(&chain),
            Some(t) => authorizer.authorize_for(&chain, t),
        };
        check_input(&answer)?;
        let id = answer.service_id();
        let origin = format!("{:?}", answer.origin()).to_ascii_lowercase();
        let fields: [Option<&str>; 12] = [
            Some(if answer.is_allowed() { "true" } else { "false" }),
            Some(answer.deny_reason().map_or("allowed", |r| r.code())),
            Some(answer.reason()),
            answer.consul_reason(),
            answer.spiffe_id(),
            id.map(|i| i.trust_domain.as_str()),
            id.map(|i| i.partition.as_str()),
            id.map(|i| i.namespace.as_str()),
            id.map(|i| i.datacenter.as_str()),
            id.map(|i| i.service.as_str()),
            authorizer.principal(&answer),
            Some(origin.as_str()),
        ];
        nullable_string_array(env, &fields)
    })
}

/// `void NativeBridge.startAuthorization(long handle)`: starts the authorizer now, so
/// that a missing target fails at start rather than on the first client.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_startAuthorization<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    guard(&mut env, |_| {
        let handle = handles::get(handle_arg(handle)?)?;
        handle.authorizer()?;
        Ok(())
    })
}
