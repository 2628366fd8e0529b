//! Marshalling between Java and the core, shared by every export: argument readers with
//! their limits, result builders, and `guard`, which catches panics and turns every error
//! into a Java exception (`IllegalArgumentException` for bad input,
//! `ConnectFailureException` for everything else), so the JVM never sees an unwinding
//! Rust frame.

use crate::authz::{check_count, check_size, Authorization, DenyReason, MAX_CHAIN_LEN};
use crate::error::Error;
use crate::ffi::panic_message;
use jni::objects::JObject;
use jni::objects::{JByteArray, JObjectArray, JString, JThrowable, JValue};
use jni::sys::{jlong, jobject, jsize};
use jni::JNIEnv;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};

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

impl JniDefault for jni::sys::jint {
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
        // Local references are released as we go: a long property list must not
        // exhaust the frame's local reference capacity.
        let key_ref = JString::from(env.get_object_array_element(keys, i)?);
        let key = string_arg(env, &key_ref, "property key")?;
        env.delete_local_ref(key_ref)?;
        let value_ref = JString::from(env.get_object_array_element(values, i)?);
        let value = string_arg(env, &value_ref, &format!("value of property `{key}`"))?;
        env.delete_local_ref(value_ref)?;
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

/// Reads a non-negative duration in milliseconds (`name` says which, for the message).
pub(crate) fn millis_arg(value: jlong, name: &str) -> Result<std::time::Duration, Failure> {
    u64::try_from(value)
        .map(std::time::Duration::from_millis)
        .map_err(|_| Error::InvalidArgument(format!("negative {name} {value}")).into())
}

const ACCESS_DENIED: &str = "io/consulconnect/ConnectAccessDeniedException";

/// A certificate chain read from Java: the certificates, or the refusal their shape
/// earns before anything is copied.
pub(crate) enum ChainArg {
    /// Between 1 and `MAX_CHAIN_LEN` certificates of 1 to `MAX_CERT_LEN` bytes each.
    Certificates(Vec<Vec<u8>>),
    /// Too many certificates, none, or one empty or oversized: the same refusal (and
    /// code) the core gives such a chain, on every path.
    Refused(DenyReason),
}

/// Reads a `byte[][]` certificate chain into owned bytes (see [`with_chain`], which
/// every export that takes a chain uses).
pub(crate) fn chain_arg<'l>(
    env: &mut JNIEnv<'l>,
    chain: &JObjectArray<'l>,
) -> Result<ChainArg, Failure> {
    with_chain(env, JavaChain::Array(chain), |_, chain| {
        Ok(match chain {
            Ok(certs) => ChainArg::Certificates(certs.iter().map(|c| c.to_vec()).collect()),
            Err(reason) => ChainArg::Refused(reason),
        })
    })
}

/// Chains of up to this many bytes in all (a Connect leaf is about a kilobyte, a leaf with
/// intermediates a few) are read into a buffer on the stack; longer ones into
/// [`CHAIN_BUFFER`].
const STACK_CHAIN_BYTES: usize = 4 * 1024;

thread_local! {
    /// The bytes of the last chain longer than [`STACK_CHAIN_BYTES`] that [`with_chain`]
    /// read on this thread: grown to the longest chain seen, never shrunk nor cleared.
    static CHAIN_BUFFER: RefCell<Vec<i8>> = const { RefCell::new(Vec::new()) };
}

/// A certificate chain as Java passes it.
#[derive(Clone, Copy)]
pub(crate) enum JavaChain<'a, 'l> {
    /// `byte[][]`, leaf first.
    Array(&'a JObjectArray<'l>),
    /// A single certificate (`byte[]`, non-null): the common chain of a Connect client.
    One(&'a JByteArray<'l>),
}

/// One certificate of a chain being read: the argument itself, or a local reference to an
/// element of the array argument.
enum Element<'a, 'l> {
    Argument(&'a JByteArray<'l>),
    Local(JByteArray<'l>),
}

impl<'l> AsRef<JByteArray<'l>> for Element<'_, 'l> {
    fn as_ref(&self) -> &JByteArray<'l> {
        match self {
            Element::Argument(certificate) => certificate,
            Element::Local(certificate) => certificate,
        }
    }
}

