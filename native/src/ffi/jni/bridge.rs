//! JNI exports for `io.consulconnect.jni.NativeBridge`: each marshals its arguments
//! (`marshal`), calls the core, and marshals the result, inside `guard`.

use super::marshal::{
    chain_arg, check_caller, guard, handle_arg, millis_arg, properties_arg, string_arg,
    throw_denied, with_chain, ChainArg, Failure, JavaChain,
};
use super::protocol;
use crate::authz::{Authorizer, Decision};
use crate::error::Error;
use crate::handles;
use crate::spiffe::ServiceId;
use jni::objects::{GlobalRef, JByteArray, JClass, JObject, JObjectArray, JString};
use jni::sys::{jint, jlong, jobject, jobjectArray, jstring};
use jni::JNIEnv;

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

/// `ServiceIdentity NativeBridge.parseServiceSpiffeId(String)`.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_parseServiceSpiffeId<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    uri: JString<'local>,
) -> jobject {
    guard(&mut env, |env| {
        let uri = string_arg(env, &uri, "uri")?;
        let id = ServiceId::parse(&uri)?;
        Ok(protocol::service_identity(env, &id)?.into_raw())
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

/// `String NativeBridge.settingDefault(String key)`: the documented default of a
/// `consul.*` setting ([`crate::config::DEFAULTS`]), or null when it has none, so Java
/// code that needs one reads the core's instead of keeping a copy.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_settingDefault<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    key: JString<'local>,
) -> jstring {
    guard(&mut env, |env| {
        let key = string_arg(env, &key, "key")?;
        match crate::config::DEFAULTS.iter().find(|(k, _)| *k == key) {
            Some((_, value)) => Ok(env.new_string(value)?.into_raw()),
            None => Ok(std::ptr::null_mut()),
        }
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

/// `int NativeBridge.close(long handle)`: releases one reference to the handle and
/// returns how many remain (0: the identity is stopped and the handle gone).
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_close<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jint {
    guard(&mut env, |_| {
        let remaining = handles::close(handle_arg(handle)?)?;
        Ok(jint::try_from(remaining).unwrap_or(jint::MAX))
    })
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

/// `long NativeBridge.decisionEpoch(long handle)`: the authorizer's invalidation epoch
/// (it grows with every intentions change), 0 while no authorizer runs; one atomic read.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_decisionEpoch<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    guard(&mut env, |_| {
        let id = handle_arg(handle)?;
        Ok(handles::with(id, |h| Ok(h.decision_epoch() as i64))?)
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
        let timeout = millis_arg(timeout_millis, "timeout")?;
        let h = handles::get(handle_arg(handle)?)?;
        let snapshot = h.identity.wait_ready(timeout)?;
        Ok(snapshot.generation as i64)
    })
}

/// `IdentitySnapshot NativeBridge.snapshot(long handle)`: the current snapshot, or null
/// before the first one. The caller zeroes the key bytes.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_snapshot<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobject {
    guard(&mut env, |env| {
        let h = handles::get(handle_arg(handle)?)?;
        match h.identity.snapshot() {
            Some(snap) => Ok(protocol::identity_snapshot(env, &snap)?.into_raw()),
            None => Ok(std::ptr::null_mut()),
        }
    })
}

/// `IdentityMetrics NativeBridge.identityMetrics(long handle)`: what the identity's JMX
/// bean shows, as of now.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_identityMetrics<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobject {
    guard(&mut env, |env| {
        let metrics = handles::with(handle_arg(handle)?, |h| {
            Ok(h.identity.metrics(std::time::SystemTime::now()))
        })?;
        Ok(protocol::identity_metrics(env, &metrics)?.into_raw())
    })
}

/// `AuthorizationMetrics NativeBridge.authorizationMetrics(long handle)`: what the
/// authorization JMX bean shows; never starts the authorizer (not started: zeros).
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_authorizationMetrics<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobject {
    guard(&mut env, |env| {
        let metrics = handles::with(handle_arg(handle)?, |h| {
            Ok(h.started_authorizer()
                .map(|a| (a.target().to_string(), a.status())))
        })?;
        Ok(protocol::authorization_metrics(env, metrics.as_ref())?.into_raw())
    })
}

/// `IdentityStatus NativeBridge.status(long handle)`.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_status<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobject {
    guard(&mut env, |env| {
        let status = handles::with(handle_arg(handle)?, |h| Ok(h.identity.status()))?;
        Ok(protocol::identity_status(env, &status)?.into_raw())
    })
}

