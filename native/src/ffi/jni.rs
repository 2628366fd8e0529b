//! JNI exports for `io.consulconnect.jni.NativeBridge`.
//!
//! Each function marshals its arguments, calls the core, and marshals the result. All of
//! them run inside `guard`, which catches panics and converts every error into a Java
//! exception: `IllegalArgumentException` for bad input, `ConnectFailureException` for
//! everything else (including panics), so the JVM never sees an unwinding Rust frame.

use crate::error::Error;
use crate::ffi::panic_message;
use crate::handles;
use crate::spiffe::ServiceId;
use jni::objects::{JByteArray, JClass, JObject, JObjectArray, JString, JThrowable, JValue};
use jni::sys::{jlong, jobject, jobjectArray, jstring};
use jni::JNIEnv;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) const CONSUL_CONNECT_EXCEPTION: &str = "io/consulconnect/ConnectFailureException";
pub(crate) const ILLEGAL_ARGUMENT: &str = "java/lang/IllegalArgumentException";

/// Why a JNI call failed.
pub(crate) enum Failure {
    /// An error from the core.
    Core(Error),
    /// A JNI operation failed (a Java exception may already be pending).
    Jni(jni::errors::Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

impl From<jni::errors::Error> for Failure {
    fn from(e: jni::errors::Error) -> Self {
        Failure::Jni(e)
    }
}

/// The value returned to Java when an exception has been thrown.
pub(crate) trait JniDefault {
    fn jni_default() -> Self;
}

impl JniDefault for jobject {
    fn jni_default() -> Self {
        std::ptr::null_mut()
    }
}

impl JniDefault for () {
    fn jni_default() -> Self {}
}

impl JniDefault for jni::sys::jlong {
    fn jni_default() -> Self {
        0
    }
}

impl JniDefault for jni::sys::jboolean {
    fn jni_default() -> Self {
        jni::sys::JNI_FALSE
    }
}

/// Runs `body`, turning errors and panics into pending Java exceptions.
pub(crate) fn guard<'local, R: JniDefault>(
    env: &mut JNIEnv<'local>,
    body: impl FnOnce(&mut JNIEnv<'local>) -> Result<R, Failure>,
) -> R {
    let outcome = catch_unwind(AssertUnwindSafe(|| body(env)));
    let (class, message) = match outcome {
        Ok(Ok(value)) => return value,
        Ok(Err(Failure::Core(e))) => {
            let class = if e.is_invalid_argument() {
                ILLEGAL_ARGUMENT
            } else {
                CONSUL_CONNECT_EXCEPTION
            };
            (class, e.to_string())
        }
        Ok(Err(Failure::Jni(jni::errors::Error::JavaException))) => return R::jni_default(),
        Ok(Err(Failure::Jni(e))) => (CONSUL_CONNECT_EXCEPTION, format!("JNI error: {e}")),
        Err(payload) => (
            CONSUL_CONNECT_EXCEPTION,
            format!(
                "internal error in native code (panic): {}",
                panic_message(payload.as_ref())
            ),
        ),
    };
    throw(env, class, &message);
    R::jni_default()
}

pub(crate) fn throw(env: &mut JNIEnv<'_>, class: &str, message: &str) {
    if env.exception_check().unwrap_or(false) {
        return;
    }
    if env.throw_new(class, message).is_err() {
        // The class could not be found (wrong loader?): fall back to a JDK class.
        let _ = env.exception_clear();
        let _ = env.throw_new("java/lang/RuntimeException", message);
    }
}

/// Reads a non-null Java string.
pub(crate) fn string_arg(
    env: &mut JNIEnv<'_>,
    value: &JString<'_>,
    name: &str,
) -> Result<String, Failure> {
    if value.is_null() {
        return Err(Error::InvalidArgument(format!("{name} is null")).into());
    }
    Ok(env.get_string(value)?.into())
}

pub(crate) fn string_array(env: &mut JNIEnv<'_>, items: &[&str]) -> Result<jobjectArray, Failure> {
    let items: Vec<Option<&str>> = items.iter().copied().map(Some).collect();
    nullable_string_array(env, &items)
}

/// A `String[]` whose absent items are null.
pub(crate) fn nullable_string_array(
    env: &mut JNIEnv<'_>,
    items: &[Option<&str>],
) -> Result<jobjectArray, Failure> {
    let len =
        i32::try_from(items.len()).map_err(|_| Error::InvalidArgument("array too large".into()))?;
    let array = env.new_object_array(len, "java/lang/String", JObject::null())?;
    for (i, item) in items.iter().enumerate() {
        if let Some(item) = item {
            let s = env.new_string(item)?;
            env.set_object_array_element(&array, i as i32, &s)?;
            env.delete_local_ref(s)?;
        }
    }
    Ok(array.into_raw())
}

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

/// Reads two parallel, non-null `String[]` arrays into a properties map.
pub(crate) fn properties_arg(
    env: &mut JNIEnv<'_>,
    keys: &JObjectArray<'_>,
    values: &JObjectArray<'_>,
) -> Result<BTreeMap<String, String>, Failure> {
    if keys.is_null() || values.is_null() {
        return Err(Error::InvalidArgument("properties are null".into()).into());
    }
    let len = env.get_array_length(keys)?;
    if len != env.get_array_length(values)? {
        return Err(
            Error::InvalidArgument("property keys and values differ in length".into()).into(),
        );
    }
    let mut map = BTreeMap::new();
    for i in 0..len {
        let key = JString::from(env.get_object_array_element(keys, i)?);
        let value = JString::from(env.get_object_array_element(values, i)?);
        let key = string_arg(env, &key, "property key")?;
        let value = string_arg(env, &value, &format!("value of property `{key}`"))?;
        map.insert(key, value);
    }
    Ok(map)
}

pub(crate) fn handle_arg(handle: jlong) -> Result<u64, Failure> {
    u64::try_from(handle)
        .ok()
        .filter(|h| *h > 0)
        .ok_or_else(|| Error::InvalidArgument(format!("invalid identity handle {handle}")).into())
}

pub(crate) fn boxed_long<'local>(
    env: &mut JNIEnv<'local>,
    value: i64,
) -> Result<JObject<'local>, Failure> {
    Ok(env.new_object("java/lang/Long", "(J)V", &[JValue::Long(value)])?)
}