/// Reads a certificate chain, the one reader of every export that takes a chain, and
/// lends it to `f` as slices: a few raw JNI calls that cannot throw (no `ExceptionCheck`
/// after each) and one copy per certificate into a buffer on the stack (a per-thread one
/// for chains over [`STACK_CHAIN_BYTES`]), no allocation. Its structural limits are the
/// core's (`check_count`, `check_size`), checked on the array lengths before any byte is
/// copied, and become refusals: a chain is what a peer sent, so even garbage is refused
/// with a code, never reported as a caller bug; `f` gets the chain or that refusal. A
/// null array or element is the caller's bug: `IllegalArgumentException`.
pub(crate) fn with_chain<'l, R>(
    env: &mut JNIEnv<'l>,
    chain: JavaChain<'_, 'l>,
    f: impl FnOnce(&mut JNIEnv<'l>, Result<&[&[u8]], DenyReason>) -> Result<R, Failure>,
) -> Result<R, Failure> {
    // The common case, a single certificate of ordinary size, takes the shortest path.
    if let JavaChain::One(certificate) = chain {
        if certificate.is_null() {
            return Err(Error::InvalidArgument("certificate is null".into()).into());
        }
        let size = array_length(env, certificate)?;
        if size <= STACK_CHAIN_BYTES {
            if let Err(reason) = check_size(0, size) {
                return f(env, Err(reason));
            }
            let mut stack = [MaybeUninit::<i8>::uninit(); STACK_CHAIN_BYTES];
            let bytes = whole_byte_array(env, certificate, &mut stack[..size])?;
            return f(env, Ok(&[bytes]));
        }
    }
    let count = match chain {
        JavaChain::One(_) => 1,
        JavaChain::Array(array) if array.is_null() => {
            return Err(Error::InvalidArgument("certificate chain is null".into()).into())
        }
        JavaChain::Array(array) => array_length(env, array)?,
    };
    if let Err(reason) = check_count(count) {
        return f(env, Err(reason));
    }
    // At most MAX_CHAIN_LEN local references, released when the native method returns.
    let mut elements: [Option<Element<'_, 'l>>; MAX_CHAIN_LEN] = Default::default();
    let mut sizes = [0usize; MAX_CHAIN_LEN];
    for index in 0..count {
        let element = match chain {
            JavaChain::One(certificate) => Element::Argument(certificate),
            // count <= MAX_CHAIN_LEN: the index fits.
            JavaChain::Array(array) => Element::Local(JByteArray::from(element_in_bounds(
                env,
                array,
                index as jsize,
            )?)),
        };
        if element.as_ref().is_null() {
            return Err(Error::InvalidArgument(format!(
                "certificate {index} of the chain is null"
            ))
            .into());
        }
        sizes[index] = array_length(env, element.as_ref())?;
        if let Err(reason) = check_size(index, sizes[index]) {
            return f(env, Err(reason));
        }
        elements[index] = Some(element);
    }
    let (elements, sizes) = (&elements[..count], &sizes[..count]);
    let total: usize = sizes.iter().sum();
    if total <= STACK_CHAIN_BYTES {
        let mut stack = [MaybeUninit::<i8>::uninit(); STACK_CHAIN_BYTES];
        let slices = read_chain(env, elements, sizes, &mut stack[..total])?;
        return f(env, Ok(&slices[..count]));
    }
    CHAIN_BUFFER.with(|cell| {
        // A nested call on this thread (none today) would get a buffer of its own.
        let mut own = Vec::new();
        let mut shared = cell.try_borrow_mut();
        let buffer = match shared.as_deref_mut() {
            Ok(buffer) => buffer,
            Err(_) => &mut own,
        };
        if buffer.len() < total {
            buffer.resize(total, 0);
        }
        // SAFETY: `MaybeUninit<i8>` has the layout of `i8`, and every `i8` is a valid
        // `MaybeUninit<i8>`; the view borrows `buffer` mutably, as the slice did.
        let view = unsafe {
            std::slice::from_raw_parts_mut(buffer.as_mut_ptr().cast::<MaybeUninit<i8>>(), total)
        };
        let slices = read_chain(env, elements, sizes, view)?;
        f(env, Ok(&slices[..count]))
    })
}