/// `String NativeBridge.authorize(long handle, byte[][] chain)`: the principal-or-exception
/// form (the JCA provider's intention check; the Trino authenticator uses `authenticate0`).
/// Verifies the client chain (DER, leaf first) against the Consul roots
/// and authorizes it for the configured target (cached); returns the principal, or
/// throws `ConnectAccessDeniedException(code, message)` with the reason, garbage and
/// oversized chains included (`IllegalArgumentException` only for a null array or
/// element).
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
        let answer = match chain {
            ChainArg::Certificates(chain) => authorizer.authorize(&chain),
            ChainArg::Refused(reason) => authorizer.refuse(reason),
        };
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

/// `ConnectAnswer NativeBridge.authenticate0(long handle, byte[] certificate,
/// byte[][] chain, long bridge)`: the hot path of the Trino authenticator (through
/// `NativeBridge.authenticate`). Verifies and authorizes the client's chain — `certificate`
/// alone when it is not null, else `chain` — for the configured target (cached), and
/// answers with the Trino user and groups of an allowed client, or the refusal's code and
/// reason: a refusal is an answer here, not an exception (`IllegalArgumentException` only
/// for a null chain or element). `bridge` is the calling class's `bridgeToken()`.
///
/// A cached decision is answered with the Java object built for it the first time (kept
/// with the decision as a global reference): a hit copies the chain into a per-thread
/// buffer, finds the decision and returns a new local reference to that object — no
/// allocation, no Java string, no shared write, three JNI calls for a one-certificate chain.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_authenticate0<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    certificate: JByteArray<'local>,
    chain: JObjectArray<'local>,
    bridge: jlong,
) -> jobject {
    guard(&mut env, |env| {
        let chain = if certificate.is_null() {
            JavaChain::Array(&chain)
        } else {
            JavaChain::One(&certificate)
        };
        handles::with(handle_arg(handle)?, |h| {
            let authorizer = h.authorizer()?;
            Ok(with_chain(env, chain, |env, chain| match chain {
                Err(reason) => answer(env, bridge, authorizer, &authorizer.refuse(reason)),
                Ok(chain) => authorizer
                    .cached(chain, |d| answer(env, bridge, authorizer, d))
                    .unwrap_or_else(|| {
                        answer(env, bridge, authorizer, &authorizer.authorize(chain))
                    }),
            }))
        })?
    })
}

