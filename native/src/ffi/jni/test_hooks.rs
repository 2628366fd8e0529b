//! JNI exports for the test class `io.consulconnect.jni.NativeTestHooks`, compiled only
//! with the `test-exports` feature: the shipped library has none of them (the Gradle
//! build loads a separate test build for the tests that use them).

use super::marshal::{guard, string_arg};
use jni::objects::{JClass, JString};
use jni::JNIEnv;

/// `void NativeTestHooks.panicForTest(String)`: panics on purpose, to prove that a panic
/// becomes a Java exception and the JVM lives on.
#[no_mangle]
pub extern "system" fn Java_io_consulconnect_jni_NativeTestHooks_panicForTest<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    message: JString<'local>,
) {
    guard(&mut env, |env| {
        let message = string_arg(env, &message, "message")?;
        panic!("{message}");
    })
}
