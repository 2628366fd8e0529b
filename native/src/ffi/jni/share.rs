//! One copy of the native library per JVM, shared by every class loader.
//!
//! The JVM binds a loaded native library to one class loader. Trino gives each plugin its
//! own loader, and the JVM-level part (the `-javaagent` that backs Trino's own HTTPS server
//! and internal clients) lives in the system class loader. If each loaded its own copy of
//! this library, a node would run two sets of watchers and could present two different
//! leaves. Instead, when the system class loader already has this library, a plugin's
//! copy of the bridge classes asks it to bind their `native` methods to *its* functions
//! with JNI `RegisterNatives`: one library, one handle registry, one identity.
//!
//! Exceptions thrown by these functions are still resolved through the class loader of
//! the calling class (JNI `FindClass` from a native method uses the loader of the
//! method's class), so each loader sees its own exception types.

use super::marshal::{guard, Failure};
use super::protocol::{
    AUTHORIZATION_METRICS, CONNECT_ANSWER, CONNECT_DECISION, CONNECT_PEER, IDENTITY_METRICS,
    IDENTITY_SNAPSHOT, IDENTITY_STATUS, SERVICE_IDENTITY,
};
use super::{bridge, tls};
use jni::objects::JClass;
use jni::{JNIEnv, NativeMethod};
use std::ffi::c_void;

fn method(name: &str, sig: impl AsRef<str>, fn_ptr: *mut c_void) -> NativeMethod {
    NativeMethod {
        name: name.into(),
        sig: sig.as_ref().into(),
        fn_ptr,
    }
}

/// Every `native` method of `NativeBridge`, with its JNI signature.
fn bridge_methods() -> Vec<NativeMethod> {
    vec![
        method(
            "version",
            "()Ljava/lang/String;",
            bridge::Java_io_consulconnect_jni_NativeBridge_version as *mut c_void,
        ),
        method(
            "parseServiceSpiffeId",
            format!("(Ljava/lang/String;)L{SERVICE_IDENTITY};"),
            bridge::Java_io_consulconnect_jni_NativeBridge_parseServiceSpiffeId as *mut c_void,
        ),
        method(
            "parseDuration",
            "(Ljava/lang/String;Ljava/lang/String;Z)J",
            bridge::Java_io_consulconnect_jni_NativeBridge_parseDuration as *mut c_void,
        ),
        method(
            "parseFlag",
            "(Ljava/lang/String;Ljava/lang/String;)Z",
            bridge::Java_io_consulconnect_jni_NativeBridge_parseFlag as *mut c_void,
        ),
        method(
            "settingDefault",
            "(Ljava/lang/String;)Ljava/lang/String;",
            bridge::Java_io_consulconnect_jni_NativeBridge_settingDefault as *mut c_void,
        ),
        method(
            "open",
            "([Ljava/lang/String;[Ljava/lang/String;)J",
            bridge::Java_io_consulconnect_jni_NativeBridge_open as *mut c_void,
        ),
        method(
            "close",
            "(J)I",
            bridge::Java_io_consulconnect_jni_NativeBridge_close as *mut c_void,
        ),
        method(
            "generation",
            "(J)J",
            bridge::Java_io_consulconnect_jni_NativeBridge_generation as *mut c_void,
        ),
        method(
            "decisionEpoch",
            "(J)J",
            bridge::Java_io_consulconnect_jni_NativeBridge_decisionEpoch as *mut c_void,
        ),
        method(
            "waitReady",
            "(JJ)J",
            bridge::Java_io_consulconnect_jni_NativeBridge_waitReady as *mut c_void,
        ),
        method(
            "snapshot",
            format!("(J)L{IDENTITY_SNAPSHOT};"),
            bridge::Java_io_consulconnect_jni_NativeBridge_snapshot as *mut c_void,
        ),
        method(
            "status",
            format!("(J)L{IDENTITY_STATUS};"),
            bridge::Java_io_consulconnect_jni_NativeBridge_status as *mut c_void,
        ),
        method(
            "identityMetrics",
            format!("(J)L{IDENTITY_METRICS};"),
            bridge::Java_io_consulconnect_jni_NativeBridge_identityMetrics as *mut c_void,
        ),
        method(
            "authorizationMetrics",
            format!("(J)L{AUTHORIZATION_METRICS};"),
            bridge::Java_io_consulconnect_jni_NativeBridge_authorizationMetrics as *mut c_void,
        ),
        method(
            "authorize",
            "(J[[B)Ljava/lang/String;",
            bridge::Java_io_consulconnect_jni_NativeBridge_authorize as *mut c_void,
        ),
        method(
            "authenticate0",
            format!("(J[B[[BJ)L{CONNECT_ANSWER};"),
            bridge::Java_io_consulconnect_jni_NativeBridge_authenticate0 as *mut c_void,
        ),
        method(
            "bridgeToken",
            "()J",
            bridge::Java_io_consulconnect_jni_NativeBridge_bridgeToken as *mut c_void,
        ),
        method(
            "authorizeDetailed",
            format!("(J[[BLjava/lang/String;)L{CONNECT_DECISION};"),
            bridge::Java_io_consulconnect_jni_NativeBridge_authorizeDetailed as *mut c_void,
        ),
        method(
            "startAuthorization",
            "(J)V",
            bridge::Java_io_consulconnect_jni_NativeBridge_startAuthorization as *mut c_void,
        ),
        method(
            "drainLog",
            "(IJ)[Ljava/lang/String;",
            bridge::Java_io_consulconnect_jni_NativeBridge_drainLog as *mut c_void,
        ),
    ]
}

/// Every `native` method of `TlsBridge`, with its JNI signature.
fn tls_methods() -> Vec<NativeMethod> {
    vec![
        method(
            "verifyPeer",
            format!("(J[[BZLjava/lang/String;)L{CONNECT_PEER};"),
            tls::Java_io_consulconnect_jni_TlsBridge_verifyPeer as *mut c_void,
        ),
        method(
            "normalizeExpected",
            "(Ljava/lang/String;)Ljava/lang/String;",
            tls::Java_io_consulconnect_jni_TlsBridge_normalizeExpected as *mut c_void,
        ),
    ]
}

/// `static void NativeLibrary.registerNatives(Class<?> nativeBridge, Class<?> tlsBridge)`:
/// binds the `native` methods of another class loader's `NativeBridge` and `TlsBridge` to
/// this library. A signature that does not match fails with `NoSuchMethodError`, so a
/// bridge class from another version is refused loudly, never half-bound.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeLibrary_registerNatives<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    native_bridge: JClass<'local>,
    tls_bridge: JClass<'local>,
) {
    guard(&mut env, |env| {
        for (class, methods) in [
            (&native_bridge, bridge_methods()),
            (&tls_bridge, tls_methods()),
        ] {
            if class.is_null() {
                return Err(Failure::Core(crate::error::Error::InvalidArgument(
                    "bridge class is null".into(),
                )));
            }
            env.register_native_methods(class, &methods)?;
        }
        Ok(())
    })
}