/// `long NativeBridge.bridgeToken()`: a number unique to the calling copy of the bridge
/// class in this process (each class loader that loads it gets its own), which it passes
/// back to `authenticate0` so that answers built for one copy's classes go to that copy only.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_bridgeToken<'local>(
    _env: JNIEnv<'local>,
    _class: JClass<'local>,
) -> jlong {
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The `ConnectAnswer` Java object built for a decision, kept with it (see
/// `Decision::attachment`) together with the bridge it was built for.
struct JavaAnswer {
    /// The `bridgeToken()` of the `NativeBridge` copy whose caller got it first: the
    /// answer's class comes from that copy's class loader, so only that copy may share it.
    bridge: jlong,
    answer: GlobalRef,
}

/// The `ConnectAnswer` for `decision`: the one kept with the decision when it was built
/// for the caller's bridge (a new local reference to it), else a new one.
#[inline]
fn answer(
    env: &mut JNIEnv<'_>,
    bridge: jlong,
    authorizer: &Authorizer,
    decision: &Decision,
) -> Result<jobject, Failure> {
    match decision.attached::<JavaAnswer>() {
        Some(kept) if kept.bridge == bridge => Ok(env.new_local_ref(&kept.answer)?.into_raw()),
        _ => new_answer(env, bridge, authorizer, decision),
    }
}

/// [`answer`] for a decision that has none kept for the caller's bridge: builds one and
/// keeps it with the decision if it has none yet.
#[cold]
fn new_answer(
    env: &mut JNIEnv<'_>,
    bridge: jlong,
    authorizer: &Authorizer,
    decision: &Decision,
) -> Result<jobject, Failure> {
    let kept = decision.attachment(|| -> Result<JavaAnswer, Failure> {
        let answer = protocol::connect_answer(env, authorizer, decision)?;
        Ok(JavaAnswer {
            bridge,
            answer: env.new_global_ref(answer)?,
        })
    })?;
    match kept {
        Some(kept) if kept.bridge == bridge => Ok(env.new_local_ref(&kept.answer)?.into_raw()),
        _ => Ok(protocol::connect_answer(env, authorizer, decision)?.into_raw()),
    }
}

/// `ConnectDecision NativeBridge.authorizeDetailed(long handle, byte[][] chain,
/// String target)`: the full answer, for callers that want the identity; a deny is an
/// answer, not an exception. `target` null means the configured target (cached); an
/// explicit target is always asked fresh (`IllegalArgumentException` when it is not a
/// service name).
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_authorizeDetailed<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    chain: JObjectArray<'local>,
    target: JString<'local>,
) -> jobject {
    guard(&mut env, |env| {
        let chain = chain_arg(env, &chain)?;
        let target = if target.is_null() {
            None
        } else {
            Some(string_arg(env, &target, "target")?)
        };
        let handle = handles::get(handle_arg(handle)?)?;
        let authorizer = handle.authorizer()?;
        let answer = match (chain, &target) {
            (ChainArg::Refused(reason), _) => authorizer.refuse(reason),
            (ChainArg::Certificates(chain), None) => authorizer.authorize(&chain),
            (ChainArg::Certificates(chain), Some(t)) => authorizer.authorize_for(&chain, t),
        };
        check_caller(&answer)?;
        let principal = authorizer.principal(&answer);
        Ok(protocol::connect_decision(env, &answer, principal)?.into_raw())
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

/// `String[] NativeBridge.drainLog(int maxLevel, long waitMillis)`: the log bridge (see
/// `log_queue`). Installs the bridge as this library's logger on the first call, sets the
/// native level (`maxLevel`: 0 off, 1 error, 2 warn, 3 info, 4 debug, 5 trace), waits up
/// to `waitMillis` for a record and returns the queued ones (a bounded batch), each as
/// `<level digit>\t<target>\t<message>`; empty when none came in time.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeBridge_drainLog<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    max_level: jint,
    wait_millis: jlong,
) -> jobjectArray {
    guard(&mut env, |env| {
        let level = crate::log_queue::level_from_java(max_level)
            .ok_or_else(|| Error::InvalidArgument(format!("invalid log level {max_level}")))?;
        let wait = millis_arg(wait_millis, "wait")?;
        let lines = crate::log_queue::drain_for_java(level, wait);
        // At most log_queue::BATCH + 1 lines: always fits.
        let len = i32::try_from(lines.len()).unwrap_or(i32::MAX);
        let array = env.new_object_array(len, "java/lang/String", JObject::null())?;
        for (i, line) in (0..len).zip(&lines) {
            let text = env.new_string(line.encode())?;
            env.set_object_array_element(&array, i, &text)?;
            env.delete_local_ref(text)?;
        }
        Ok(array.into_raw())
    })
}
