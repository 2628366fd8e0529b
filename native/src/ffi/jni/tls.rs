//! JNI exports for `io.consulconnect.jni.TlsBridge`: peer verification for the JCA
//! trust manager. Marshalling only; the checks are `peer::verify`.
//!
//! A refused peer becomes a `io.consulconnect.jca.PeerRefusedException` (a
//! `java.security.cert.CertificateException`) carrying the reason's code and message, so
//! the JDK's TLS stack aborts the handshake with that reason. Every export runs inside
//! `guard`: bad arguments become `IllegalArgumentException`, panics and other errors
//! `ConnectFailureException`.

use super::marshal::{chain_arg, guard, handle_arg, string_arg, ChainArg, Failure};
use super::protocol;
use crate::error::{CertificateError, Error};
use crate::handles;
use crate::peer::{self, Expected, Refusal, Side};
use jni::objects::{JClass, JObject, JObjectArray, JString, JValue};
use jni::sys::{jboolean, jlong, jobject, jstring, JNI_FALSE};
use jni::JNIEnv;
use std::time::SystemTime;

const PEER_REFUSED: &str = "io/consulconnect/jca/PeerRefusedException";

/// `ConnectPeer TlsBridge.verifyPeer(long handle, byte[][] chainDer, boolean clientSide,
/// String expected)`: verifies the chain a peer presented (DER, leaf first) against the
/// handle's current roots and, when `expected` is not null, checks the peer is that
/// identity (`*`, a service name or a SPIFFE id; required when `clientSide`). Returns the
/// verified peer; throws `PeerRefusedException(code, message)` when the peer is refused,
/// garbage, empty and oversized chains included (their codes are the authenticator's).
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_TlsBridge_verifyPeer<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    chain: JObjectArray<'local>,
    client_side: jboolean,
    expected: JString<'local>,
) -> jobject {
    guard(&mut env, |env| {
        let id = handle_arg(handle)?;
        let chain = chain_arg(env, &chain)?;
        let expected = if expected.is_null() {
            None
        } else {
            Some(Expected::parse(&string_arg(env, &expected, "expected")?)?)
        };
        let side = if client_side == JNI_FALSE {
            Side::Server
        } else {
            Side::Client
        };
        let snapshot = handles::with(id, |h| Ok(h.identity.snapshot()))?;
        let verdict = match chain {
            ChainArg::Certificates(chain) => peer::verify(
                snapshot.as_deref(),
                &chain,
                side,
                expected.as_ref(),
                SystemTime::now(),
            ),
            ChainArg::Refused(reason) => Err(Refusal::Unverified { side, reason }),
        };
        match verdict {
            Ok(p) => Ok(protocol::connect_peer(env, &p)?.into_raw()),
            Err(refusal) => Err(throw_refused(env, &refusal)),
        }
    })
}

/// `String TlsBridge.normalizeExpected(String expected)`: the canonical form of an
/// expected peer identity (`*`, a service name or a SPIFFE id); throws
/// `IllegalArgumentException` for anything else.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_TlsBridge_normalizeExpected<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    expected: JString<'local>,
) -> jstring {
    guard(&mut env, |env| {
        let expected = Expected::parse(&string_arg(env, &expected, "expected")?)?;
        Ok(env.new_string(expected.to_string())?.into_raw())
    })
}

/// Throws `PeerRefusedException(code, message)` and returns the failure that tells
/// [`guard`] an exception is pending.
fn throw_refused(env: &mut JNIEnv<'_>, refusal: &Refusal) -> Failure {
    let thrown = (|| -> jni::errors::Result<()> {
        let code: JObject = env.new_string(refusal.code())?.into();
        let message: JObject = env.new_string(refusal.to_string())?.into();
        let exception = env.new_object(
            PEER_REFUSED,
            "(Ljava/lang/String;Ljava/lang/String;)V",
            &[JValue::Object(&code), JValue::Object(&message)],
        )?;
        env.throw(jni::objects::JThrowable::from(exception))
    })();
    match thrown {
        Ok(()) => Failure::Jni(jni::errors::Error::JavaException),
        // The exception class could not be made (a pending error, say OutOfMemoryError,
        // stays pending): report the refusal through the generic path.
        Err(jni::errors::Error::JavaException) => Failure::Jni(jni::errors::Error::JavaException),
        Err(_) => Failure::Core(Error::Certificate(CertificateError::Rejected(
            refusal.to_string(),
        ))),
    }
}
