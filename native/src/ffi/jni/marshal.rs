//! Marshalling between Java and the core, shared by every export: argument readers with
//! their limits, result builders, and `guard`, which catches panics and turns every error
//! into a Java exception (`IllegalArgumentException` for bad input,
//! `ConnectFailureException` for everything else), so the JVM never sees an unwinding
//! Rust frame.

use crate::error::Error;
use crate::ffi::panic_message;
use jni::objects::{JByteArray, JObject, JObjectArray, JString, JThrowable, JValue};
use jni::sys::{jlong, jobject, jobjectArray};
use jni::JNIEnv;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{SystemTime, UNIX_EPOCH};

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
pub(crate) fn throw_denied(env: &mut JNIEnv<'_>, code: &str, message: &str) -> Result<(), Failure> {
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
pub(crate) fn check_input(answer: &crate::authz::Authorization) -> Result<(), Failure> {
    match answer.deny_reason() {
        Some(reason) if reason.is_invalid_input() => {
            Err(Error::InvalidArgument(answer.reason().to_string()).into())
        }
        _ => Ok(()),
    }
}
