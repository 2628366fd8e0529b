//! JNI exports for `io.consulconnect.presto.jni.NativeBridge`.
//!
//! Each function marshals its arguments, calls the core, and marshals the result. All of
//! them run inside [`guard`], which catches panics and converts every error into a Java
//! exception: `IllegalArgumentException` for bad input, `ConsulConnectException` for
//! everything else (including panics), so the JVM never sees an unwinding Rust frame.

use crate::error::Error;
use crate::ffi::panic_message;
use crate::spiffe::ServiceId;
use jni::objects::{JClass, JObject, JString};
use jni::sys::{jobject, jobjectArray, jstring};
use jni::JNIEnv;
use std::panic::{catch_unwind, AssertUnwindSafe};

const CONSUL_CONNECT_EXCEPTION: &str = "io/consulconnect/presto/ConsulConnectException";
const ILLEGAL_ARGUMENT: &str = "java/lang/IllegalArgumentException";

/// Why a JNI call failed.
enum Failure {
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
trait JniDefault {
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
fn guard<'local, R: JniDefault>(
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

fn throw(env: &mut JNIEnv<'_>, class: &str, message: &str) {
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
fn string_arg(env: &mut JNIEnv<'_>, value: &JString<'_>, name: &str) -> Result<String, Failure> {
    if value.is_null() {
        return Err(Error::InvalidArgument(format!("{name} is null")).into());
    }
    Ok(env.get_string(value)?.into())
}

fn string_array<'local>(env: &mut JNIEnv<'local>, items: &[&str]) -> Result<jobjectArray, Failure> {
    let len =
        i32::try_from(items.len()).map_err(|_| Error::InvalidArgument("array too large".into()))?;
    let array = env.new_object_array(len, "java/lang/String", JObject::null())?;
    for (i, item) in items.iter().enumerate() {
        let s = env.new_string(item)?;
        env.set_object_array_element(&array, i as i32, &s)?;
        env.delete_local_ref(s)?;
    }
    Ok(array.into_raw())
}

/// `String NativeBridge.version()`.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_presto_jni_NativeBridge_version<'local>(
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
pub extern "system" fn Java_io_consulconnect_presto_jni_NativeBridge_parseServiceSpiffeId<
    'local,
>(
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

/// `void NativeBridge.panicForTest(String)`: panics on purpose, to prove that a panic
/// becomes a Java exception and the JVM lives on. Harmless in production.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_presto_jni_NativeBridge_panicForTest<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    message: JString<'local>,
) {
    guard(&mut env, |env| {
        let message = string_arg(env, &message, "message")?;
        panic!("{message}");
    })
}