/// Copies each certificate of a chain whose lengths are `sizes` (summing to
/// `buffer.len()`) into its part of `buffer`, and returns the parts as byte slices.
fn read_chain<'b>(
    env: &JNIEnv<'_>,
    elements: &[Option<Element<'_, '_>>],
    sizes: &[usize],
    buffer: &'b mut [MaybeUninit<i8>],
) -> Result<[&'b [u8]; MAX_CHAIN_LEN], Failure> {
    let mut slices: [&[u8]; MAX_CHAIN_LEN] = [&[]; MAX_CHAIN_LEN];
    let mut rest = buffer;
    for (index, (element, &size)) in elements.iter().zip(sizes).enumerate() {
        let (part, tail) = rest.split_at_mut(size);
        let Some(element) = element else {
            return Err(Error::InvalidArgument(format!("certificate {index} was not read")).into());
        };
        slices[index] = whole_byte_array(env, element.as_ref(), part)?;
        rest = tail;
    }
    Ok(slices)
}

/// `GetArrayLength` of a non-null array, without the `ExceptionCheck` jni-rs makes after
/// it: for a live array the call cannot throw.
fn array_length(env: &JNIEnv<'_>, array: &JObject<'_>) -> Result<usize, Failure> {
    let raw = env.get_raw();
    // SAFETY: as in `element_in_bounds`.
    let call = unsafe { (**raw).GetArrayLength }
        .ok_or(jni::errors::Error::JNIEnvMethodNotFound("GetArrayLength"))?;
    // SAFETY: `array` is a live, non-null reference to an array (checked by the caller).
    let length = unsafe { call(raw, array.as_raw()) };
    Ok(usize::try_from(length).unwrap_or(0))
}

/// `GetObjectArrayElement` for an index known to be in bounds, without the
/// `ExceptionCheck` jni-rs makes after it: in bounds, the call cannot throw.
fn element_in_bounds<'l>(
    env: &JNIEnv<'l>,
    array: &JObjectArray<'_>,
    index: jsize,
) -> Result<JObject<'l>, Failure> {
    let raw = env.get_raw();
    // SAFETY: `raw` is the JNIEnv of the current thread (this runs inside the native
    // method that received it); the function table of a live JNIEnv is valid.
    let call = unsafe { (**raw).GetObjectArrayElement }.ok_or(
        jni::errors::Error::JNIEnvMethodNotFound("GetObjectArrayElement"),
    )?;
    // SAFETY: `array` is a live, non-null reference to an Object[] (checked by the
    // caller) and `0 <= index < length` (the caller read the length first), so the call
    // returns a new local reference (null for a null element) and throws nothing.
    Ok(unsafe { JObject::from_raw(call(raw, array.as_raw(), index)) })
}

/// Copies a whole `byte[]` (of length `buffer.len()`) into `buffer` with
/// `GetByteArrayRegion`, without jni-rs's `ExceptionCheck` afterwards (the region is the
/// whole array, so the call cannot throw), and returns the copy as bytes.
fn whole_byte_array<'b>(
    env: &JNIEnv<'_>,
    array: &JByteArray<'_>,
    buffer: &'b mut [MaybeUninit<i8>],
) -> Result<&'b [u8], Failure> {
    let len = jsize::try_from(buffer.len())
        .map_err(|_| Error::InvalidArgument("certificate too large".into()))?;
    let raw = env.get_raw();
    // SAFETY: as in `element_in_bounds`.
    let call = unsafe { (**raw).GetByteArrayRegion }.ok_or(
        jni::errors::Error::JNIEnvMethodNotFound("GetByteArrayRegion"),
    )?;
    // SAFETY: `array` is a live, non-null byte[] whose length the caller read as
    // `buffer.len()`; `buffer` is writable for that many bytes.
    unsafe {
        call(
            raw,
            array.as_raw(),
            0,
            len,
            buffer.as_mut_ptr().cast::<i8>(),
        )
    };
    // SAFETY: the call above wrote all `buffer.len()` bytes (an in-bounds region of a live
    // array is always copied), and every byte is a valid u8; the result borrows `buffer`.
    Ok(unsafe { std::slice::from_raw_parts(buffer.as_ptr().cast::<u8>(), buffer.len()) })
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

/// Maps a deny caused by the caller's own argument (an invalid target) to
/// `IllegalArgumentException`; every other deny stays a refusal.
pub(crate) fn check_caller(answer: &Authorization) -> Result<(), Failure> {
    match answer.deny_reason() {
        Some(reason) if reason.is_caller_error() => {
            Err(Error::InvalidArgument(answer.reason().to_string()).into())
        }
        _ => Ok(()),
    }
}