pub(crate) fn byte_arrays<'local>(
    env: &mut JNIEnv<'local>,
    items: &[&[u8]],
) -> Result<JObject<'local>, Failure> {
    let len =
        i32::try_from(items.len()).map_err(|_| Error::InvalidArgument("array too large".into()))?;
    let array = env.new_object_array(len, "[B", JObject::null())?;
    for (i, item) in items.iter().enumerate() {
        let bytes = env.byte_array_from_slice(item)?;
        env.set_object_array_element(&array, i as i32, &bytes)?;
        env.delete_local_ref(bytes)?;
    }
    Ok(array.into())
}

pub(crate) fn millis(time: Option<SystemTime>) -> i64 {
    time.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(-1, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) fn object_array<'local>(
    env: &mut JNIEnv<'local>,
    items: Vec<JObject<'local>>,
) -> Result<jobjectArray, Failure> {
    let len =
        i32::try_from(items.len()).map_err(|_| Error::InvalidArgument("array too large".into()))?;
    let array = env.new_object_array(len, "java/lang/Object", JObject::null())?;
    for (i, item) in items.into_iter().enumerate() {
        env.set_object_array_element(&array, i as i32, &item)?;
        env.delete_local_ref(item)?;
    }
    Ok(array.into_raw())
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
const ACCESS_DENIED: &str = "io/consulconnect/ConnectAccessDeniedException";

/// Reads a `byte[][]` certificate chain, bounded before anything is copied.
pub(crate) fn chain_arg(
    env: &mut JNIEnv<'_>,
    chain: &JObjectArray<'_>,
) -> Result<Vec<Vec<u8>>, Failure> {
    if chain.is_null() {
        return Err(Error::InvalidArgument("certificate chain is null".into()).into());
    }
    let len = env.get_array_length(chain)?;
    if len <= 0 {
        return Err(Error::InvalidArgument("certificate chain is empty".into()).into());
    }
    if len as usize > crate::authz::MAX_CHAIN_LEN {
        return Err(Error::InvalidArgument(format!(
            "certificate chain has {len} certificates; at most {} are accepted",
            crate::authz::MAX_CHAIN_LEN
        ))
        .into());
    }
    let mut certs = Vec::with_capacity(len as usize);
    for i in 0..len {
        let element = JByteArray::from(env.get_object_array_element(chain, i)?);
        if element.is_null() {
            return Err(
                Error::InvalidArgument(format!("certificate {i} of the chain is null")).into(),
            );
        }
        let size = env.get_array_length(&element)?;
        if size <= 0 || size as usize > crate::x509::MAX_CERT_LEN {
            return Err(Error::InvalidArgument(format!(
                "certificate {i} of the chain is {size} bytes; 1 to {} are accepted",
                crate::x509::MAX_CERT_LEN
            ))
            .into());
        }
        certs.push(env.convert_byte_array(&element)?);
        env.delete_local_ref(element)?;
    }
    Ok(certs)
}

/// Throws `ConnectAccessDeniedException(code, message)`.
fn throw_denied(env: &mut JNIEnv<'_>, code: &str, message: &str) -> Result<(), Failure> {
    let code = env.new_string(code)?;
    let message = env.new_string(message)?;
    let exception = env.new_object(
        ACCESS_DENIED,
        "(Ljava/lang/String;Ljava/lang/String;)V",
        &[JValue::Object(&code), JValue::Object(&message)],
    )?;
    env.throw(JThrowable::from(exception))?;
    Err(Failure::Jni(jni::errors::Error::JavaException))
}

/// Maps a deny caused by the arguments themselves to `IllegalArgumentException`.
fn check_input(answer: &crate::authz::Authorization) -> Result<(), Failure> {
    match answer.deny_reason() {
        Some(reason) if reason.is_invalid_input() => {
            Err(Error::InvalidArgument(answer.reason().to_string()).into())
        }
        _ => Ok(()),
    }
}

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
